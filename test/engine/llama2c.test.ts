import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { generate } from '../../src/engine/generate.ts';
import { convertLlama2c, readLlama2cHeader } from '../../src/engine/llama2c.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { fixture, ref } from './helpers.ts';
import { repoRoot } from '../formats/fixtures.ts';

const model = fixture('llama2c/stories260K.bin');
const tokBin = fixture('llama2c/tok512.bin');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('convert-llama2c', () => {
  const out = convertLlama2c(model, tokBin, { name: 'stories260K' });
  const want = fixture('stories260K-f32.gguf');

  it('reads the header', () => {
    expect(readLlama2cHeader(model)).toMatchObject({ dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512, sharedClassifier: true });
  });

  it('writes the same tensors and metadata as the ggml-made fixture (byte for byte)', () => {
    const a = parseGguf(out);
    const b = parseGguf(want);
    expect(a.tensors.map((t) => [t.name, t.shape, t.type])).toEqual(b.tensors.map((t) => [t.name, t.shape, t.type]));
    for (let i = 0; i < a.tensors.length; i++) {
      expect(sha(tensorBytesOf(out, a.tensors[i]!)), a.tensors[i]!.name).toBe(sha(tensorBytesOf(want, b.tensors[i]!)));
    }
    expect([...a.metadata.keys()]).toEqual([...b.metadata.keys()]);
    expect(sha(out)).toBe(sha(want));
  });

  it('the converted model generates the reference text', async () => {
    const file = parseGguf(out);
    const be = await createCpuBackend(file, bytesSource(out));
    const r = ref('stories260K-f32');
    const res = await generate(be, tokenizerFromGguf(file), { prompt: r.prompt, maxTokens: r.generated_tokens.length });
    expect(res.tokens).toEqual(r.generated_tokens);
  });

  it('the committed demo model public/models/stories260K.gguf is this conversion', () => {
    expect(sha(new Uint8Array(readFileSync(`${repoRoot}public/models/stories260K.gguf`)))).toBe(sha(out));
  });

  it('rejects truncated input', () => {
    expect(() => convertLlama2c(model.subarray(0, 1000), tokBin)).toThrow(expect.objectContaining({ name: 'Llama2cFormatError' }));
    expect(() => convertLlama2c(model, tokBin.subarray(0, 100))).toThrow(expect.objectContaining({ name: 'Llama2cFormatError' }));
  });
});
