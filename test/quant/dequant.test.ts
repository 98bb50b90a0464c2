import { describe, expect, it } from 'vitest';
import { dequantize } from '../../src/quant/dequantize.ts';
import { allGgmlTypes, GgmlType, ggmlType, ggmlTypeByName } from '../../src/quant/ggml-types.ts';
import { f16ToF32, f32ToF16, bf16ToF32 } from '../../src/quant/f16.ts';
import { parseGguf, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import { fixture, fixtureF32, fixtureJson, PAD_TYPES, rms } from '../formats/fixtures.ts';

interface BlockIndex { types: Array<{ type: string; ggml_type_id: number; rows: number; cols: number; block_size: number; bytes_per_block: number }> }
interface TensorRms { type: string; rms_error: number; max_abs_error: number }
interface RefJson { tensor_rms_error_vs_f32: Record<string, TensorRms> }

function bitsEqual(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) bad++;
  return bad + Math.abs(a.length - b.length);
}

describe('ggml type table', () => {
  it('has the block sizes and bytes per block of the fixtures index', () => {
    for (const t of fixtureJson<BlockIndex>('ref/blocks/index.json').types) {
      const info = ggmlType(t.ggml_type_id);
      expect(info.name.toLowerCase()).toBe(t.type.toLowerCase());
      expect([info.blockSize, info.bytesPerBlock]).toEqual([t.block_size, t.bytes_per_block]);
    }
    expect(ggmlTypeByName('Q4_K')!.bitsPerWeight).toBe(4.5);
    expect(ggmlType(GgmlType.BF16).bytesPerBlock).toBe(2);
    expect(new Set(allGgmlTypes().map((t) => t.id)).size).toBe(allGgmlTypes().length);
  });

  it('names unknown ids in a typed error', () => {
    for (const id of [4, 5, 31, 99, -1]) {
      expect(() => ggmlType(id)).toThrow(expect.objectContaining({ name: 'UnknownGgmlTypeError', message: expect.stringContaining(String(id)) }));
    }
    expect(() => dequantize(GgmlType.Q8_0, new Uint8Array(34), 31)).toThrow(expect.objectContaining({ name: 'QuantError' }));
    expect(() => dequantize(GgmlType.Q8_0, new Uint8Array(33), 32)).toThrow(expect.objectContaining({ name: 'QuantError' }));
    expect(() => dequantize(16, new Uint8Array(66), 256)).toThrow(expect.objectContaining({ name: 'UnknownGgmlTypeError' }));
  });
});

describe('half and bfloat16 conversion', () => {
  it('round-trips every non-NaN half exactly', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const f = f16ToF32(h);
      if (!Number.isNaN(f) && f32ToF16(f) !== h) bad++;
    }
    expect(bad).toBe(0);
    expect([f16ToF32(0x3c00), f16ToF32(0xc000), f16ToF32(0x0001), f16ToF32(0x7bff)]).toEqual([1, -2, 2 ** -24, 65504]);
  });

  it('rounds to nearest, ties to even', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (down)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(f32ToF16(65520)).toBe(0x7c00); // rounds to inf
    expect(f32ToF16(2 ** -25)).toBe(0); // tie to even zero
    expect(f32ToF16(3 * 2 ** -26)).toBe(1);
    expect(bf16ToF32(0x3f80)).toBe(1);
  });
});

describe('dequantization is bit-exact with ggml to_float', () => {
  for (const t of fixtureJson<BlockIndex>('ref/blocks/index.json').types) {
    it(`${t.type} blocks (ref/blocks/${t.type.toLowerCase()}.bin)`, () => {
      const name = t.type.toLowerCase();
      const n = t.rows * t.cols;
      const got = dequantize(t.ggml_type_id, fixture(`ref/blocks/${name}.bin`), n);
      expect(bitsEqual(got, fixtureF32(`ref/blocks/${name}.f32`))).toBe(0);
    });
  }

  it('F16 and BF16 of f32 fixture weights are the rounded values', () => {
    const x = fixtureF32('ref/blocks/input.f32').subarray(0, 1024);
    const h = new Uint8Array(2048);
    const bf = new Uint8Array(2048);
    const xb = new Uint32Array(x.slice().buffer);
    for (let i = 0; i < 1024; i++) {
      const v = f32ToF16(x[i]!);
      h[2 * i] = v & 255; h[2 * i + 1] = v >> 8;
      bf[2 * i] = (xb[i]! >>> 16) & 255; bf[2 * i + 1] = xb[i]! >>> 24;
    }
    const dh = dequantize(GgmlType.F16, h, 1024);
    const db = dequantize(GgmlType.BF16, bf, 1024);
    for (let i = 0; i < 1024; i++) {
      expect(dh[i]).toBe(f16ToF32(f32ToF16(x[i]!)));
      expect(Math.abs(db[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -7);
    }
  });
});

describe('dequantized GGUF tensors against pad256-f32', () => {
  const f32File = fixture('stories260K-pad256-f32.gguf');
  const f32 = parseGguf(f32File);
  const reference = new Map(f32.tensors.map((t) => [t.name, dequantize(t.type, tensorBytesOf(f32File, t), t.nElements)]));

  for (const q of PAD_TYPES) {
    it(`${q}: every tensor's RMS error vs f32 equals ref JSON tensor_rms_error_vs_f32`, () => {
      const bytes = fixture(`stories260K-pad256-${q}.gguf`);
      const file = parseGguf(bytes);
      const ref = fixtureJson<RefJson>(`ref/stories260K-pad256-${q}.json`).tensor_rms_error_vs_f32;
      for (const t of file.tensors) {
        const got = dequantize(t.type, tensorBytesOf(bytes, t), t.nElements);
        const want = reference.get(t.name)!;
        const r = ref[t.name]!;
        expect(t.typeName, t.name).toBe(r.type);
        // The reference RMS was computed in float64 from ggml's floats: agreement to ~1e-9
        // relative means our floats are ggml's (a single wrong element would show).
        expect(rms(got, want), t.name).toBeCloseTo(r.rms_error, 9);
        let maxAbs = 0;
        for (let i = 0; i < got.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
        expect(Math.fround(maxAbs), t.name).toBe(Math.fround(r.max_abs_error));
        if (t.typeName === 'f32') expect(bitsEqual(got, want)).toBe(0);
        if (t.typeName === 'q8_0') expect(maxAbs).toBeLessThan(0.01);
      }
    });
  }
});

describe('types without ggml fixtures decode per their format definition', () => {
  const half = (v: number) => [f32ToF16(v) & 255, f32ToF16(v) >> 8];
  const nib = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4)); // low j, high 15-j

  it('Q4_0 / Q4_1 / Q5_0 / Q5_1', () => {
    const q40 = dequantize(GgmlType.Q4_0, new Uint8Array([...half(0.5), ...nib]), 32);
    const q41 = dequantize(GgmlType.Q4_1, new Uint8Array([...half(0.5), ...half(-1), ...nib]), 32);
    const qh = [0b0101, 0, 0b0001, 0]; // 5th bit for weights 0, 2 and 16
    const q50 = dequantize(GgmlType.Q5_0, new Uint8Array([...half(0.25), ...qh, ...nib]), 32);
    const q51 = dequantize(GgmlType.Q5_1, new Uint8Array([...half(0.25), ...half(2), ...qh, ...nib]), 32);
    for (let j = 0; j < 16; j++) {
      expect([q40[j], q40[j + 16]]).toEqual([(j - 8) * 0.5, (7 - j) * 0.5]);
      expect([q41[j], q41[j + 16]]).toEqual([j * 0.5 - 1, (15 - j) * 0.5 - 1]);
      const h0 = j === 0 || j === 2 ? 16 : 0, h1 = j === 0 ? 16 : 0;
      expect([q50[j], q50[j + 16]]).toEqual([(j + h0 - 16) * 0.25, (15 - j + h1 - 16) * 0.25]);
      expect([q51[j], q51[j + 16]]).toEqual([(j + h0) * 0.25 + 2, (15 - j + h1) * 0.25 + 2]);
    }
  });

  it('Q5_K equals Q4_K plus 16*d*sc where its qh bit is set', () => {
    const q4 = fixture('ref/blocks/q4_k.bin').subarray(0, 144);
    const qh = new Uint8Array(32).map((_, l) => (l % 3 === 0 ? 0b10100101 : 0));
    const q5 = new Uint8Array([...q4.subarray(0, 16), ...qh, ...q4.subarray(16)]);
    const a = dequantize(GgmlType.Q4_K, q4, 256);
    const b = dequantize(GgmlType.Q5_K, q5, 256);
    const d = f16ToF32(q4[0]! | (q4[1]! << 8));
    for (let i = 0; i < 256; i++) {
      const group = i >> 5, l = i & 31;
      const set = (qh[l]! >> group) & 1;
      if (!set) expect(b[i]).toBe(a[i]);
      else expect(b[i]! - a[i]!).toBeGreaterThan(16 * d * 0.99); // scale >= 1 where set
    }
  });
});
