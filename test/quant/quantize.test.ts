import { describe, expect, it } from 'vitest';
import { quantize, rmsError } from '../../src/quant/quantize.ts';
import { dequantize } from '../../src/quant/dequantize.ts';
import { ggmlTypeByName } from '../../src/quant/ggml-types.ts';
import { parseGguf, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import { fixture, fixtureF32, PAD_TYPES } from '../formats/fixtures.ts';

const id = (name: string): number => ggmlTypeByName(name)!.id;

/** Our RMS must be at most 2% above ggml's; being far better would hint at a broken comparison. */
function expectComparable(ours: number, ggml: number, label: string): void {
  const ratio = ours / ggml;
  console.log(`${label}: ours ${ours.toExponential(4)} ggml ${ggml.toExponential(4)} ratio ${ratio.toFixed(4)}`);
  expect(ratio, label).toBeLessThanOrEqual(1.02);
  expect(ratio, label).toBeGreaterThan(0.75);
}

describe('CPU quantizer on ref/blocks/input.f32', () => {
  const x = fixtureF32('ref/blocks/input.f32');

  it('q8_0 reproduces ggml q8_0.bin byte for byte', () => {
    const q = quantize(id('q8_0'), x);
    expect(Buffer.compare(q, fixture('ref/blocks/q8_0.bin'))).toBe(0);
  });

  for (const t of PAD_TYPES) {
    it(`${t}: RMS error of dequant(quant(x)) is within 2% of ggml's`, () => {
      const q = quantize(id(t), x);
      expect(q.length).toBe(fixture(`ref/blocks/${t}.bin`).length);
      const ours = rmsError(dequantize(id(t), q, x.length), x);
      const ggml = rmsError(fixtureF32(`ref/blocks/${t}.f32`), x);
      expectComparable(ours, ggml, `input.f32 ${t}`);
    });
  }

  it('encodes all-zero, constant and tiny blocks without NaN', () => {
    for (const t of PAD_TYPES) {
      for (const fill of [0, 1e-30, -0.5, 3]) {
        const v = new Float32Array(256).fill(fill);
        const y = dequantize(id(t), quantize(id(t), v), 256);
        expect(y.every((e) => Number.isFinite(e)), `${t} ${fill}`).toBe(true);
        expect(rmsError(y, v), `${t} ${fill}`).toBeLessThanOrEqual(Math.abs(fill) * 0.05 + 1e-30);
      }
    }
  });

  it('rejects lengths that are not whole blocks', () => {
    expect(() => quantize(id('q4_k'), new Float32Array(100))).toThrow(expect.objectContaining({ name: 'QuantError' }));
    expect(() => quantize(id('q5_k'), new Float32Array(256))).toThrow(expect.objectContaining({ name: 'UnknownGgmlTypeError' }));
  });
});

describe('CPU quantizer on the pad256-f32 model matrices', () => {
  const fb = fixture('stories260K-pad256-f32.gguf');
  const f32 = parseGguf(fb);
  for (const t of PAD_TYPES) {
    it(`${t}: total RMS error over the quantized matrices is within 2% of ggml's`, () => {
      const qb = fixture(`stories260K-pad256-${t}.gguf`);
      const qg = parseGguf(qb);
      let ours = 0, ggml = 0, n = 0;
      for (const qt of qg.tensors) {
        if (qt.type !== id(t)) continue;
        const ft = f32.tensors.find((u) => u.name === qt.name)!;
        const w = dequantize(ft.type, tensorBytesOf(fb, ft), ft.nElements);
        const mine = dequantize(qt.type, quantize(qt.type, w), w.length);
        const theirs = dequantize(qt.type, tensorBytesOf(qb, qt), w.length);
        ours += rmsError(mine, w) ** 2 * w.length;
        ggml += rmsError(theirs, w) ** 2 * w.length;
        n += w.length;
      }
      expect(n).toBeGreaterThan(0);
      expectComparable(Math.sqrt(ours / n), Math.sqrt(ggml / n), `pad256 ${t}`);
    });
  }
});
