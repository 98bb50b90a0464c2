// Byte-level BPE pre-tokenizers, chosen by tokenizer.ggml.pre as llama.cpp's llama-vocab.cpp chooses
// them. A pre-tokenizer is a list of regexes applied in turn: each one splits every fragment left by
// the previous one into its matches AND the unmatched text between them (llama.cpp's
// unicode_regex_split keeps both), so e.g. SmolLM's first `\p{N}` isolates each digit before the
// GPT-2 regex sees the rest.
//
// Regex dialect: llama.cpp's sources spell `(?i:'s|...)` as explicit case classes, and GPT-4o's
// `\p{Lu}`-style classes as "a letter that is not a-z" / "not A-Z" (std::regex has no case
// categories, and non-ASCII letters are collapsed to one class); JS with the `u` flag runs those
// spellings as they are. `\s` is Unicode White_Space, as in llama.cpp and HF tokenizers (JS's `\s`
// adds U+FEFF and drops U+0085), so it is rewritten below.
import { UnknownPreTokenizerError } from './errors.ts';

const CONTRACTIONS = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
const LLAMA3 = String.raw`${CONTRACTIONS}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2 = String.raw`${CONTRACTIONS}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const UPPER_THEN_LOWER = String.raw`[^\r\n\p{L}\p{N}]?(?:(?=\p{L})[^a-z])*(?:(?=\p{L})[^A-Z])+`;
const UPPER_RUN = String.raw`[^\r\n\p{L}\p{N}]?(?:(?=\p{L})[^a-z])+(?:(?=\p{L})[^A-Z])*`;
const GPT4O = String.raw`${UPPER_THEN_LOWER}${CONTRACTIONS}?|${UPPER_RUN}${CONTRACTIONS}?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const TEKKEN = String.raw`${UPPER_THEN_LOWER}|${UPPER_RUN}|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

interface Preset {
  readonly regexes: readonly string[];
  /** A pre-token that is already a whole token is emitted as is (llama.cpp's ignore_merges). */
  readonly ignoreMerges?: boolean;
  /** llama.cpp's add_bos default when the file has no tokenizer.ggml.add_bos_token. */
  readonly addBos?: boolean;
}

const PRESETS: Record<string, Preset> = {
  default: { regexes: [String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2, String.raw`\p{N}+`, '[0-9][0-9][0-9]'] },
  llama3: { regexes: [LLAMA3], ignoreMerges: true, addBos: true },
  dbrx: { regexes: [LLAMA3] },
  qwen2: { regexes: [QWEN2] },
  smollm: { regexes: [String.raw`\p{N}`, GPT2] },
  gpt2: { regexes: [GPT2] },
  gpt4o: { regexes: [GPT4O] },
  tekken: { regexes: [TEKKEN], ignoreMerges: true, addBos: true },
  falcon: { regexes: [String.raw`[\p{P}\$\+<=>\^~\|\x60]+`, GPT2, '[0-9][0-9][0-9]'] },
  'deepseek-coder': { regexes: ['[\r\n]', String.raw`\s?\p{L}+`, String.raw`\s?\p{P}+`, '[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+', String.raw`\p{N}`] },
  'deepseek-v3': {
    regexes: [String.raw`\p{N}{1,3}`, '[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+',
      String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_\x60{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`],
  },
};

/** tokenizer.ggml.pre values llama.cpp knows, mapped to the preset it runs for them. */
const NAMES: Record<string, string> = {
  default: 'default',
  llama3: 'llama3', 'llama-v3': 'llama3', 'llama-bpe': 'llama3', falcon3: 'llama3', 'falcon-h1': 'llama3',
  pixtral: 'llama3', 'midm-2.0': 'llama3', lfm2: 'llama3',
  dbrx: 'dbrx', 'smaug-bpe': 'dbrx', 'chatglm-bpe': 'dbrx', glm4: 'dbrx',
  qwen2: 'qwen2', 'deepseek-r1-qwen': 'qwen2', megrez: 'qwen2', stablelm2: 'qwen2', hunyuan: 'qwen2',
  smollm: 'smollm', starcoder: 'smollm', refact: 'smollm', 'command-r': 'smollm', codeshell: 'smollm',
  exaone: 'smollm', 'minerva-7b': 'smollm',
  'gpt-2': 'gpt2', 'phi-2': 'gpt2', mpt: 'gpt2', olmo: 'gpt2', jais: 'gpt2', trillion: 'gpt2', 'jina-es': 'gpt2',
  'jina-de': 'gpt2', 'jina-v2-es': 'gpt2', 'jina-v2-de': 'gpt2', gigachat: 'gpt2', exaone4: 'gpt2', 'roberta-bpe': 'gpt2',
  'gpt-4o': 'gpt4o', llama4: 'gpt4o', 'minimax-m2': 'gpt4o',
  tekken: 'tekken',
  falcon: 'falcon',
  'deepseek-coder': 'deepseek-coder',
  'deepseek-v3': 'deepseek-v3',
};

export const KNOWN_PRE_TOKENIZERS: readonly string[] = Object.keys(NAMES);

// Unicode White_Space, for \s and \S (inside or outside a character class).
const WS = String.raw`\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

function withWhiteSpace(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length) {
      const n = src[++i]!;
      if (n === 's') out += inClass ? WS : `[${WS}]`;
      else if (n === 'S' && !inClass) out += `[^${WS}]`;
      else out += `\\${n}`;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

export interface PreTokenizer {
  /** The preset's name ('llama3', 'qwen2', ...), for messages. */
  readonly name: string;
  readonly ignoreMerges: boolean;
  readonly addBos: boolean;
  split(text: string): string[];
}

function build(name: string, preset: Preset): PreTokenizer {
  const res = preset.regexes.map((r) => new RegExp(withWhiteSpace(r), 'gu'));
  return {
    name,
    ignoreMerges: preset.ignoreMerges ?? false,
    addBos: preset.addBos ?? false,
    split(text: string): string[] {
      let parts = [text];
      for (const re of res) {
        const next: string[] = [];
        for (const part of parts) {
          let at = 0;
          for (const m of part.matchAll(re)) {
            if (m.index > at) next.push(part.slice(at, m.index));
            next.push(m[0]);
            at = m.index + m[0].length;
          }
          if (at < part.length) next.push(part.slice(at));
        }
        parts = next;
      }
      return parts;
    },
  };
}

const built = new Map<string, PreTokenizer>();

/**
 * The pre-tokenizer for a tokenizer.ggml.pre value. Missing means 'default' (llama.cpp warns that
 * quality will suffer; so does the Tokenizer); a name llama.cpp does not know is an error there and here.
 */
export function preTokenizerFor(pre: string | undefined): PreTokenizer {
  const key = pre === undefined || pre === '' ? 'default' : NAMES[pre];
  if (key === undefined) throw new UnknownPreTokenizerError(pre!, KNOWN_PRE_TOKENIZERS);
  let p = built.get(key);
  if (!p) {
    p = build(key, PRESETS[key]!);
    built.set(key, p);
  }
  return p;
}
