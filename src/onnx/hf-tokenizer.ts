// tokenizer.json + tokenizer_config.json equivalent to a GGUF SentencePiece ('llama') vocabulary, in
// the form HF tokenizers gives llama: a BPE model over the same vocabulary with byte_fallback, the
// merges derived from the scores, a normalizer that prepends ▁ and maps spaces to ▁ (no
// pre-tokenizer, so merges may cross spaces exactly as SentencePiece's may), and the decoder chain
// ▁→space, byte fallback, fuse, strip the dummy-prefix space.
//
// Why merges from scores are equivalent: SentencePiece BPE repeatedly merges the adjacent pair whose
// concatenation is the highest-scoring vocabulary piece. HF BPE merges the adjacent pair with the
// lowest merge rank. Listing every split (l, r) of every piece t = l + r, ranked by t's score
// (highest first), makes the two pick the same pair at every step.
import type { Vocab } from '../engine/tokenizer/vocab.ts';
import { TokenType } from '../engine/tokenizer/vocab.ts';
import { TokenizerExportError } from './errors.ts';
import type { JsonValue } from './hf-config.ts';

const SPACE = '\u2581';

/** Every (left, right) pair whose concatenation is a NORMAL piece, best piece first. */
export function mergesFromScores(vocab: Vocab): [string, string][] {
  const scores = vocab.scores;
  const found: { l: string; r: string; score: number; id: number; lid: number; rid: number }[] = [];
  vocab.tokens.forEach((t, id) => {
    if (vocab.types[id] !== TokenType.NORMAL || vocab.ids.get(t) !== id) return;
    const chars = Array.from(t);
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      const lid = vocab.ids.get(l);
      const rid = vocab.ids.get(r);
      if (lid !== undefined && rid !== undefined) found.push({ l, r, score: scores ? scores[id]! : -id, id, lid, rid });
    }
  });
  found.sort((a, b) => b.score - a.score || a.id - b.id || a.lid - b.lid || a.rid - b.rid);
  return found.map((m) => [m.l, m.r]);
}

function isSpecial(type: number | undefined): boolean {
  return type === TokenType.CONTROL || type === TokenType.UNKNOWN || type === TokenType.UNUSED;
}

export function hfTokenizerJson(vocab: Vocab): Record<string, JsonValue> {
  if (vocab.model !== 'llama') throw new TokenizerExportError(`tokenizer model '${vocab.model}' (only SentencePiece 'llama' is exported)`);
  const vocabObj: Record<string, number> = {};
  vocab.tokens.forEach((t, id) => {
    if (!(t in vocabObj)) vocabObj[t] = id;
  });
  const added: JsonValue[] = [];
  vocab.tokens.forEach((t, id) => {
    const type = vocab.types[id];
    if (!isSpecial(type) && type !== TokenType.USER_DEFINED) return;
    added.push({ id, content: t, single_word: false, lstrip: false, rstrip: false, normalized: type === TokenType.USER_DEFINED, special: isSpecial(type) });
  });
  const bos = vocab.bos !== undefined ? vocab.tokens[vocab.bos]! : undefined;
  const prefix = vocab.addSpacePrefix;
  const normalizers: JsonValue[] = [{ type: 'Replace', pattern: { String: ' ' }, content: SPACE }];
  if (prefix) normalizers.unshift({ type: 'Prepend', prepend: SPACE });
  const decoders: JsonValue[] = [
    { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  if (prefix) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  const single: JsonValue[] = [{ Sequence: { id: 'A', type_id: 0 } }];
  const pair: JsonValue[] = [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }];
  const specials: Record<string, JsonValue> = {};
  if (vocab.addBos && bos !== undefined) {
    single.unshift({ SpecialToken: { id: bos, type_id: 0 } });
    pair.unshift({ SpecialToken: { id: bos, type_id: 0 } });
    pair.splice(2, 0, { SpecialToken: { id: bos, type_id: 1 } });
    specials[bos] = { id: bos, ids: [vocab.bos!], tokens: [bos] };
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: null,
    post_processor: { type: 'TemplateProcessing', single, pair, special_tokens: specials },
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: vocab.unk !== undefined ? vocab.tokens[vocab.unk]! : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabObj,
      merges: mergesFromScores(vocab),
    },
  };
}

export function hfTokenizerConfig(vocab: Vocab, maxLength: number): Record<string, JsonValue> {
  const tok = (id: number | undefined): string | null => (id === undefined ? null : vocab.tokens[id]!);
  return {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: tok(vocab.bos),
    eos_token: tok(vocab.eos),
    unk_token: tok(vocab.unk),
    pad_token: null,
    add_bos_token: vocab.addBos,
    add_eos_token: vocab.addEos,
    // The legacy llama behaviour: a dummy-prefix space at the start and after special tokens.
    legacy: true,
    clean_up_tokenization_spaces: false,
    model_max_length: maxLength,
    ...(vocab.chatTemplate ? { chat_template: vocab.chatTemplate } : {}),
  };
}
