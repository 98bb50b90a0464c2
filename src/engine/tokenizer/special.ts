// Special-token facts llama.cpp derives at load time from token texts (llama-vocab.cpp, load()):
// the EOT/EOM/FIM tokens when the file does not name them, the end-of-generation set, token types
// forced to CONTROL, and the per-model strip attributes. GGUF files rely on this: converters rarely
// write eot/eom ids, and an instruct model that only stops on EOS would run past its turn.
import { metaNumber, metaString } from '../../formats/gguf-meta.ts';
import type { GgufFile } from '../../formats/gguf-types.ts';

const CONTROL = 3;
const USER_DEFINED = 4;
const NORMAL = 1;
const UNKNOWN = 2;

/** Texts llama.cpp takes for the EOT token when tokenizer.ggml.eot_token_id is absent (first found here wins). */
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>',
  '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>'];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];

/** Every token with one of these texts ends generation, whatever its type (it becomes CONTROL). */
export const EOG_TEXTS: readonly string[] = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>',
  '<|calls|>', '<end_of_turn>', '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]',
  '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~['];

export interface SpecialTokens {
  readonly eot: number | undefined;
  readonly eom: number | undefined;
  readonly eog: ReadonlySet<number>;
  /** Tokens that swallow whitespace on their right / left when split out of text (llama.cpp's RSTRIP / LSTRIP). */
  readonly rstrip: ReadonlySet<number>;
  readonly lstrip: ReadonlySet<number>;
}

/**
 * Derives the special tokens as llama.cpp does. `types` is updated in place: a token found by text
 * that was not CONTROL becomes CONTROL (llama.cpp warns and overrides the same way).
 */
export function deriveSpecialTokens(file: GgufFile, tokens: readonly string[], ids: ReadonlyMap<string, number>,
  types: Int32Array, eos: number | undefined): SpecialTokens {
  const idKey = (key: string): number | undefined => {
    const v = metaNumber(file, `tokenizer.ggml.${key}`);
    return v !== undefined && v >= 0 && v < tokens.length ? v : undefined;
  };
  const byText = (texts: readonly string[]): number | undefined => {
    for (const t of texts) {
      const id = ids.get(t);
      if (id !== undefined) { types[id] = CONTROL; return id; }
    }
    return undefined;
  };
  const eot = idKey('eot_token_id') ?? byText(EOT_TEXTS);
  const eom = idKey('eom_token_id') ?? byText(EOM_TEXTS);
  const eog = new Set<number>();
  for (const [key, texts] of [['fim_pad_token_id', FIM_PAD_TEXTS], ['fim_rep_token_id', FIM_REP_TEXTS], ['fim_sep_token_id', FIM_SEP_TEXTS]] as const) {
    const id = idKey(key) ?? byText(texts);
    if (id !== undefined) eog.add(id);
  }
  for (const t of EOG_TEXTS) {
    const id = ids.get(t);
    if (id !== undefined) { eog.add(id); types[id] = CONTROL; }
  }
  for (const id of [eos, eot, eom]) if (id !== undefined) eog.add(id);
  dropHarmonyEnd(eog, ids, types);
  return { eot, eom, eog, ...stripAttributes(file, ids, types) };
}

/** gpt-oss (and solar-open) use <|end|> between messages, not at the end of the answer. */
function dropHarmonyEnd(eog: Set<number>, ids: ReadonlyMap<string, number>, types: Int32Array): void {
  const has = (t: string): boolean => { const id = ids.get(t); return id !== undefined && eog.has(id); };
  const end = ids.get('<|end|>');
  const call = has('<|call|>') || has('<|calls|>');
  if (end !== undefined && eog.has(end) && call && (has('<|return|>') || has('<|flush|>'))) {
    eog.delete(end);
    types[end] = USER_DEFINED;
  }
  // Gemma 4 vocabularies also hold a plain '</s>' that is not an end of turn.
  const s = ids.get('</s>');
  if (s !== undefined && has('</s>') && has('<|tool_response>')) {
    eog.delete(s);
    types[s] = NORMAL;
  }
}

/** Phi-3 special tokens eat the whitespace after them; llama.cpp keys this on general.name. */
function stripAttributes(file: GgufFile, ids: ReadonlyMap<string, number>, types: Int32Array): Pick<SpecialTokens, 'rstrip' | 'lstrip'> {
  const rstrip = new Set<number>();
  const name = (metaString(file, 'general.name') ?? '').toLowerCase();
  if (name.includes('phi-3') || name.includes('phi3')) {
    types.forEach((t, id) => { if (t === CONTROL || t === USER_DEFINED || t === UNKNOWN) rstrip.add(id); });
    const s = ids.get('</s>');
    if (s !== undefined) rstrip.add(s);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) { const id = ids.get(t); if (id !== undefined) rstrip.delete(id); }
  }
  return { rstrip, lstrip: new Set<number>() };
}
