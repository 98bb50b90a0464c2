// Every WASM matmul kernel against the TypeScript reference (tolerance: see check.ts) on fresh
// random blocks (seed printed; TABSHARD_SEED=<seed> replays), odd row counts and several tokens,
// and on the blocks ggml itself wrote: the ref/blocks files and every 2-D tensor of every GGUF fixture.
// Each case runs on 1 thread (kernels.wasm) and on 3 (kernels-mt.wasm over a shared memory, two
// worker_threads and the caller splitting the rows): 1, 2 and 5 rows leave some threads no rows
// at all, 37 and 67 split unevenly.
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, readTensorBytes } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { f32ToF16 } from '../../src/quant/f16.ts';
import { ggmlType, GgmlType } from '../../src/quant/ggml-types.ts';
import { wasmRuntimes } from './runtimes.ts';
import { freshSeed, normals, rng } from '../../src/util/random.ts';
import { hasWasmKernel, WasmRuntime } from '../../src/engine/wasm/runtime.ts';
import { checkMatmul, SCALE_FIELDS } from './check.ts';

const TYPES = [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q2_K, GgmlType.Q6_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.Q4_0, GgmlType.F16, GgmlType.F32];
const fixtures = new URL('../fixtures/', import.meta.url);

/** Random blocks of `type`: every bit pattern of the codes, f16 scales ~ N(0, 0.01) (d) and |.| (dmin). */
function randomBlocks(type: number, rows: number, cols: number, next: () => number): Uint8Array {
  const info = ggmlType(type);
  if (type === GgmlType.F32) return new Uint8Array(normals(rows * cols, next).buffer);
  if (type === GgmlType.F16) return new Uint8Array(Uint16Array.from(normals(rows * cols, next), (v) => f32ToF16(v)).buffer);
  const out = new Uint8Array((rows * cols / info.blockSize) * info.bytesPerBlock);
  for (let i = 0; i < out.length; i++) out[i] = (next() * 256) | 0;
  const dv = new DataView(out.buffer);
  for (let b = 0; b < out.length; b += info.bytesPerBlock) {
    SCALE_FIELDS[type]!.forEach((off, i) => {
      const v = (next() - 0.5) * 0.02;
      dv.setUint16(b + off, f32ToF16(i === 0 ? v : Math.abs(v)), true);
    });
  }
  return out;
}

const THREADS = [1, 3] as const;
const runtimes = wasmRuntimes(THREADS);

describe.each(THREADS)('WASM matmul kernels, %i thread(s)', (threads) => {
  const seed = freshSeed();
  console.log(`cpu-wasm kernel checks (${threads} threads) seed=${seed}`);
  let rt: WasmRuntime;
  beforeAll(() => {
    rt = runtimes.get(threads)!;
  });

  it('runs on the thread count asked for', () => {
    expect(rt.threads).toBe(threads);
  });

  for (const type of TYPES) {
    const name = ggmlType(type).name;
    it(`${name}: random blocks, odd rows, 1..5 tokens (seed ${seed})`, () => {
      const next = rng(seed ^ type);
      const bs = ggmlType(type).blockSize;
      for (const [rows, blocks, nTok] of [[1, 1, 1], [2, 1, 2], [37, 2, 1], [5, 3, 5], [64, 4, 3]] as const) {
        const cols = (bs === 1 ? 40 : bs) * blocks + (bs === 1 ? 3 : 0);
        // Outliers in x, as real activations have: the int8 rounding step follows the block's max.
        const x = normals(nTok * cols, next);
        x[(next() * x.length) | 0] = 25;
        const r = checkMatmul(rt, type, randomBlocks(type, rows, cols, next), rows, cols, x, nTok);
        expect(r.exact, `${name} ${rows}x${cols} nTok ${nTok}: integer path`).toBeLessThanOrEqual(1);
        expect(r.endToEnd, `${name} ${rows}x${cols} nTok ${nTok}: end to end`).toBeLessThanOrEqual(1);
      }
    });
  }

  it('ggml-quantized blocks (ref/blocks): 4 rows x 1024 of each type', () => {
    const index = JSON.parse(readFileSync(new URL('ref/blocks/index.json', fixtures), 'utf8')) as { rows: number; cols: number };
    const next = rng(seed);
    const names: Record<string, number> = { q2_k: GgmlType.Q2_K, q3_k: GgmlType.Q3_K, q4_k: GgmlType.Q4_K, q6_k: GgmlType.Q6_K, q8_0: GgmlType.Q8_0 };
    for (const [file, type] of Object.entries(names)) {
      const bytes = new Uint8Array(readFileSync(new URL(`ref/blocks/${file}.bin`, fixtures)));
      const r = checkMatmul(rt, type, bytes, index.rows, index.cols, normals(2 * index.cols, next), 2);
      expect(r.exact, file).toBeLessThanOrEqual(1);
      expect(r.endToEnd, file).toBeLessThanOrEqual(1);
    }
  });

  const ggufs = readdirSync(fixtures).filter((f) => f.endsWith('.gguf'));
  it.each(ggufs)('every matrix of %s (up to 67 rows: an odd count)', async (f) => {
    const src = bytesSource(new Uint8Array(readFileSync(new URL(f, fixtures))));
    const file = await readGgufHeader(src);
    const next = rng(seed);
    let checked = 0;
    for (const t of file.tensors) {
      if (t.shape.length !== 2 || !hasWasmKernel(t.type)) continue;
      const [cols, allRows] = t.shape as [number, number];
      const rows = Math.min(allRows, 67);
      const info = ggmlType(t.type);
      const bytes = (await readTensorBytes(src, t)).subarray(0, rows * (cols / info.blockSize) * info.bytesPerBlock);
      const r = checkMatmul(rt, t.type, bytes, rows, cols, normals(cols, next), 1);
      expect(r.exact, t.name).toBeLessThanOrEqual(1);
      expect(r.endToEnd, t.name).toBeLessThanOrEqual(1);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
