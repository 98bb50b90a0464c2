import { describe, expect, it } from 'vitest';
import { parseGguf, readGgufHeader } from '../../src/formats/gguf-reader.ts';
import { metaArray, metaBool, metaNumber, metaString } from '../../src/formats/gguf-meta.ts';
import { bytesSource, type RangeSource } from '../../src/formats/range-source.ts';
import { GgufValueType } from '../../src/formats/gguf-types.ts';
import { fixture, GGUF_FIXTURES, PAD_TYPES } from './fixtures.ts';

const BLOCK = ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_down', 'ffn_up'];
const expectedNames = ['token_embd.weight', ...[0, 1, 2, 3, 4].flatMap((i) => BLOCK.map((b) => `blk.${i}.${b}.weight`)), 'output_norm.weight'];

/** Shapes (ne) as FIXTURES.md states them, for dim d and hidden h. */
function expectedShape(name: string, d: number, h: number): number[] {
  const kind = name.split('.').at(-2)!;
  const table: Record<string, number[]> = {
    token_embd: [d, 512], attn_norm: [d], ffn_norm: [d], output_norm: [d], attn_q: [d, 64], attn_k: [d, 32],
    attn_v: [d, 32], attn_output: [64, d], ffn_gate: [d, h], ffn_up: [d, h], ffn_down: [h, d],
  };
  return table[kind]!;
}

describe('parseGguf on the ggml fixtures', () => {
  it('reads the original f32 model header and metadata as FIXTURES.md lists them', () => {
    const g = parseGguf(fixture('stories260K-f32.gguf'));
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    expect(g.metadata.has('general.alignment')).toBe(false);
    expect([...g.metadata.keys()].slice(0, 3)).toEqual(['general.architecture', 'general.name', 'general.file_type']);
    expect(metaString(g, 'general.architecture')).toBe('llama');
    expect(metaNumber(g, 'llama.block_count')).toBe(5);
    expect(metaNumber(g, 'llama.feed_forward_length')).toBe(172);
    expect(metaNumber(g, 'llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
    expect(metaBool(g, 'tokenizer.ggml.add_bos_token')).toBe(true);
    expect(metaBool(g, 'tokenizer.ggml.add_eos_token')).toBe(false);
    const tokens = metaArray(g, 'tokenizer.ggml.tokens')!;
    expect(tokens.itemType).toBe(GgufValueType.STRING);
    expect(tokens.values.length).toBe(512);
    expect(tokens.values.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(tokens.values[258]).toBe('<0xFF>');
    const types = metaArray(g, 'tokenizer.ggml.token_type')!;
    expect(types.values).toBeInstanceOf(Int32Array);
    expect([types.values[0], types.values[1], types.values[3], types.values[300]]).toEqual([2, 3, 6, 1]);
    const scores = metaArray(g, 'tokenizer.ggml.scores')!;
    expect(scores.values).toBeInstanceOf(Float32Array);
    expect(scores.values[260]).toBe(-1);
  });

  for (const name of GGUF_FIXTURES) {
    it(`${name}: 47 tensors with the stated names, shapes and types, contiguous and aligned`, () => {
      const bytes = fixture(`${name}.gguf`);
      const g = parseGguf(bytes);
      const padded = name.includes('pad256');
      const [d, h] = padded ? [256, 256] : [64, 172];
      const quant = PAD_TYPES.find((t) => name.endsWith(t));
      expect(g.tensors.map((t) => t.name)).toEqual(expectedNames);
      let expectedOffset = 0;
      for (const t of g.tensors) {
        expect(t.shape, t.name).toEqual(expectedShape(t.name, d, h));
        const isNorm = t.shape.length === 1;
        const want = isNorm || !quant ? 'f32' : t.name.includes('attn_output') ? 'q8_0' : quant.replace('_k', '_K');
        expect(t.typeName, t.name).toBe(want);
        expect(t.offset % 32).toBe(0);
        expect(t.offset).toBe(expectedOffset);
        expectedOffset = Math.ceil((t.offset + t.byteSize) / 32) * 32;
        expect(t.absoluteOffset).toBe(g.dataOffset + t.offset);
      }
      expect(g.dataOffset + expectedOffset).toBe(bytes.length);
      if (quant) expect(metaNumber(g, 'general.quantization_version')).toBe(2);
      if (padded) expect(metaNumber(g, 'llama.attention.key_length')).toBe(8);
    });
  }
});

/** A RangeSource that records its reads. */
function countingSource(bytes: Uint8Array): RangeSource & { reads: Array<[number, number]> } {
  const inner = bytesSource(bytes);
  const reads: Array<[number, number]> = [];
  return { size: inner.size, reads, read: (o, l) => (reads.push([o, l]), inner.read(o, l)) };
}

describe('readGgufHeader over a RangeSource', () => {
  it('equals the in-memory parse and reads only the header, in growing chunks', async () => {
    const bytes = fixture('stories260K-pad256-q4_k.gguf');
    const src = countingSource(bytes);
    const g = await readGgufHeader(src, { initialBytes: 1024 });
    expect(g).toEqual(parseGguf(bytes));
    // 1 KiB, then doubling up to the ~14 KiB header: a handful of reads, all before the data.
    expect(src.reads.length).toBeGreaterThan(1);
    expect(src.reads.length).toBeLessThanOrEqual(6);
    const end = Math.max(...src.reads.map(([o, l]) => o + l));
    expect(end).toBeGreaterThanOrEqual(g.headerSize);
    expect(end).toBeLessThanOrEqual(2 * g.headerSize);
    for (let i = 1; i < src.reads.length; i++) expect(src.reads[i]![0]).toBe(src.reads[i - 1]![0] + src.reads[i - 1]![1]);
  });

  it('uses one 64 KiB read by default for a small header', async () => {
    const src = countingSource(fixture('stories260K-f32.gguf'));
    await readGgufHeader(src);
    expect(src.reads).toEqual([[0, 65536]]);
  });

  it('honours maxHeaderBytes and abort signals', async () => {
    const bytes = fixture('stories260K-f32.gguf');
    await expect(readGgufHeader(bytesSource(bytes), { initialBytes: 256, maxHeaderBytes: 4096 }))
      .rejects.toMatchObject({ name: 'GgufFormatError' });
    const ac = new AbortController();
    ac.abort();
    await expect(readGgufHeader(bytesSource(bytes), { initialBytes: 256, signal: ac.signal }))
      .rejects.toMatchObject({ name: 'AbortError' });
  });
});
