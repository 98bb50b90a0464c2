// SentencePiece-style BPE over a scored vocabulary (tokenizer.ggml.model = 'llama'): start from
// UTF-8 characters, repeatedly merge the adjacent pair whose concatenation is a token with the
// highest score (leftmost on ties), then map pieces missing from the vocabulary to <0xNN> byte
// tokens. Spaces are U+2581 in the vocabulary. A heap over candidate pairs keeps it O(n log n).
import { Heap } from './heap.ts';
import type { Vocab } from './vocab.ts';

export const SPACE = '\u2581';

interface Cand { left: number; right: number; score: number; text: string }

const utf8 = new TextEncoder();

export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** Token ids for `text` (already space-prefixed if wanted; spaces are replaced here). */
export function spmEncode(vocab: Vocab, text: string): number[] {
  if (text.length === 0) return [];
  const sym = Array.from(text.replaceAll(' ', SPACE));
  const n = sym.length;
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
  const scores = vocab.scores;
  // Highest score first, then leftmost.
  const heap = new Heap<Cand>((x, y) => x.score > y.score || (x.score === y.score && x.left < y.left));
  const tryPair = (l: number, r: number): void => {
    if (l < 0 || r < 0) return;
    const text = sym[l]! + sym[r]!;
    const id = vocab.ids.get(text);
    if (id === undefined) return;
    heap.push({ left: l, right: r, score: scores ? scores[id]! : 0, text });
  };
  for (let i = 0; i + 1 < n; i++) tryPair(i, i + 1);
  while (heap.size > 0) {
    const c = heap.pop();
    // Stale candidates: one side was merged away or grew since this pair was queued.
    if (sym[c.left] === '' || sym[c.right] === '' || next[c.left] !== c.right || sym[c.left]! + sym[c.right]! !== c.text) continue;
    sym[c.left] = c.text;
    sym[c.right] = '';
    const nr = next[c.right]!;
    next[c.left] = nr;
    if (nr >= 0) prev[nr] = c.left;
    tryPair(prev[c.left]!, c.left);
    tryPair(c.left, nr);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) {
    const piece = sym[i]!;
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
