// The WASM attention (c/attention.c through WasmRuntime.attention) against the TypeScript one
// (src/engine/cpu/kv-attention.ts, float64 sums over the same f32 values) on every KV mode, GQA,
// a sliding window, a soft-cap, batches that straddle the window and the quantized boundary, on 1
// thread and on 3 (units of token and KV head split between two worker_threads and the caller).
// Fresh random inputs from a printed seed (TABSHARD_SEED=<seed> replays); outputs start NaN.
// Tolerance: the WASM path sums in f32 with SIMD: |got - want| <= 5e-6 · (1 + max|want|).
import { describe, expect, it } from 'vitest';
import { KvLayerRef, type AttnOptions } from '../../src/engine/kv/cache.ts';
import { resolveKvLayout, type KvOptions } from '../../src/engine/kv/layout.ts';
import { kvAttention } from '../../src/engine/cpu/kv-attention.ts';
import { wasmRuntimes } from './runtimes.ts';
import { freshSeed, normals, rng } from '../../src/util/random.ts';

const SHAPE = { nCtx: 48, nHeadKv: 2, headDimK: 16, headDimV: 16 };
const SH = { nHead: 6, nHeadKv: 2, headDimK: 16, headDimV: 16 };
const MODES: KvOptions[] = [{ mode: 'f32' }, { mode: 'f16' }, { mode: 'q8', window: 6 }, { mode: 'q4', group: 8, window: 5 }, { mode: 'q3', window: 4 }, { mode: 'q2', window: 0 }];
const OPTS: AttnOptions[] = [{}, { scale: 0.2, softcap: 3, window: 7 }];
// Prefill, decodes, a batch across the window's edge, a rewrite from 20, then to the end.
const BATCHES: [number, number][] = [[0, 9], [9, 1], [10, 1], [11, 13], [24, 1], [20, 5], [25, 23]];
const THREADS = [1, 3] as const;

const runtimes = wasmRuntimes(THREADS);

describe.each(THREADS)('WASM attention over the compressed KV cache, %i thread(s)', (threads) => {
  const seed = freshSeed();
  console.log(`cpu-wasm attention (${threads} threads) seed=${seed}`);
  MODES.forEach((mode, mi) => {
    it.each(OPTS.map((o, oi) => [JSON.stringify(o), oi] as const))(`${JSON.stringify(mode)} %s: equals kvAttention within f32 rounding`, (_, oi) => {
      const rt = runtimes.get(threads)!;
      const o = OPTS[oi]!;
      const next = rng(seed + 10 * mi + oi);
      const cache = new KvLayerRef(resolveKvLayout(mode, SHAPE));
      let worst = 0;
      for (const [pos0, nTok] of BATCHES) {
        cache.quantized = Math.min(cache.quantized, pos0);
        const q = normals(nTok * SH.nHead * SH.headDimK, next);
        const k = normals(nTok * SHAPE.nHeadKv * SHAPE.headDimK, next, 2);
        const v = normals(nTok * SHAPE.nHeadKv * SHAPE.headDimV, next);
        const n = nTok * SH.nHead * SH.headDimV;
        const want = new Float32Array(n).fill(NaN);
        kvAttention(want, cache, q, k, v, nTok, pos0, SH, new Float64Array((SH.nHead / SH.nHeadKv) * (pos0 + nTok)), o);
        const got = new Float32Array(n).fill(NaN);
        rt.attention(got, cache, q, k, v, nTok, pos0, SH, o);
        let max = 0;
        for (const x of want) max = Math.max(max, Math.abs(x));
        for (let i = 0; i < n; i++) {
          const err = Math.abs(got[i]! - want[i]!);
          worst = Math.max(worst, err / (1 + max));
          if (!(err <= 5e-6 * (1 + max))) expect.fail(`batch at ${pos0}+${nTok}, element ${i}: ${got[i]} vs ${want[i]}`);
        }
        cache.store(pos0, nTok, k, v);
      }
      console.log(`${JSON.stringify(mode)} ${JSON.stringify(o)} ${threads}t: worst relative error ${worst.toExponential(2)}`);
      expect(worst).toBeGreaterThan(0); // f32 sums do differ from float64 ones: the comparison is live
      expect(worst).toBeLessThan(5e-6);
    });
  });
});
