// Byte-level BPE (tokenizer.ggml.model = 'gpt2'): text is split by the pre-tokenizer that
// tokenizer.ggml.pre names (./pretokenizers.ts), each piece's UTF-8 bytes are spelled with GPT-2's
// printable byte↔unicode alphabet, then adjacent symbols are merged lowest rank first
// (tokenizer.ggml.merges, "a b" lines), leftmost first on ties, as llama.cpp's priority queue does.
import { Heap } from './heap.ts';
import { preTokenizerFor, type PreTokenizer } from './pretokenizers.ts';
import type { Vocab } from './vocab.ts';

/**
 * GPT-2's alphabet: bytes that are printable Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
 * themselves; the other 68 bytes map, in order, to U+0100 upwards.
 */
function buildByteMaps(): { toChar: string[]; toByte: Map<string, number> } {
  const toChar: string[] = new Array<string>(256);
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) toChar[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  const toByte = new Map<string, number>();
  toChar.forEach((c, b) => toByte.set(c, b));
  return { toChar, toByte };
}
export const BYTE_MAPS = buildByteMaps();

interface Bigram { left: number; right: number; rank: number; text: string }

const utf8 = new TextEncoder();

export class BpeModel {
  private readonly vocab: Vocab;
  private readonly ranks = new Map<string, number>();
  readonly pre: PreTokenizer;
  private readonly cache = new Map<string, number[]>();

  /** Throws UnknownPreTokenizerError for a tokenizer.ggml.pre llama.cpp does not know. */
  constructor(vocab: Vocab) {
    this.vocab = vocab;
    (vocab.merges ?? []).forEach((m, i) => { if (!this.ranks.has(m)) this.ranks.set(m, i); });
    this.pre = preTokenizerFor(vocab.pre);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of this.pre.split(text)) out.push(...this.word(piece));
    return out;
  }

  private word(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let spelled = '';
    for (const b of utf8.encode(piece)) spelled += BYTE_MAPS.toChar[b]!;
    const whole = this.vocab.ids.get(spelled);
    const ids = this.pre.ignoreMerges && whole !== undefined ? [whole] : this.merge(Array.from(spelled));
    if (this.cache.size < 50_000) this.cache.set(piece, ids);
    return ids;
  }

  /** llama.cpp's merge loop: pop the best bigram, skip it if either side changed, re-queue neighbours. */
  private merge(sym: string[]): number[] {
    const n = sym.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
    const heap = new Heap<Bigram>((x, y) => x.rank < y.rank || (x.rank === y.rank && x.left < y.left));
    const tryPair = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const rank = this.ranks.get(`${sym[l]} ${sym[r]}`);
      if (rank !== undefined) heap.push({ left: l, right: r, rank, text: sym[l]! + sym[r]! });
    };
    for (let i = 0; i + 1 < n; i++) tryPair(i, i + 1);
    while (heap.size > 0) {
      const b = heap.pop();
      if (sym[b.left] === '' || sym[b.right] === '' || sym[b.left]! + sym[b.right]! !== b.text) continue;
      sym[b.left] = b.text;
      sym[b.right] = '';
      const nr = next[b.right]!;
      next[b.left] = nr;
      if (nr >= 0) prev[nr] = b.left;
      tryPair(prev[b.left]!, b.left);
      tryPair(b.left, nr);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]!) {
      const s = sym[i]!;
      const id = this.vocab.ids.get(s);
      if (id !== undefined) { out.push(id); continue; }
      // A symbol missing from the vocabulary: fall back to its single characters (bytes).
      for (const ch of Array.from(s)) {
        const cid = this.vocab.ids.get(ch);
        if (cid !== undefined) out.push(cid);
        else if (this.vocab.unk !== undefined) out.push(this.vocab.unk);
      }
    }
    return out;
  }
}
