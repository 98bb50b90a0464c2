// Pre-tokenizers as llama.cpp chooses and runs them (tokenizer.ggml.pre), end-of-generation sets,
// and what happens with a pre-tokenizer name llama.cpp does not know.
import { describe, expect, it } from 'vitest';
import { BYTE_MAPS } from '../../src/engine/tokenizer/bpe.ts';
import { preTokenizerFor } from '../../src/engine/tokenizer/pretokenizers.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { GgufValueType, type GgufKV } from '../../src/formats/gguf-types.ts';
import { writeGguf } from '../../src/formats/gguf-writer.ts';

const split = (pre: string, text: string): string[] => preTokenizerFor(pre).split(text);

describe('pre-tokenizers', () => {
  it('llama-bpe: case-insensitive contractions, digits in threes, newline runs', () => {
    expect(split('llama-bpe', "IT'S 1234567")).toEqual(['IT', "'S", ' ', '123', '456', '7']);
    expect(split('llama-bpe', 'a\n\n  b')).toEqual(['a', '\n\n', ' ', ' b']);
  });

  it('qwen2: one digit per piece', () => {
    expect(split('qwen2', 'x 2024')).toEqual(['x', ' ', '2', '0', '2', '4']);
    expect(split('deepseek-r1-qwen', '42')).toEqual(['4', '2']);
  });

  it('smollm: digits are split out first, so a space never joins a number', () => {
    // llama.cpp's two regexes in turn: \p{N}, then GPT-2's (the text between matches is kept).
    expect(split('smollm', 'a 12b')).toEqual(['a', ' ', '1', '2', 'b']);
    expect(split('smollm', "we're 3 cats")).toEqual(['we', "'re", ' ', '3', ' cats']);
  });

  it('gpt-4o: camel-case words carry their contraction, digits in threes, "/" after punctuation', () => {
    expect(split('gpt-4o', "HelloWorld's 12345")).toEqual(['Hello', "World's", ' ', '123', '45']);
    expect(split('gpt-4o', ' JSONParser a/b//\n')).toEqual([' JSONParser', ' a', '/b', '//\n']);
  });

  it('whitespace is Unicode White_Space as in llama.cpp: U+0085 is, U+FEFF is not', () => {
    expect(split('llama-bpe', 'x\uFEFF! y\u0085!')).toEqual(['x', '\uFEFF!', ' y', '\u0085', '!']);
  });

  it('no pre: llama.cpp\'s default; an unknown one: UnknownPreTokenizerError', () => {
    expect(split('default', 'a+b 1234')).toEqual(['a', '+', 'b', ' ', '123', '4']);
    expect(() => preTokenizerFor('no-such-pre')).toThrow(expect.objectContaining({ name: 'UnknownPreTokenizerError', pre: 'no-such-pre' }));
  });
});

function gpt2Gguf(extra: GgufKV[], specials: string[] = []): Uint8Array {
  const tokens = [...BYTE_MAPS.toChar, ...specials];
  const types = Int32Array.from(tokens, (_, i) => (i < 256 ? 1 : 3));
  return writeGguf({
    metadata: [
      { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
      { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'gpt2' },
      { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, values: tokens } },
      { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.I32, values: types } },
      { key: 'tokenizer.ggml.merges', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, values: [] } },
      ...extra,
    ],
    tensors: [],
  });
}
const pre = (value: string): GgufKV => ({ key: 'tokenizer.ggml.pre', type: GgufValueType.STRING, value });
const u32 = (key: string, value: number): GgufKV => ({ key: `tokenizer.ggml.${key}`, type: GgufValueType.U32, value });

describe('tokenizer metadata', () => {
  it('an unknown tokenizer.ggml.pre is a typed error; a missing one falls back with a warning', () => {
    expect(() => tokenizerFromGguf(parseGguf(gpt2Gguf([pre('made-up')])))).toThrow(expect.objectContaining({ name: 'UnknownPreTokenizerError' }));
    const tok = tokenizerFromGguf(parseGguf(gpt2Gguf([])));
    expect(tok.warnings.join()).toMatch(/tokenizer\.ggml\.pre/);
    expect(tokenizerFromGguf(parseGguf(gpt2Gguf([pre('qwen2')]))).warnings).toEqual([]);
  });

  it('EOG: eos, eot/eom ids from the file, and end-of-turn texts whatever their type', () => {
    const specials = ['<|eot_id|>', '<|eom_id|>', '<|im_end|>', '<|fim_pad|>', '<x>', '<y>'];
    const at = (t: string): number => 256 + specials.indexOf(t);
    const tok = tokenizerFromGguf(parseGguf(gpt2Gguf([pre('llama-bpe'), u32('eos_token_id', at('<x>')), u32('eot_token_id', at('<y>'))], specials)));
    expect([...tok.vocab.eog].sort()).toEqual(['<|eot_id|>', '<|eom_id|>', '<|im_end|>', '<|fim_pad|>', '<x>', '<y>'].map(at).sort());
    expect(tok.vocab.eot).toBe(at('<y>'));
    expect(tok.vocab.eom).toBe(at('<|eom_id|>'));
    // No eot key: the first end-of-turn text llama.cpp looks for.
    const t2 = tokenizerFromGguf(parseGguf(gpt2Gguf([pre('llama-bpe')], specials)));
    expect(t2.vocab.eot).toBe(at('<|eot_id|>'));
    // llama-bpe adds BOS by default; with no bos id llama.cpp refuses the file, we refuse to encode with BOS.
    expect(() => t2.encode('a')).toThrow(expect.objectContaining({ name: 'TokenizerError' }));
    expect(t2.encode('a', { addBos: false })).toEqual([BYTE_MAPS.toChar.indexOf('a')]);
  });
});

describe('Phi-3 strip attributes', () => {
  it('special tokens swallow the whitespace after them when general.name says phi3 (as llama.cpp keys it)', async () => {
    const { fixture } = await import('../formats/fixtures.ts');
    const base = parseGguf(fixture('stories260K-f32.gguf'));
    const named = (name: string) => tokenizerFromGguf(parseGguf(writeGguf({
      metadata: [...base.metadata.values()].filter((kv) => kv.key !== 'general.name')
        .concat([{ key: 'general.name', type: GgufValueType.STRING, value: name }]),
      tensors: [],
    })));
    const phi = named('Phi3');
    const other = named('stories');
    const opts = { parseSpecial: true, addBos: false };
    expect(phi.encode('a</s>  \n b', opts)).toEqual(phi.encode('a</s>b', opts));
    expect(other.encode('a</s>  \n b', opts)).not.toEqual(other.encode('a</s>b', opts));
    expect(phi.encode('a  b', opts)).toEqual(other.encode('a  b', opts));
  });
});
