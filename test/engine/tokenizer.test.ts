import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { modelFile, ref } from './helpers.ts';

const tok = tokenizerFromGguf(modelFile('stories260K-f32').file);
const r = ref('stories260K-f32');

describe('SentencePiece tokenizer from GGUF metadata', () => {
  it('encodes the reference prompt like llama2.c', () => {
    expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(tok.encode('Once upon a time')).toEqual(r.prompt_tokens);
    expect(tok.encode('Once upon a time', { addBos: false })).toEqual([403, 407, 261, 378]);
    expect(tok.encode('')).toEqual([1]);
  });

  it('decodes the reference sequence to its text', () => {
    expect(tok.decode(r.sequence)).toBe(r.text);
    expect(tok.decode(r.generated_tokens, { stripPrefixSpace: false })).toBe(r.generated_text_only);
  });

  it('round-trips text through encode/decode, incl. byte fallback for characters outside the vocab', () => {
    for (const s of ['Lily saw a big dog.\nThe end!', 'naïve café — 日本語 🙂', '  two  spaces ']) {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
    }
    // '🙂' is 4 UTF-8 bytes, none in a 512-token vocab: four <0xNN> tokens (ids 3 + byte).
    const ids = tok.encode('🙂', { addBos: false });
    expect(ids.slice(-4)).toEqual([0xf0, 0x9f, 0x99, 0x82].map((b) => b + 3));
  });

  it('streams: partial UTF-8 is held until the character is complete', () => {
    const d = tok.decoder();
    const ids = tok.encode('é🙂', { addBos: false });
    const pieces = ids.map((id) => d.push(id));
    expect(pieces.join('') + d.flush()).toBe(' é🙂');
    expect(pieces.every((p) => !p.includes('\uFFFD'))).toBe(true);
    // The first byte token of a multi-byte character emits nothing.
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0);
  });

  it('knows BOS/EOS and control tokens', () => {
    expect(tok.bos).toBe(1);
    expect(tok.eos).toBe(2);
    expect(tok.isEog(2)).toBe(true);
    expect(tok.decode([1, 2])).toBe('');
    expect(tok.decode([1, 2], { special: true })).toBe('<s></s>');
    // Control tokens in text: literal unless parseSpecial.
    expect(tok.encode('</s>', { addBos: false, parseSpecial: true })).toEqual([2]);
    expect(tok.encode('</s>', { addBos: false })).not.toContain(2);
  });
});
