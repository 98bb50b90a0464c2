// Byte-level BPE (tokenizer.ggml.model = 'gpt2'): text is split by the pre-tokenizer that
// tokenizer.ggml.pre names (./pretokenizers.ts), each piece's UTF-8 bytes are spelled with GPT-2's
// printable byte↔unicode alphabet, then adjacent symbols are merged lowest rank first
// (tokenizer.ggml.merges, "a b" lines), leftmost first on ties, as llama.cpp's priority queue does.
import { mergeSymbols } from './merge.ts';
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

  /** Merge by rank (./merge.ts), then map the symbols to ids. */
  private merge(chars: string[]): number[] {
    const sym = mergeSymbols(chars, (l, r) => this.ranks.get(`${l} ${r}`));
    const out: number[] = [];
    for (const s of sym) {
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
