// The CPU backend's compressed-KV parts against the scheme's reference (src/engine/kv/cache.ts,
// the reference the WGSL kernels are checked against): kvAttention reads the cache as stored and
// must equal attentionRef exactly (same f32 values, float64 sums in the same order); LayerKv grows
// by re-layout and must hold exactly what one full-size KvLayerRef holds after the same batches
// (windows that wrap, a rewrite, lengths not a multiple of the group). Fresh random inputs from a
// printed seed (TABSHARD_SEED=<seed> to replay); outputs start NaN-poisoned.
import { describe, expect, it } from 'vitest';
import { KvLayerRef, attentionRef } from '../../src/engine/kv/cache.ts';
import { kvLayoutAt, resolveKvLayout, type KvOptions, type KvShape } from '../../src/engine/kv/layout.ts';
import { kvAttention } from '../../src/engine/cpu/kv-attention.ts';
import { KV_CHECK_CASES, KV_CHECK_SHAPE } from '../../src/engine/kv/kv-checks.ts';
import { LayerKv } from '../../src/engine/cpu/kv-cache.ts';
import { attention } from '../../src/engine/cpu/math.ts';
import { freshSeed, normals, rng } from '../../src/util/random.ts';

const seed = freshSeed();
console.log(`cpu kv attention seed=${seed}`);

// The GPU cache checks' geometry (kv-checks.ts), with GQA 6/3 heads, plus a small-group q4 case.
const SHAPE: KvShape = KV_CHECK_SHAPE;
const SH = { nHead: 6, nHeadKv: SHAPE.nHeadKv, headDimK: SHAPE.headDimK, headDimV: SHAPE.headDimV };
const CASES: KvOptions[] = [...KV_CHECK_CASES, { mode: 'q4', group: 8, window: 6 }];
// Prefill, decodes, a larger batch, a rewrite from position 20 (forgets what follows), then up to nCtx.
const BATCHES: [number, number][] = [[0, 6], [6, 1], [7, 1], [8, 11], [19, 2], [21, 1], [22, 9], [31, 1], [20, 4], [24, 1], [25, 3], [28, 9]];

const poisoned = (n: number) => new Float32Array(n).fill(NaN);

describe('CPU attention over the compressed KV cache', () => {
  CASES.forEach((opts, ci) => {
    it(`${JSON.stringify(opts)}: equals attentionRef after every batch, on a growing cache`, () => {
      const next = rng(seed + ci);
      const L = resolveKvLayout(opts, SHAPE);
      const full = new KvLayerRef(L);
      const grown = new LayerKv(L, 4); // starts at 4 positions: grows 4 → 8 → 16 → 32 → 37
      const caps: number[] = [];
      for (const [pos0, nTok] of BATCHES) {
        const q = normals(nTok * SH.nHead * SH.headDimK, next);
        const k = normals(nTok * L.k.dim, next, 2);
        const v = normals(nTok * L.v.dim, next);
        const want = attentionRef(full, q, k, v, nTok, pos0, SH);
        grown.truncate(pos0);
        grown.reserve(pos0, nTok);
        caps.push(grown.capacity);
        const scores = new Float64Array((SH.nHead / SH.nHeadKv) * (pos0 + nTok)).fill(NaN);
        const got = poisoned(want.length);
        kvAttention(got, grown.ref, q, k, v, nTok, pos0, SH, scores);
        expect(Array.from(got)).toEqual(Array.from(want));
        const onFull = poisoned(want.length);
        kvAttention(onFull, full, q, k, v, nTok, pos0, SH, scores);
        expect(Array.from(onFull)).toEqual(Array.from(want));
        full.store(pos0, nTok, k, v);
        grown.write(pos0, nTok, k, v);
        expect(grown.ref.quantized).toBe(full.quantized);
        // What the grown cache holds, as attention reads it, equals the full-size reference.
        for (const side of ['k', 'v'] as const) expect(Array.from(grown.ref.dequantize(side, pos0 + nTok))).toEqual(Array.from(full.dequantize(side, pos0 + nTok)));
      }
      // Doubling, capped at nCtx; what is allocated is the full layout's words once at nCtx.
      expect(caps).toEqual([8, 8, 8, 32, 32, 32, 32, 32, 32, 32, 32, 37]);
      expect(grown.bytes()).toBe(4 * (L.k.words + L.v.words));
    });
  });

  it('f32 mode equals the plain f32 attention (the old CPU path) bit for bit', () => {
    const next = rng(seed + 100);
    const L = resolveKvLayout({ mode: 'f32' }, SHAPE);
    const cache = new LayerKv(L);
    const kAll = new Float32Array(SHAPE.nCtx * L.k.dim);
    const vAll = new Float32Array(SHAPE.nCtx * L.v.dim);
    for (const [pos0, nTok] of [[0, 9], [9, 1], [10, 5]] as const) {
      const q = normals(nTok * SH.nHead * SH.headDimK, next);
      const k = normals(nTok * L.k.dim, next, 2);
      const v = normals(nTok * L.v.dim, next);
      kAll.set(k, pos0 * L.k.dim);
      vAll.set(v, pos0 * L.v.dim);
      const want = poisoned(nTok * SH.nHead * SH.headDimV);
      attention(want, q, kAll, vAll, nTok, pos0, SH, new Float64Array(pos0 + nTok));
      cache.reserve(pos0, nTok);
      const got = poisoned(want.length);
      kvAttention(got, cache.ref, q, k, v, nTok, pos0, SH, new Float64Array(2 * (pos0 + nTok)));
      cache.write(pos0, nTok, k, v);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it('kvLayoutAt(L, nCtx) is L; smaller capacities keep groups and window', () => {
    for (const opts of CASES) {
      const L = resolveKvLayout(opts, SHAPE);
      expect(kvLayoutAt(L, SHAPE.nCtx)).toEqual(L);
      const small = kvLayoutAt(L, 16);
      expect(small.k.group).toBe(L.k.group);
      expect(small.v.rowWords).toBe(L.v.rowWords);
      expect(small.window).toBe(L.quantized ? Math.min(L.window, 16) : 16);
      expect(small.k.words).toBeLessThan(L.k.words);
    }
    expect(() => kvLayoutAt(resolveKvLayout({ mode: 'q4' }, SHAPE), 38)).toThrow(expect.objectContaining({ name: 'KvConfigError' }));
  });

  it('refuses a write past the end or beyond the context', () => {
    const c = new LayerKv(resolveKvLayout({ mode: 'q2' }, SHAPE));
    expect(() => c.reserve(1, 1)).toThrow(expect.objectContaining({ name: 'EngineArgumentError' }));
    expect(() => c.reserve(0, 38)).toThrow(expect.objectContaining({ name: 'ContextOverflowError' }));
  });
});
