// Malformed, truncated and hostile GGUF input must fail with GgufFormatError, never anything else.
import { describe, expect, it } from 'vitest';
import { parseGguf, readGgufHeader } from '../../src/formats/gguf-reader.ts';
import { writeGguf } from '../../src/formats/gguf-writer.ts';
import { GgufValueType as V } from '../../src/formats/gguf-types.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GgmlType } from '../../src/quant/ggml-types.ts';
import { fixture } from './fixtures.ts';
import { rng } from '../../src/util/random.ts';

/** Raw little-endian byte builder: lets a test write structures the real writer would refuse. */
class Raw {
  private parts: number[] = [];
  u8(v: number): this { this.parts.push(v & 255); return this; }
  u32(v: number): this { for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 255); return this; }
  u64(v: bigint | number): this {
    const b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0n; i < 8n; i++) this.parts.push(Number((b >> (8n * i)) & 255n));
    return this;
  }
  str(s: string): this { const b = new TextEncoder().encode(s); this.u64(b.length); b.forEach((x) => this.parts.push(x)); return this; }
  zeros(n: number): this { for (let i = 0; i < n; i++) this.parts.push(0); return this; }
  padTo(a: number): this { while (this.parts.length % a) this.parts.push(0); return this; }
  bytes(): Uint8Array { return new Uint8Array(this.parts); }
}

const head = (tensors: number | bigint, kvs: number | bigint, version = 3) => new Raw().u32(0x46554747).u32(version).u64(tensors).u64(kvs);
/** One tensor info: name, ne[], ggml type, offset. */
const info = (r: Raw, name: string, ne: Array<number | bigint>, type: number, offset: number | bigint) => {
  r.str(name).u32(ne.length);
  ne.forEach((n) => r.u64(n));
  return r.u32(type).u64(offset);
};
/** A complete file with the given tensor infos and `dataBytes` of data after 32-byte padding. */
const withTensors = (infos: Array<[string, Array<number | bigint>, number, number | bigint]>, dataBytes: number, kv?: (r: Raw) => Raw) => {
  const r = head(infos.length, kv ? 1 : 0);
  if (kv) kv(r);
  infos.forEach(([n, ne, t, o]) => info(r, n, ne, t, o));
  return r.padTo(32).zeros(dataBytes).bytes();
};

const cases: Array<[string, () => Uint8Array]> = [
  ['empty file', () => new Uint8Array(0)],
  ['3 bytes', () => new Uint8Array([0x47, 0x47, 0x55])],
  ['bad magic', () => { const b = head(0, 0).bytes(); b[0] = 0x46; return b; }],
  ['GGML magic (old format)', () => new Raw().u32(0x67676d6c).u32(1).zeros(16).bytes()],
  ['version 1', () => head(0, 0, 1).bytes()],
  ['version 4', () => head(0, 0, 4).bytes()],
  ['version 0', () => head(0, 0, 0).bytes()],
  ['big-endian version 3', () => head(0, 0, 0x03000000).bytes()],
  ['truncated counts', () => head(0, 0).bytes().subarray(0, 20)],
  ['huge tensor count', () => head(1n << 40n, 0).bytes()],
  ['tensor count beyond 2^53', () => head(1n << 60n, 0).bytes()],
  ['tensor count 2^64-1', () => head(-1n, 0).bytes()],
  ['huge metadata count', () => head(0, 1n << 32n).zeros(64).bytes()],
  ['huge key length', () => head(0, 1).u64(1n << 50n).zeros(64).bytes()],
  ['key length just past the end', () => head(0, 1).u64(13).u32(V.U8).u8(1).bytes()],
  ['huge string value length', () => head(0, 1).str('k').u32(V.STRING).u64(1n << 45n).zeros(16).bytes()],
  ['string length 2^64-1', () => head(0, 1).str('k').u32(V.STRING).u64(-1n).zeros(16).bytes()],
  ['unknown value type 13', () => head(0, 1).str('k').u32(13).u32(0).bytes()],
  ['unknown value type 2^31', () => head(0, 1).str('k').u32(0x80000000).u32(0).bytes()],
  ['huge array count', () => head(0, 1).str('k').u32(V.ARRAY).u32(V.U32).u64(1n << 40n).zeros(64).bytes()],
  ['array count slightly too big for u32 items', () => head(0, 1).str('k').u32(V.ARRAY).u32(V.U32).u64(5).zeros(16).bytes()],
  ['huge array of strings', () => head(0, 1).str('k').u32(V.ARRAY).u32(V.STRING).u64(1n << 33n).zeros(64).bytes()],
  ['array of unknown item type', () => head(0, 1).str('k').u32(V.ARRAY).u32(99).u64(1).zeros(16).bytes()],
  ['arrays nested too deep', () => {
    const r = head(0, 1).str('k').u32(V.ARRAY);
    for (let i = 0; i < 40; i++) r.u32(V.ARRAY).u64(1);
    return r.u32(V.U8).u64(0).bytes();
  }],
  ['bool value 2', () => head(0, 1).str('k').u32(V.BOOL).u8(2).bytes()],
  ['truncated f64 value', () => head(0, 1).str('k').u32(V.F64).zeros(4).bytes()],
  ['duplicate key', () => head(0, 2).str('k').u32(V.U8).u8(1).str('k').u32(V.U8).u8(2).bytes()],
  ['alignment not a power of two', () => withTensors([], 0, (r) => r.str('general.alignment').u32(V.U32).u32(48))],
  ['alignment zero', () => withTensors([], 0, (r) => r.str('general.alignment').u32(V.U32).u32(0))],
  ['alignment of type u64', () => withTensors([], 0, (r) => r.str('general.alignment').u32(V.U64).u64(32))],
  ['n_dims 5', () => withTensors([['t', [1, 1, 1, 1, 1], GgmlType.F32, 0]], 32)],
  ['n_dims 2^32-1', () => withTensors([['t', [], GgmlType.F32, 0]], 32).map((b, i, a) => (i >= 33 && i < 37 && a.length ? 0xff : b))],
  ['unknown ggml type 4 (removed Q4_2)', () => withTensors([['t', [32], 4, 0]], 64)],
  ['unknown ggml type 99', () => withTensors([['t', [32], 99, 0]], 64)],
  ['row not a multiple of the block size', () => withTensors([['t', [16], GgmlType.Q8_0, 0]], 64)],
  ['ne beyond 2^53', () => withTensors([['t', [1n << 60n], GgmlType.F32, 0]], 32)],
  ['ne product overflows 2^53', () => withTensors([['t', [1 << 30, 1 << 30, 1 << 30], GgmlType.F32, 0]], 32)],
  ['ne product overflows u64', () => withTensors([['t', [1n << 40n, 1n << 40n], GgmlType.F32, 0]], 32)],
  ['tensor offset beyond 2^53', () => withTensors([['t', [4], GgmlType.F32, 1n << 62n]], 32)],
  ['tensor data past the end of file', () => withTensors([['t', [16], GgmlType.F32, 0]], 32)],
  ['tensor offset out of range', () => withTensors([['t', [4], GgmlType.F32, 1 << 20]], 32)],
  ['misaligned offset', () => withTensors([['t', [4], GgmlType.F32, 4]], 64)],
  ['overlapping tensors', () => withTensors([['a', [16], GgmlType.F32, 0], ['b', [8], GgmlType.F32, 32]], 128)],
  ['overlap hidden behind an empty tensor', () => withTensors([['a', [32], GgmlType.F32, 0], ['z', [0], GgmlType.F32, 32], ['b', [8], GgmlType.F32, 64]], 256)],
  ['duplicate tensor name', () => withTensors([['a', [8], GgmlType.F32, 0], ['a', [8], GgmlType.F32, 32]], 64)],
  ['tensor name of 64 bytes', () => withTensors([['n'.repeat(64), [8], GgmlType.F32, 0]], 32)],
  ['truncated tensor info', () => withTensors([['t', [8], GgmlType.F32, 0]], 0).subarray(0, 50)],
];

function expectFormatError(bytes: Uint8Array, label: string): Error {
  let caught: unknown;
  try {
    parseGguf(bytes);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${label}: should throw`).toBeInstanceOf(Error);
  expect((caught as Error).name, `${label}: ${(caught as Error).stack}`).toBe('GgufFormatError');
  return caught as Error;
}

describe('malformed GGUF corpus', () => {
  it('the builder makes valid files when asked to', () => {
    const ok = withTensors([['a', [8], GgmlType.F32, 0], ['b', [32], GgmlType.Q8_0, 32]], 96);
    expect(parseGguf(ok).tensors.map((t) => t.name)).toEqual(['a', 'b']);
    expect(parseGguf(head(0, 1).str('k').u32(V.BOOL).u8(1).bytes()).metadata.get('k')!.value).toBe(true);
  });

  for (const [name, make] of cases) {
    it(name, async () => {
      const bytes = make();
      const err = expectFormatError(bytes, name);
      expect(err.message.length).toBeGreaterThan(10);
      // The range reader gives the same verdict, whatever its chunk size.
      await expect(readGgufHeader(bytesSource(bytes), { initialBytes: 7 })).rejects.toMatchObject({ name: 'GgufFormatError' });
    });
  }

  it('messages say where: byte offsets of the offending field', () => {
    expect(expectFormatError(head(0, 0, 4).bytes(), 'v4').message).toMatch(/version 4.*offset 4/);
    const misaligned = withTensors([['t', [4], GgmlType.F32, 4]], 64);
    expect((expectFormatError(misaligned, 'mis') as Error & { offset: number }).offset).toBe(24 + 8 + 1 + 4 + 8 + 4);
    const align = withTensors([], 0, (r) => r.str('general.alignment').u32(V.U32).u32(48));
    expect((expectFormatError(align, 'align') as Error & { offset: number }).offset).toBe(24 + 8 + 17 + 4);
  });

  it('a small file of every value type truncated at every byte', () => {
    const full = writeGguf({
      metadata: [
        { key: 's', type: V.STRING, value: 'abc' }, { key: 'u64', type: V.U64, value: 5n },
        { key: 'f', type: V.F32, value: 1.5 }, { key: 'b', type: V.BOOL, value: false },
        { key: 'a', type: V.ARRAY, value: { itemType: V.ARRAY, values: [{ itemType: V.STRING, values: ['x', 'yz'] }] } },
        { key: 'i16', type: V.ARRAY, value: { itemType: V.I16, values: new Int16Array([1, -1]) } },
      ],
      tensors: [
        { name: 'w', shape: [32, 2], type: GgmlType.Q8_0, data: new Uint8Array(68) },
        { name: 'n', shape: [3], type: GgmlType.F32, data: new Uint8Array(12) },
      ],
    });
    expect(parseGguf(full).tensors).toHaveLength(2);
    // The last tensor's data ends 20 bytes before the end (padding), so cut at most up to there.
    for (let cut = 0; cut < full.length - 20; cut++) expectFormatError(full.subarray(0, cut), `cut at ${cut}`);
  });

  it('a fixture truncated at 300 offsets across header and data', () => {
    const full = fixture('stories260K-pad256-q2_k.gguf');
    const g = parseGguf(full);
    for (let i = 0; i < 300; i++) {
      const cut = i < 200 ? Math.floor((i * g.dataOffset) / 200) : g.dataOffset + Math.floor(((i - 200) * (full.length - g.dataOffset)) / 100);
      expectFormatError(full.subarray(0, cut), `cut at ${cut}`);
    }
  });
});

const INTERESTING_U64 = [0n, 1n, 5n, 0x7fn, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n];

describe('header fuzzing', () => {
  const seed = Number(process.env.GGUF_FUZZ_SEED ?? 0x5eed);
  const iterations = Number(process.env.GGUF_FUZZ_ITERATIONS ?? 400);

  it(`${iterations} seeded mutations of fixture headers give a parse or a GgufFormatError (seed ${seed})`, async () => {
    console.log(`gguf fuzz seed ${seed} (set GGUF_FUZZ_SEED to replay), ${iterations} iterations`);
    const rand = rng(seed);
    const files = ['stories260K-f32.gguf', 'stories260K-pad256-q4_k.gguf'].map((f) => fixture(f).slice());
    const outcomes = { parsed: 0, rejected: 0 };
    for (let it = 0; it < iterations; it++) {
      const file = files[it % files.length]!;
      const hdrEnd = parseGguf(file).dataOffset;
      const saved: Array<[number, number]> = [];
      const set = (at: number, v: number) => { saved.push([at, file[at]!]); file[at] = v; };
      const nMut = 1 + Math.floor(rand() * 4);
      for (let m = 0; m < nMut; m++) {
        // Bias towards the preamble and the tensor infos (the tail of the header).
        const zone = rand();
        const at = zone < 0.3 ? Math.floor(rand() * 64) : zone < 0.6 ? hdrEnd - 1 - Math.floor(rand() * 2000) : Math.floor(rand() * hdrEnd);
        const kind = rand();
        if (kind < 0.4) set(at, file[at]! ^ (1 << Math.floor(rand() * 8)));
        else if (kind < 0.7) set(at, Math.floor(rand() * 256));
        else {
          const v = INTERESTING_U64[Math.floor(rand() * INTERESTING_U64.length)]!;
          for (let k = 0; k < 8 && at + k < hdrEnd; k++) set(at + k, Number((v >> BigInt(8 * k)) & 255n));
        }
      }
      const cut = rand() < 0.15 ? Math.floor(rand() * file.length) : file.length;
      const view = file.subarray(0, cut);
      try {
        const g = it % 5 === 0 ? await readGgufHeader(bytesSource(view), { initialBytes: 1 + Math.floor(rand() * 4096) }) : parseGguf(view);
        for (const t of g.tensors) expect(t.absoluteOffset + t.byteSize).toBeLessThanOrEqual(view.length);
        outcomes.parsed++;
      } catch (err) {
        if ((err as Error).name !== 'GgufFormatError') {
          throw new Error(`fuzz seed ${seed} iteration ${it}: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
        }
        outcomes.rejected++;
      } finally {
        for (let k = saved.length - 1; k >= 0; k--) file[saved[k]![0]] = saved[k]![1];
      }
    }
    console.log(`gguf fuzz: ${outcomes.parsed} parsed, ${outcomes.rejected} rejected`);
    expect(outcomes.parsed + outcomes.rejected).toBe(iterations);
    expect(outcomes.rejected).toBeGreaterThan(iterations / 10);
  });
});
