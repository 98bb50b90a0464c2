// Converter from Karpathy's llama2.c checkpoint + tokenizer files to GGUF (the project's own;
// browser-safe: bytes in, bytes out). Facts about the llama2.c format:
// - model.bin: 7 little-endian i32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
//   seq_len; a negative vocab_size means the classifier is not shared with the embedding), then f32
//   arrays: token_embedding [vocab][dim], rms_att [L][dim], wq [L][dim][dim], wk [L][kv][dim],
//   wv [L][kv][dim], wo [L][dim][dim], rms_ffn [L][dim], w1 [L][hidden][dim], w2 [L][dim][hidden],
//   w3 [L][hidden][dim], rms_final [dim], freq_cis real and imag [seq][head/2] each (unused), and
//   wcls [vocab][dim] when unshared. Matrices are row-major [out][in], which is GGUF's ne=[in,out].
// - tokenizer.bin: i32 max_token_length, then per token: f32 score, i32 length, the bytes. Spaces
//   are plain ' ' (SentencePiece writes U+2581), BOS/EOS are spelled "\n<s>\n" / "\n</s>\n".
// llama2.c weights already use interleaved-pair RoPE, so Q/K need no permutation for GGUF 'llama'.
import { GgufValueType, type GgufKV } from '../formats/gguf-types.ts';
import { writeGguf, type GgufWriteTensor } from '../formats/gguf-writer.ts';
import { GgmlType } from '../quant/ggml-types.ts';
import { Llama2cFormatError } from './errors.ts';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

export interface Llama2cToken { text: string; score: number }

export function readLlama2cHeader(model: Uint8Array): Llama2cHeader {
  if (model.length < 28) throw new Llama2cFormatError(`checkpoint is ${model.length} bytes, shorter than its 28-byte header`);
  const dv = new DataView(model.buffer, model.byteOffset, 28);
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true)) as
    [number, number, number, number, number, number, number];
  const h = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: vocab > 0 };
  const positive = [dim, hiddenDim, nLayers, nHeads, nKvHeads, h.vocabSize, seqLen].every((x) => x > 0);
  if (!positive || dim % nHeads !== 0 || nHeads % nKvHeads !== 0) {
    throw new Llama2cFormatError(`implausible llama2.c header ${JSON.stringify(h)}`);
  }
  return h;
}

export function readLlama2cTokenizer(bytes: Uint8Array, vocabSize: number): Llama2cToken[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8');
  const out: Llama2cToken[] = [];
  let at = 4; // max_token_length: not needed
  for (let i = 0; i < vocabSize; i++) {
    if (at + 8 > bytes.length) throw new Llama2cFormatError(`tokenizer ends at token ${i} of ${vocabSize}`);
    const score = dv.getFloat32(at, true);
    const len = dv.getInt32(at + 4, true);
    at += 8;
    if (len < 0 || at + len > bytes.length) throw new Llama2cFormatError(`token ${i} has bad length ${len}`);
    out.push({ text: dec.decode(bytes.subarray(at, at + len)), score });
    at += len;
  }
  return out;
}

const SPECIAL: Record<string, string> = { '\n<s>\n': '<s>', '\n</s>\n': '</s>' };

/** GGUF piece and token_type (llama.cpp's: 1 normal, 2 unknown, 3 control, 6 byte). */
function ggufToken(t: Llama2cToken): { piece: string; type: number } {
  const piece = SPECIAL[t.text] ?? t.text.replaceAll(' ', '\u2581');
  if (piece === '<unk>') return { piece, type: 2 };
  if (piece === '<s>' || piece === '</s>') return { piece, type: 3 };
  if (/^<0x[0-9A-Fa-f]{2}>$/.test(piece)) return { piece, type: 6 };
  return { piece, type: 1 };
}

const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
const f32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.F32, value });
const str = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });
const bool = (key: string, value: boolean): GgufKV => ({ key, type: GgufValueType.BOOL, value });

export interface ConvertOptions {
  /** general.name (default 'llama2c'). */
  name?: string;
  /** RMSNorm epsilon (llama2.c hard-codes 1e-5). */
  normEps?: number;
}

/** The GGUF metadata and tensors for a llama2.c model; the order matches our reference fixture. */
export function convertLlama2c(model: Uint8Array, tokenizer: Uint8Array, opts: ConvertOptions = {}): Uint8Array {
  const h = readLlama2cHeader(model);
  const headDim = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headDim;
  const L = h.nLayers;
  let at = 28;
  const take = (n: number): Uint8Array => {
    const bytes = n * 4;
    if (at + bytes > model.length) throw new Llama2cFormatError(`checkpoint ends at byte ${model.length}, needs ${at + bytes}`);
    const b = model.subarray(at, at + bytes);
    at += bytes;
    return b;
  };
  const perLayer = (b: Uint8Array, i: number): Uint8Array => b.subarray((b.length / L) * i, (b.length / L) * (i + 1));
  const embd = take(h.vocabSize * h.dim);
  const rmsAtt = take(L * h.dim);
  const wq = take(L * h.dim * h.dim);
  const wk = take(L * kvDim * h.dim);
  const wv = take(L * kvDim * h.dim);
  const wo = take(L * h.dim * h.dim);
  const rmsFfn = take(L * h.dim);
  const w1 = take(L * h.hiddenDim * h.dim);
  const w2 = take(L * h.dim * h.hiddenDim);
  const w3 = take(L * h.hiddenDim * h.dim);
  const rmsFinal = take(h.dim);
  take((h.seqLen * headDim) / 2); // freq_cis_real: GGUF runtimes compute RoPE themselves
  take((h.seqLen * headDim) / 2); // freq_cis_imag
  const wcls = h.sharedClassifier ? undefined : take(h.vocabSize * h.dim);
  if (at !== model.length) throw new Llama2cFormatError(`checkpoint has ${model.length - at} unexpected trailing bytes`);

  const t = (name: string, shape: number[], data: Uint8Array): GgufWriteTensor => ({ name, shape, type: GgmlType.F32, data });
  const tensors: GgufWriteTensor[] = [t('token_embd.weight', [h.dim, h.vocabSize], embd)];
  for (let i = 0; i < L; i++) {
    const b = `blk.${i}.`;
    tensors.push(
      t(`${b}attn_norm.weight`, [h.dim], perLayer(rmsAtt, i)),
      t(`${b}attn_q.weight`, [h.dim, h.dim], perLayer(wq, i)),
      t(`${b}attn_k.weight`, [h.dim, kvDim], perLayer(wk, i)),
      t(`${b}attn_v.weight`, [h.dim, kvDim], perLayer(wv, i)),
      t(`${b}attn_output.weight`, [h.dim, h.dim], perLayer(wo, i)),
      t(`${b}ffn_norm.weight`, [h.dim], perLayer(rmsFfn, i)),
      t(`${b}ffn_gate.weight`, [h.dim, h.hiddenDim], perLayer(w1, i)),
      t(`${b}ffn_down.weight`, [h.hiddenDim, h.dim], perLayer(w2, i)),
      t(`${b}ffn_up.weight`, [h.dim, h.hiddenDim], perLayer(w3, i)),
    );
  }
  tensors.push(t('output_norm.weight', [h.dim], rmsFinal));
  if (wcls) tensors.push(t('output.weight', [h.dim, h.vocabSize], wcls));

  const toks = readLlama2cTokenizer(tokenizer, h.vocabSize).map((x) => ({ ...ggufToken(x), score: x.score }));
  const id = (piece: string, fallback: number): number => {
    const i = toks.findIndex((x) => x.piece === piece);
    return i >= 0 ? i : fallback;
  };
  const metadata: GgufKV[] = [
    str('general.architecture', 'llama'),
    str('general.name', opts.name ?? 'llama2c'),
    u32('general.file_type', 0), // ALL_F32
    u32('llama.context_length', h.seqLen),
    u32('llama.embedding_length', h.dim),
    u32('llama.block_count', L),
    u32('llama.feed_forward_length', h.hiddenDim),
    u32('llama.attention.head_count', h.nHeads),
    u32('llama.attention.head_count_kv', h.nKvHeads),
    u32('llama.rope.dimension_count', headDim),
    f32('llama.attention.layer_norm_rms_epsilon', opts.normEps ?? 1e-5),
    f32('llama.rope.freq_base', 10000),
    str('tokenizer.ggml.model', 'llama'),
    { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, values: toks.map((x) => x.piece) } },
    { key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.F32, values: Float32Array.from(toks, (x) => x.score) } },
    { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.I32, values: Int32Array.from(toks, (x) => x.type) } },
    u32('tokenizer.ggml.bos_token_id', id('<s>', 1)),
    u32('tokenizer.ggml.eos_token_id', id('</s>', 2)),
    u32('tokenizer.ggml.unknown_token_id', id('<unk>', 0)),
    bool('tokenizer.ggml.add_bos_token', true),
    bool('tokenizer.ggml.add_eos_token', false),
  ];
  return writeGguf({ metadata, tensors });
}
