// Threads of the WASM backend in Node (worker_threads over one shared memory): the thread count as
// resolved and reported (cpuPath), bad counts refused by name, and a threaded backend computing
// exactly what one thread does (rows are split, never a row's sum, so the logits are bit-identical).
import { describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { createWasmBackend, resolveThreads, wasmCpuPath, MAX_THREADS } from '../../src/engine/wasm/index.ts';
import { hardwareThreads, MAX_DEFAULT_THREADS } from '../../src/engine/wasm/threads.ts';
import { ThreadPool } from '../../src/engine/wasm/pool.ts';
import { syntheticFamilyGguf } from '../../src/engine/synthetic/families.ts';
import { GgmlType, ggmlType } from '../../src/quant/ggml-types.ts';

const PROMPT = [1, 17, 300, 42, 9, 250, 77];

describe('WASM backend threads', () => {
  it('defaults to the cores, capped; an explicit count wins; bad counts are EngineArgumentError', () => {
    expect(resolveThreads()).toBe(Math.min(hardwareThreads(), MAX_DEFAULT_THREADS));
    expect(resolveThreads(3)).toBe(3);
    for (const bad of [0, -1, 1.5, MAX_THREADS + 1, Number.NaN]) {
      let err: unknown;
      try {
        resolveThreads(bad);
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.name, String(bad)).toBe('EngineArgumentError');
    }
    expect(wasmCpuPath(1)).toBe('WASM SIMD128, 1 thread');
    expect(wasmCpuPath(2)).toBe('WASM SIMD128, 2 threads');
  });

  for (const type of [GgmlType.Q4_K, GgmlType.Q2_K, GgmlType.Q8_0, GgmlType.F32]) {
    it(`${ggmlType(type).name}: 1, 2 and 3 threads give identical logits (prefill and decode); cpuPath says the count`, async () => {
      const bytes = syntheticFamilyGguf('llama3', { seed: 4, type });
      const file = parseGguf(bytes);
      const runs: Float32Array[][] = [];
      for (const threads of [1, 2, 3]) {
        const be = await createWasmBackend(file, bytesSource(bytes), { nCtx: 32, threads });
        try {
          expect(be.cpuPath).toBe(wasmCpuPath(threads));
          const a = await be.forward(PROMPT, 0, true);
          const b = await be.forward([5], PROMPT.length);
          runs.push([a, b]);
        } finally {
          be.dispose();
        }
      }
      for (const r of runs.slice(1)) {
        expect(r[0]).toEqual(runs[0]![0]);
        expect(r[1]).toEqual(runs[0]![1]);
      }
    }, 60_000);
  }
});

describe('a WASM worker thread that dies', () => {
  it('turns the next matmul into a WasmThreadError within the stall limit, and the backend refuses further work (no hang)', async () => {
    const bytes = syntheticFamilyGguf('llama3', { seed: 4, type: GgmlType.Q4_K });
    const be = await createWasmBackend(parseGguf(bytes), bytesSource(bytes), { nCtx: 32, threads: 3 });
    const stall = ThreadPool.stallMs;
    ThreadPool.stallMs = 300;
    try {
      await be.forward(PROMPT, 0);
      // Kill one worker the way a crash would: it never counts itself done again.
      const pool = (be as unknown as { rt: { pool: { handles: { terminate(): Promise<number> }[] } } }).rt.pool;
      await pool.handles[0]!.terminate();
      const t0 = performance.now();
      const err = await be.forward([5], PROMPT.length).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.name).toBe('WasmThreadError');
      expect(err?.message).toMatch(/stopped answering/);
      expect(performance.now() - t0).toBeLessThan(30_000);
      const again = await be.forward([5], PROMPT.length).then(() => undefined, (e: unknown) => e as Error);
      expect(again?.name).toBe('WasmThreadError');
    } finally {
      ThreadPool.stallMs = stall;
      be.dispose();
    }
  });
});
