// A SentencePiece-style vocabulary llama.cpp accepts for any architecture: control tokens, the 256
// byte tokens, '▁', the prefixes '▁a'..'▁z', then fillers '▁<letter><n>'. Filler scores fall with
// the id and the prefixes exist, so text tokenizes into real pieces rather than bytes (ANCHORS.md,
// "Synthetic vocabularies"). The oracle feeds token ids, but llama.cpp must still load a vocab.
import { GgufValueType, type GgufArrayValues, type GgufKV } from '../../formats/gguf-types.ts';

export const BOS = 1;
export const EOS = 2;
/** Ids below this are control and byte tokens; prompts are drawn above it. */
export const FIRST_PIECE = 3 + 256;

const kv = (key: string, type: GgufValueType, value: GgufKV['value']): GgufKV => ({ key, type, value });
const arr = (key: string, itemType: GgufValueType, values: GgufArrayValues): GgufKV => kv(key, GgufValueType.ARRAY, { itemType, values });

/**
 * Phi-3's added tokens (ids 32000-32010 in the real vocabulary). llama.cpp refuses a phi3 model
 * whose vocabulary lacks them ("error loading model vocabulary: unordered_map::at: key not found").
 */
export const PHI3_SPECIAL_TOKENS: readonly string[] = [
  '<|endoftext|>', '<|assistant|>', '<|placeholder1|>', '<|placeholder2|>', '<|placeholder3|>', '<|placeholder4|>',
  '<|system|>', '<|end|>', '<|placeholder5|>', '<|placeholder6|>', '<|user|>',
];

/** The pieces of an `n`-token vocabulary whose last ids are `tail` (control tokens). */
export function vocabTokens(n: number, tail: readonly string[] = []): string[] {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  tokens.push('\u2581');
  for (let c = 0; c < 26; c++) tokens.push(`\u2581${String.fromCharCode(97 + c)}`);
  for (let i = 0; tokens.length < n - tail.length; i++) tokens.push(`\u2581${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26)}`);
  return [...tokens.slice(0, n - tail.length), ...tail];
}

/** tokenizer.ggml.* metadata for an `n`-token vocabulary (n >= 286 + tail) ending with `tail`. */
export function syntheticVocabMetadata(n: number, tail: readonly string[] = []): GgufKV[] {
  const tokens = vocabTokens(n, tail);
  // llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte.
  const types = Int32Array.from(tokens, (_, i) => (i === 0 ? 2 : i < 3 || i >= n - tail.length ? 3 : i < FIRST_PIECE ? 6 : 1));
  const scores = Float32Array.from(tokens, (_, i) => (i < FIRST_PIECE ? 0 : -(i - FIRST_PIECE)));
  return [
    kv('tokenizer.ggml.model', GgufValueType.STRING, 'llama'),
    arr('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
    arr('tokenizer.ggml.scores', GgufValueType.F32, scores),
    arr('tokenizer.ggml.token_type', GgufValueType.I32, types),
    kv('tokenizer.ggml.bos_token_id', GgufValueType.U32, BOS),
    kv('tokenizer.ggml.eos_token_id', GgufValueType.U32, EOS),
    kv('tokenizer.ggml.unknown_token_id', GgufValueType.U32, 0),
  ];
}
