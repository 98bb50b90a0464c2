// The tokenizer a GGUF file describes: SentencePiece BPE ('llama') or byte-level BPE ('gpt2'),
// special-token splitting, BOS/EOS, and decoding to UTF-8 (whole or streamed).
import type { GgufFile } from '../../formats/gguf-types.ts';
import { TokenizerError } from '../errors.ts';
import { BpeModel, BYTE_MAPS } from './bpe.ts';
import { SPACE, spmEncode } from './spm.ts';
import { readVocab, TokenType, type Vocab } from './vocab.ts';

export interface EncodeOptions {
  /** Prepend BOS; default: the model's add_bos_token. */
  addBos?: boolean;
  /** Also match control tokens (`<|im_start|>`, `</s>`) written in the text; default false. User-defined tokens always match. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control tokens as their text (default false: they decode to nothing). */
  special?: boolean;
  /** Drop the SentencePiece dummy-prefix space of the first piece (default true for decode, false for streams). */
  stripPrefixSpace?: boolean;
}

/** An incremental decoder: never emits a partial UTF-8 character; flush() returns what is held. */
export interface StreamDecoder {
  push(token: number): string;
  flush(): string;
}

const utf8 = new TextEncoder();

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Tokenizer {
  readonly vocab: Vocab;
  private readonly bpe: BpeModel | undefined;
  private readonly bytesCache: (Uint8Array | undefined)[];
  private readonly splitAll: RegExp | undefined;
  private readonly splitUser: RegExp | undefined;
  /** Things the caller should tell the user: a fallback was taken (e.g. no tokenizer.ggml.pre). */
  readonly warnings: string[] = [];

  constructor(vocab: Vocab) {
    if (vocab.model !== 'llama' && vocab.model !== 'gpt2') throw new TokenizerError(`tokenizer model '${vocab.model}' is not supported (llama, gpt2)`);
    this.vocab = vocab;
    this.bpe = vocab.model === 'gpt2' ? new BpeModel(vocab) : undefined;
    this.bytesCache = new Array<Uint8Array | undefined>(vocab.tokens.length);
    if (vocab.model === 'gpt2' && vocab.pre === undefined) {
      this.warnings.push("no tokenizer.ggml.pre: using llama.cpp's 'default' pre-tokenizer (llama.cpp warns that quality will suffer)");
    }
    // llama.cpp splits out CONTROL and UNKNOWN tokens only with parse_special, USER_DEFINED always.
    const control: string[] = [];
    const user: string[] = [];
    vocab.tokens.forEach((t, i) => {
      if (t.length === 0) return;
      const type = vocab.types[i];
      if (type === TokenType.CONTROL || type === TokenType.UNKNOWN) control.push(t);
      else if (type === TokenType.USER_DEFINED) user.push(t);
    });
    // Longest first, so `<|im_start|>` wins over a shorter prefix token.
    const re = (list: string[]): RegExp | undefined =>
      list.length ? new RegExp(`(${[...list].sort((a, b) => b.length - a.length).map(escapeRe).join('|')})`, 'u') : undefined;
    this.splitAll = re([...control, ...user]);
    this.splitUser = re(user);
  }

  get model(): string { return this.vocab.model; }
  get vocabSize(): number { return this.vocab.tokens.length; }
  get bos(): number | undefined { return this.vocab.bos; }
  get eos(): number | undefined { return this.vocab.eos; }
  get chatTemplate(): string | undefined { return this.vocab.chatTemplate; }

  /** End of generation: EOS, EOT, <|im_end|>, <|eot_id|>, ... */
  isEog(id: number): boolean { return this.vocab.eog.has(id); }

  isControl(id: number): boolean {
    const t = this.vocab.types[id];
    return t === TokenType.CONTROL || t === TokenType.UNKNOWN || t === TokenType.UNUSED;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.addBos ?? this.vocab.addBos) {
      if (this.vocab.bos === undefined) throw new TokenizerError('model has no BOS token');
      out.push(this.vocab.bos);
    }
    const splitter = opts.parseSpecial ? this.splitAll : this.splitUser;
    // String.split with one capture group alternates text, special, text, ...
    const parts = splitter ? text.split(splitter) : [text];
    const ids = parts.map((p, i) => (i % 2 === 1 ? this.vocab.ids.get(p)! : -1));
    // SentencePiece adds its dummy-prefix space to text that starts the input or follows a special token.
    let afterSpecial = true;
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        out.push(ids[i]!);
        afterSpecial = true;
        return;
      }
      // Phi-3's special tokens swallow the whitespace next to them (llama.cpp's RSTRIP/LSTRIP attributes).
      if (i > 0 && this.vocab.rstrip.has(ids[i - 1]!)) part = part.replace(/^[ \t\n\v\f\r]+/, '');
      if (i + 1 < parts.length && this.vocab.lstrip.has(ids[i + 1]!)) part = part.replace(/[ \t\n\v\f\r]+$/, '');
      if (part.length === 0) return;
      out.push(...this.encodeText(part, afterSpecial));
      afterSpecial = false;
    });
    if (this.vocab.addEos && this.vocab.eos !== undefined) out.push(this.vocab.eos);
    return out;
  }

  private encodeText(text: string, first: boolean): number[] {
    if (this.bpe) return this.bpe.encode(text);
    return spmEncode(this.vocab, this.vocab.addSpacePrefix && first ? ` ${text}` : text);
  }

  /** The bytes a token stands for (control tokens: none, unless `special`). */
  tokenBytes(id: number, special = false): Uint8Array {
    const v = this.vocab;
    if (!(id >= 0 && id < v.tokens.length)) throw new TokenizerError(`token id ${id} outside 0..${v.tokens.length - 1}`);
    const type = v.types[id];
    if (type === TokenType.CONTROL || type === TokenType.UNKNOWN || type === TokenType.UNUSED) {
      return special ? utf8.encode(v.tokens[id]!) : new Uint8Array(0);
    }
    let b = this.bytesCache[id];
    if (!b) {
      b = this.spell(id, type ?? TokenType.NORMAL);
      this.bytesCache[id] = b;
    }
    return b;
  }

  private spell(id: number, type: number): Uint8Array {
    const text = this.vocab.tokens[id]!;
    if (type === TokenType.BYTE) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (m) return Uint8Array.of(parseInt(m[1]!, 16));
    }
    if (type === TokenType.USER_DEFINED) return utf8.encode(text);
    if (this.bpe) {
      const chars = Array.from(text);
      const out = new Uint8Array(chars.length * 4);
      let n = 0;
      for (const ch of chars) {
        const b = BYTE_MAPS.toByte.get(ch);
        if (b !== undefined) out[n++] = b;
        else { const e = utf8.encode(ch); out.set(e, n); n += e.length; }
      }
      return out.slice(0, n);
    }
    return utf8.encode(text.replaceAll(SPACE, ' '));
  }

  /** A streaming decoder (for generated tokens: no prefix-space stripping unless asked). */
  decoder(opts: DecodeOptions = {}): StreamDecoder {
    // ignoreBOM: a generated U+FEFF is text, not a byte-order mark to drop.
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    let strip = (opts.stripPrefixSpace ?? false) && this.vocab.model === 'llama' && this.vocab.addSpacePrefix;
    return {
      push: (token: number): string => {
        let s = td.decode(this.tokenBytes(token, opts.special), { stream: true });
        if (strip && s.length > 0) {
          if (s.startsWith(' ')) s = s.slice(1);
          strip = false;
        }
        return s;
      },
      flush: (): string => td.decode(),
    };
  }

  /** Whole-sequence decode: strips the dummy-prefix space of the first piece (after BOS) by default. */
  decode(tokens: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const d = this.decoder({ ...opts, stripPrefixSpace: opts.stripPrefixSpace ?? true });
    let s = '';
    for (let i = 0; i < tokens.length; i++) s += d.push(tokens[i]!);
    return s + d.flush();
  }
}

export function tokenizerFromGguf(file: GgufFile): Tokenizer {
  return new Tokenizer(readVocab(file));
}
