// SentencePiece-style BPE over a scored vocabulary (tokenizer.ggml.model = 'llama'): start from
// UTF-8 characters, repeatedly merge the adjacent pair whose concatenation is a token with the
// highest score (leftmost on ties), then map pieces missing from the vocabulary to <0xNN> byte
// tokens. Spaces are U+2581 in the vocabulary. A heap over candidate pairs keeps it O(n log n).
import { mergeSymbols } from './merge.ts';
import type { Vocab } from './vocab.ts';

export const SPACE = '\u2581';

const utf8 = new TextEncoder();

export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** Token ids for `text` (already space-prefixed if wanted; spaces are replaced here). */
export function spmEncode(vocab: Vocab, text: string): number[] {
  if (text.length === 0) return [];
  const scores = vocab.scores;
  // A pair merges when its concatenation is a token; highest score first (./merge.ts takes lowest cost).
  const sym = mergeSymbols(Array.from(text.replaceAll(' ', SPACE)), (l, r) => {
    const id = vocab.ids.get(l + r);
    return id === undefined ? undefined : -(scores ? scores[id]! : 0);
  });
  const out: number[] = [];
  for (const piece of sym) {
    const id = vocab.ids.get(piece);
    if (id !== undefined) { out.push(id); continue; }
    // Byte fallback: one <0xNN> token per UTF-8 byte, or <unk> if the vocabulary lacks them.
    for (const b of utf8.encode(piece)) {
      const bid = vocab.ids.get(byteTokenName(b));
      if (bid !== undefined) out.push(bid);
      else if (vocab.unk !== undefined) out.push(vocab.unk);
    }
  }
  return out;
}
