// Byte-level BPE (tokenizer.ggml.model = 'gpt2'): text is split by a pre-tokenizer regex, each
// piece's UTF-8 bytes are spelled with GPT-2's printable byte↔unicode alphabet, then adjacent
// symbols are merged by rank (tokenizer.ggml.merges, "a b" lines, lowest index first).
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

// Pre-tokenizers. JS has no inline (?i:) groups in every engine we target, so contractions spell
// out their cases. Chosen by tokenizer.ggml.pre; anything unknown gets GPT-2's.
const CONTRACTIONS_CI = "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]";
const PRE: Record<string, string> = {
  gpt2: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  llama3: `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  qwen2: `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
};
const PRE_ALIASES: Record<string, string> = { 'llama-bpe': 'llama3', llama3: 'llama3', 'smaug-bpe': 'llama3', qwen2: 'qwen2', deepseek3: 'qwen2' };

export function preTokenizerFor(pre: string | undefined): RegExp {
  const key = (pre && PRE_ALIASES[pre]) ?? 'gpt2';
  return new RegExp(PRE[key]!, 'gu');
}

const utf8 = new TextEncoder();

export class BpeModel {
  private readonly vocab: Vocab;
  private readonly ranks = new Map<string, number>();
  private readonly re: RegExp;
  private readonly cache = new Map<string, number[]>();
  /** llama-3 style: a pre-token that is already a whole token is not merged (ignore_merges). */
  private readonly wholeFirst: boolean;

  constructor(vocab: Vocab) {
    this.vocab = vocab;
    (vocab.merges ?? []).forEach((m, i) => { if (!this.ranks.has(m)) this.ranks.set(m, i); });
    this.re = preTokenizerFor(vocab.pre);
    this.wholeFirst = PRE_ALIASES[vocab.pre ?? ''] === 'llama3';
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const m of text.matchAll(this.re)) out.push(...this.word(m[0]));
    return out;
  }

  private word(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let spelled = '';
    for (const b of utf8.encode(piece)) spelled += BYTE_MAPS.toChar[b]!;
    const whole = this.vocab.ids.get(spelled);
    const ids = this.wholeFirst && whole !== undefined ? [whole] : this.merge(Array.from(spelled));
    if (this.cache.size < 50_000) this.cache.set(piece, ids);
    return ids;
  }

  /** Repeatedly merge the lowest-ranked adjacent pair (all its occurrences, left to right). */
  private merge(sym: string[]): number[] {
    for (;;) {
      let best = Infinity;
      let bestPair = '';
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = this.ranks.get(`${sym[i]} ${sym[i + 1]}`);
        if (r !== undefined && r < best) { best = r; bestPair = `${sym[i]} ${sym[i + 1]}`; }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && `${sym[i]} ${sym[i + 1]}` === bestPair) { merged.push(sym[i]! + sym[i + 1]!); i++; }
        else merged.push(sym[i]!);
      }
      sym = merged;
    }
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
