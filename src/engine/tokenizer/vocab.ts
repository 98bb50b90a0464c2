// The vocabulary as GGUF metadata describes it (tokenizer.ggml.*), shared by both tokenizer models.
import { metaArray, metaBool, metaNumber, metaString } from '../../formats/gguf-meta.ts';
import type { GgufFile } from '../../formats/gguf-types.ts';
import { TokenizerError } from '../errors.ts';
import { preTokenizerFor } from './pretokenizers.ts';
import { deriveSpecialTokens } from './special.ts';

/** tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
export const TokenType = { UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface Vocab {
  readonly model: string;
  /** 'default', 'llama-bpe', 'qwen2', ... (tokenizer.ggml.pre), for the gpt2 pre-tokenizer. */
  readonly pre: string | undefined;
  readonly tokens: readonly string[];
  readonly scores: Float32Array | undefined;
  readonly types: Int32Array;
  readonly ids: ReadonlyMap<string, number>;
  readonly merges: readonly string[] | undefined;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly unk: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly chatTemplate: string | undefined;
  /** End of turn / end of message (tokenizer.ggml.eot_token_id / eom_token_id, else found by text as llama.cpp does). */
  readonly eot: number | undefined;
  readonly eom: number | undefined;
  /** End-of-generation ids, built as llama.cpp builds them (./special.ts). */
  readonly eog: ReadonlySet<number>;
  /** Special tokens that swallow ASCII whitespace to their right / left when split out of text (Phi-3). */
  readonly rstrip: ReadonlySet<number>;
  readonly lstrip: ReadonlySet<number>;
}

const strings = (file: GgufFile, key: string): string[] | undefined => {
  const a = metaArray(file, key);
  if (!a) return undefined;
  const v: unknown = a.values;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new TokenizerError(`${key} is not a string array`);
  return v as string[];
};

export function readVocab(file: GgufFile): Vocab {
  const model = metaString(file, 'tokenizer.ggml.model');
  if (!model) throw new TokenizerError('GGUF has no tokenizer.ggml.model');
  const tokens = strings(file, 'tokenizer.ggml.tokens');
  if (!tokens || tokens.length === 0) throw new TokenizerError('GGUF has no tokenizer.ggml.tokens');
  const sc = metaArray(file, 'tokenizer.ggml.scores');
  const scores = sc ? Float32Array.from(sc.values as ArrayLike<number>) : undefined;
  const tt = metaArray(file, 'tokenizer.ggml.token_type');
  const types = tt ? Int32Array.from(tt.values as ArrayLike<number>) : new Int32Array(tokens.length).fill(TokenType.NORMAL);
  if (types.length !== tokens.length || (scores && scores.length !== tokens.length)) {
    throw new TokenizerError(`tokenizer arrays disagree: ${tokens.length} tokens, ${scores?.length} scores, ${types.length} types`);
  }
  const ids = new Map<string, number>();
  // First id wins for duplicated texts, as a lookup table built in order would give.
  tokens.forEach((t, i) => { if (!ids.has(t)) ids.set(t, i); });
  const id = (key: string): number | undefined => {
    const v = metaNumber(file, key);
    return v !== undefined && v >= 0 && v < tokens.length ? v : undefined;
  };
  const isSpm = model === 'llama';
  const pre = metaString(file, 'tokenizer.ggml.pre');
  // Throws UnknownPreTokenizerError for a name llama.cpp would refuse; SPM ignores the key.
  const preset = model === 'gpt2' ? preTokenizerFor(pre) : undefined;
  const bos = id('tokenizer.ggml.bos_token_id') ?? (isSpm ? 1 : undefined);
  const eos = id('tokenizer.ggml.eos_token_id') ?? (isSpm ? 2 : undefined);
  const special = deriveSpecialTokens(file, tokens, ids, types, eos);
  return {
    model,
    pre,
    tokens,
    scores,
    types,
    ids,
    merges: strings(file, 'tokenizer.ggml.merges'),
    bos,
    eos,
    unk: id('tokenizer.ggml.unknown_token_id') ?? (isSpm ? 0 : undefined),
    // llama.cpp's defaults: SPM adds BOS, byte-level BPE only for some pre-tokenizers (llama-bpe, tekken).
    addBos: metaBool(file, 'tokenizer.ggml.add_bos_token') ?? (isSpm || (preset?.addBos ?? false)),
    addEos: metaBool(file, 'tokenizer.ggml.add_eos_token') ?? false,
    addSpacePrefix: metaBool(file, 'tokenizer.ggml.add_space_prefix') ?? isSpm,
    chatTemplate: metaString(file, 'tokenizer.chat_template'),
    ...special,
  };
}
