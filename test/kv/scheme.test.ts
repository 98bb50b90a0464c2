// The CPU reference of the KV scheme: layout arithmetic and accounting, quantizer round trip,
// bit packing, the rotation, and the append rule (window, rewrite).
import { describe, expect, it } from 'vitest';
import { bitsPerElement, codeWords, layerKvBytes, resolveKvLayout, type KvMode } from '../../src/engine/kv/layout.ts';
import { codeAt, dequantAt, levels, quantizeGroup, unpackHi, unpackLo } from '../../src/engine/kv/quant.ts';
import { rotateHeads } from '../../src/engine/kv/hadamard.ts';
import { KvLayerRef } from '../../src/engine/kv/cache.ts';
import { freshSeed, normals, rng } from '../../src/util/random.ts';

const seed = freshSeed();
console.log(`kv scheme seed=${seed}`);

// Llama-3-8B-like and TinyLlama-like KV shapes (the bench's "real shapes").
const LLAMA3 = { nHeadKv: 8, headDimK: 128, headDimV: 128 };
const TINY = { nHeadKv: 4, headDimK: 64, headDimV: 64 };

describe('KV layout and accounting', () => {
  it('q2 is at least 85% smaller than f16 at 4k tokens, everything included', () => {
    for (const s of [LLAMA3, TINY]) {
      const f16 = layerKvBytes(resolveKvLayout({ mode: 'f16' }, { nCtx: 4096, ...s }));
      const q2 = layerKvBytes(resolveKvLayout({ mode: 'q2' }, { nCtx: 4096, ...s }));
      expect(1 - q2 / f16).toBeGreaterThanOrEqual(0.855);
    }
  });

  it('bits per element follow the formula (b + 32/G)·(n − R)/n + 16·R/n', () => {
    for (const mode of ['q8', 'q4', 'q3', 'q2'] as KvMode[]) {
      for (const nCtx of [512, 2048, 4096]) {
        const L = resolveKvLayout({ mode }, { nCtx, ...LLAMA3 });
        const b = L.bits;
        const G = L.k.group;
        const want = ((b + 32 / G) * (nCtx - L.window) + 16 * L.window) / nCtx;
        expect(bitsPerElement(L)).toBeCloseTo(want, 9);
      }
    }
    expect(bitsPerElement(resolveKvLayout({ mode: 'f16' }, { nCtx: 512, ...TINY }))).toBe(16);
  });

  it('groups adapt to the row width and, by default, span at most two heads (the fixture: 4 heads of 8)', () => {
    const L = resolveKvLayout({ mode: 'q4' }, { nCtx: 512, nHeadKv: 4, headDimK: 8, headDimV: 8 });
    expect(L.k.group).toBe(16);
    // q2 keeps its wide groups (memory first): clamped to the 32-wide row only.
    expect(resolveKvLayout({ mode: 'q2' }, { nCtx: 512, nHeadKv: 4, headDimK: 8, headDimV: 8 }).k.group).toBe(32);
    // An explicit group is only clamped to the row.
    expect(resolveKvLayout({ mode: 'q4', group: 64 }, { nCtx: 512, nHeadKv: 4, headDimK: 8, headDimV: 8 }).k.group).toBe(32);
    expect(resolveKvLayout({ mode: 'q3', group: 24 }, { nCtx: 64, nHeadKv: 3, headDimK: 16, headDimV: 10 }).v.group).toBe(15);
    expect(codeWords(3, 24)).toBe(3);
  });

  it('rejects bad options with KvConfigError', () => {
    const s = { nCtx: 64, ...TINY };
    expect(() => resolveKvLayout({ mode: 'q5' as KvMode }, s)).toThrow(expect.objectContaining({ name: 'KvConfigError' }));
    expect(() => resolveKvLayout({ mode: 'q4', group: 0 }, s)).toThrow(expect.objectContaining({ name: 'KvConfigError' }));
    expect(() => resolveKvLayout({ mode: 'q4', window: -1 }, s)).toThrow(expect.objectContaining({ name: 'KvConfigError' }));
  });
});

describe('KV quantizer (CPU reference)', () => {
  it('round trip error is at most half a step (plus f16 rounding of d and m) for every width', () => {
    const next = rng(seed);
    for (const bits of [2, 3, 4, 8]) {
      for (const g of [7, 16, 24, 32, 128]) {
        const x = normals(g, next, 3);
        const words = new Uint32Array(1 + codeWords(bits, g));
        quantizeGroup(x, 0, g, bits, words, 0);
        const d = unpackLo(words[0]!);
        const m = unpackHi(words[0]!);
        for (let i = 0; i < g; i++) {
          expect(codeAt(words, 0, g, bits, i)).toBeLessThanOrEqual(levels(bits));
          const err = Math.abs(dequantAt(words, 0, g, bits, i) - x[i]!);
          expect(err).toBeLessThanOrEqual(0.5 * d + 2 ** -10 * (Math.abs(m) + levels(bits) * d) + 1e-6);
        }
      }
    }
  });

  it('a constant group dequantizes to itself (d = 0)', () => {
    const words = new Uint32Array(1 + codeWords(2, 32));
    quantizeGroup(new Float32Array(32).fill(1.5), 0, 32, 2, words, 0);
    for (let i = 0; i < 32; i++) expect(dequantAt(words, 0, 32, 2, i)).toBe(1.5);
  });

  it('the rotation is orthonormal and its own inverse', () => {
    const x = normals(3 * 2 * 16, rng(seed + 1));
    const y = x.slice();
    rotateHeads(y, 3, 2, 16);
    let nx = 0;
    let ny = 0;
    for (let i = 0; i < 16; i++) {
      nx += x[i]! ** 2;
      ny += y[i]! ** 2;
    }
    expect(ny).toBeCloseTo(nx, 4);
    rotateHeads(y, 3, 2, 16);
    for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i]!, 5);
  });
});

describe('KV append rule (CPU reference)', () => {
  it('keeps the last `window` positions in f16 and quantizes the rest; a rewrite forgets later positions', () => {
    const L = resolveKvLayout({ mode: 'q4', group: 8, window: 4 }, { nCtx: 32, nHeadKv: 1, headDimK: 8, headDimV: 8 });
    const c = new KvLayerRef(L);
    const next = rng(seed + 2);
    const rows: Float32Array[] = [];
    const put = (pos: number, n: number) => {
      const k = normals(n * 8, next);
      c.store(pos, n, k, k);
      for (let i = 0; i < n; i++) rows[pos + i] = k.slice(i * 8, i * 8 + 8);
    };
    put(0, 10);
    expect(c.quantized).toBe(6);
    put(10, 1);
    expect(c.quantized).toBe(7);
    const got = c.dequantize('k', 11);
    for (let p = 7; p < 11; p++) for (let i = 0; i < 8; i++) expect(Math.abs(got[p * 8 + i]! - rows[p]![i]!)).toBeLessThanOrEqual(Math.abs(rows[p]![i]!) * 2 ** -11);
    put(3, 2); // rewrite: positions ≥ 3 forgotten, 3..4 new and in the window
    expect(c.quantized).toBe(3);
    const again = c.dequantize('k', 5);
    for (let i = 0; i < 8; i++) expect(Math.abs(again[4 * 8 + i]! - rows[4]![i]!)).toBeLessThanOrEqual(Math.abs(rows[4]![i]!) * 2 ** -11);
  });
});
