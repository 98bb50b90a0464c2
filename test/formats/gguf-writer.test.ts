import { describe, expect, it } from 'vitest';
import { parseGguf, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import { encodeGgufHeader, writeGguf, type GgufWriteTensor } from '../../src/formats/gguf-writer.ts';
import { GgufValueType as T, type GgufKV } from '../../src/formats/gguf-types.ts';
import { GgmlType } from '../../src/quant/ggml-types.ts';
import { fixture, GGUF_FIXTURES } from './fixtures.ts';

const kv = (key: string, type: GgufKV['type'], value: GgufKV['value']): GgufKV => ({ key, type, value });

/** One metadata entry of every value type, with extreme values where the type has them. */
const everyType: GgufKV[] = [
  kv('u8', T.U8, 255), kv('i8', T.I8, -128), kv('u16', T.U16, 65535), kv('i16', T.I16, -32768),
  kv('u32', T.U32, 0xffffffff), kv('i32', T.I32, -0x80000000), kv('f32', T.F32, Math.fround(-3.14159)),
  kv('bool', T.BOOL, true), kv('string', T.STRING, 'héllo ▁wörld ✓'), kv('empty', T.STRING, ''),
  kv('u64', T.U64, 0xffffffffffffffffn), kv('i64', T.I64, -(2n ** 63n)), kv('f64', T.F64, Math.PI),
  kv('a.u8', T.ARRAY, { itemType: T.U8, values: new Uint8Array([0, 1, 255]) }),
  kv('a.i8', T.ARRAY, { itemType: T.I8, values: new Int8Array([-1, 127]) }),
  kv('a.u16', T.ARRAY, { itemType: T.U16, values: new Uint16Array([1, 65535]) }),
  kv('a.i16', T.ARRAY, { itemType: T.I16, values: new Int16Array([-5, 5]) }),
  kv('a.u32', T.ARRAY, { itemType: T.U32, values: new Uint32Array([7]) }),
  kv('a.i32', T.ARRAY, { itemType: T.I32, values: new Int32Array([-7, 0]) }),
  kv('a.f32', T.ARRAY, { itemType: T.F32, values: new Float32Array([0.5, -0, Infinity]) }),
  kv('a.f64', T.ARRAY, { itemType: T.F64, values: new Float64Array([1e300]) }),
  kv('a.u64', T.ARRAY, { itemType: T.U64, values: new BigUint64Array([1n, 2n ** 64n - 1n]) }),
  kv('a.i64', T.ARRAY, { itemType: T.I64, values: new BigInt64Array([-1n]) }),
  kv('a.bool', T.ARRAY, { itemType: T.BOOL, values: [true, false, true] }),
  kv('a.string', T.ARRAY, { itemType: T.STRING, values: ['a', '', 'ccc'] }),
  kv('a.empty', T.ARRAY, { itemType: T.F32, values: new Float32Array(0) }),
  kv('a.nested', T.ARRAY, {
    itemType: T.ARRAY,
    values: [
      { itemType: T.I32, values: new Int32Array([1, 2]) },
      { itemType: T.ARRAY, values: [{ itemType: T.STRING, values: ['deep'] }] },
    ],
  }),
];

function tensor(name: string, shape: number[], type: number, byteLength: number, seed: number): GgufWriteTensor {
  const data = new Uint8Array(byteLength);
  for (let i = 0; i < byteLength; i++) data[i] = (i * 31 + seed * 17) & 255;
  return { name, shape, type, data };
}

describe('GGUF writer', () => {
  it('round-trips metadata of every type and tensors with alignment padding', () => {
    for (const alignment of [undefined, 64]) {
      const metadata = alignment ? [kv('general.alignment', T.U32, alignment), ...everyType] : everyType;
      const tensors = [
        tensor('a', [32, 3], GgmlType.Q8_0, 3 * 34, 1),
        tensor('b', [5], GgmlType.F32, 20, 2),
        tensor('c', [256, 1, 1, 2], GgmlType.Q4_K, 2 * 144, 3),
        tensor('d', [3, 2], GgmlType.F16, 12, 4),
      ];
      const bytes = writeGguf({ metadata, tensors });
      const g = parseGguf(bytes);
      const a = alignment ?? 32;
      expect(g.alignment).toBe(a);
      expect([...g.metadata.values()]).toEqual(metadata);
      expect(g.dataOffset % a).toBe(0);
      for (const [i, t] of g.tensors.entries()) {
        expect(t.name).toBe(tensors[i]!.name);
        expect(t.shape).toEqual(tensors[i]!.shape);
        expect(t.type).toBe(tensors[i]!.type);
        expect(t.offset % a).toBe(0);
        expect(tensorBytesOf(bytes, t)).toEqual(tensors[i]!.data);
      }
      expect(bytes.length % a).toBe(0);
      // Re-writing the parsed file reproduces it.
      const again = writeGguf({
        metadata: g.metadata.values(),
        tensors: g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: tensorBytesOf(bytes, t) })),
      });
      expect(again).toEqual(bytes);
    }
  });

  for (const name of GGUF_FIXTURES) {
    it(`reproduces ${name}.gguf byte for byte`, () => {
      const bytes = fixture(`${name}.gguf`);
      const g = parseGguf(bytes);
      const out = writeGguf({
        metadata: g.metadata.values(),
        tensors: g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: tensorBytesOf(bytes, t) })),
      });
      expect(out.length).toBe(bytes.length);
      expect(Buffer.compare(out, bytes)).toBe(0);
    });
  }

  it('encodeGgufHeader gives the header alone and the data layout', () => {
    const tensors = [tensor('x', [32], GgmlType.Q8_0, 34, 0), tensor('y', [4], GgmlType.F32, 16, 0)];
    const layout = encodeGgufHeader({ metadata: everyType, tensors });
    expect(layout.header.length).toBe(layout.dataOffset);
    expect(layout.offsets).toEqual([0, 64]);
    expect(layout.totalSize).toBe(layout.dataOffset + 96);
  });

  it('refuses inconsistent input with GgufWriteError', () => {
    const bad: Array<() => unknown> = [
      () => writeGguf({ metadata: [kv('x', T.U8, 256)], tensors: [] }),
      () => writeGguf({ metadata: [kv('x', T.I32, 1.5)], tensors: [] }),
      () => writeGguf({ metadata: [kv('x', T.STRING, 3)], tensors: [] }),
      () => writeGguf({ metadata: [kv('x', T.U64, -1n)], tensors: [] }),
      () => writeGguf({ metadata: [kv('x', T.U8, 1), kv('x', T.U8, 2)], tensors: [] }),
      () => writeGguf({ metadata: [kv('general.alignment', T.U32, 48)], tensors: [] }),
      () => writeGguf({ metadata: [], tensors: [tensor('t', [32], GgmlType.Q8_0, 33, 0)] }),
      () => writeGguf({ metadata: [], tensors: [tensor('t', [16], GgmlType.Q8_0, 17, 0)] }),
      () => writeGguf({ metadata: [], tensors: [tensor('t'.repeat(64), [1], GgmlType.F32, 4, 0)] }),
      () => writeGguf({ metadata: [], tensors: [tensor('t', [1, 1, 1, 1, 1], GgmlType.F32, 4, 0)] }),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ name: 'GgufWriteError' }));
  });
});
