// Synthetic GGUF models of each supported family with exactly the tensors and metadata keys that
// llama.cpp's converter (convert_hf_to_gguf.py) writes for the real models and llama.cpp's loader
// expects (src/models/<arch>.cpp; notes: ./LLAMACPP.md). Weights are
// seeded random, scaled so the greedy next token is clear (logits with a std of ~LOGIT_STD) and
// attention scores large enough that soft-caps, windows and RoPE details change the answer.
// Quantized files go through the repo's quantizer (ggml-compatible blocks); a matrix whose rows are
// not whole blocks of the target falls back to Q8_0/F16 as llama.cpp's quantizer does.
import { writeGguf, type GgufWriteTensor } from '../../formats/gguf-writer.ts';
import { GgufValueType, type GgufKV } from '../../formats/gguf-types.ts';
import { GgmlType } from '../../quant/ggml-types.ts';
import { quantize } from '../../quant/quantize.ts';
import { quantizedMetadata, typeForRow } from '../../quant/quantize-gguf.ts';
import { normals, rng } from '../../util/random.ts';
import { llama3RopeFreqs, longRopeAttnFactor, longRopeFactors } from './rope-factors.ts';
import { ARCH, REAL_SHAPES, SMALL_SHAPES, type Family, type FamilyShape, type RealShapeName } from './shapes.ts';
import { FIRST_PIECE, PHI3_SPECIAL_TOKENS, syntheticVocabMetadata } from './vocab.ts';

export { FAMILIES, SMALL_SHAPES, REAL_SHAPES, type Family, type FamilyShape, type RealShapeName } from './shapes.ts';

export interface SyntheticFamilyOptions {
  /** ggml type of the weight matrices (F32 = 0, Q8_0 = 8, Q2_K = 10, Q4_K = 12, ...); default F32. */
  type?: number;
  /** Cut (or extend) the layer count; default the shape's. */
  nLayer?: number;
  /** Cut the vocabulary (real shapes have 32k-262k tokens); default the shape's. */
  nVocab?: number;
  seed?: number;
  /** 'small' (default), a real model's name (its family must match), or an explicit shape. */
  shape?: 'small' | RealShapeName | FamilyShape;
  /**
   * Zero the tensors whose names match (after drawing them, so the others keep their values): a
   * diagnostic variant, e.g. /attn_output/ silences attention so that llama.cpp's matmul rounding
   * can be compared without its flash-attention rounding (e2e/families.spec.ts).
   */
  silence?: RegExp;
}

/** Std of the final logits: top-1 and top-2 of a 512-token vocabulary then differ by ~1-2 nats. */
const LOGIT_STD = 6;
/**
 * Std of the embedding rows. A tied head scores the input token's own embedding, which rides the
 * residual stream, at |e|^2: small rows (and layers that add more than the embedding) keep that
 * self-score near the others, so generations do not just repeat their last token. Gemma scales the
 * embedding by sqrt(n_embd) on the way in, hence its smaller rows.
 */
const EMBED_STD = 0.2;
const GEMMA_EMBED_STD = 0.02;
/** Gain of the projections: attention scores of std ~ GAIN^2 before the 1/sqrt(d) scale cancels. */
const GAIN = 1.4;

export function familyShape(family: Family, opts: SyntheticFamilyOptions = {}): FamilyShape {
  const s = opts.shape ?? 'small';
  let base: FamilyShape;
  if (s === 'small') base = SMALL_SHAPES[family];
  else if (typeof s === 'string') {
    const real = REAL_SHAPES[s];
    if (real.family !== family) throw new Error(`shape ${s} is a ${real.family} model, not ${family}`);
    base = real.shape;
  } else base = s;
  return { ...base, nLayer: opts.nLayer ?? base.nLayer, nVocab: opts.nVocab ?? base.nVocab };
}

export function syntheticFamilyGguf(family: Family, opts: SyntheticFamilyOptions = {}): Uint8Array {
  const sh = familyShape(family, opts);
  const target = opts.type ?? GgmlType.F32;
  const tensors = familyTensors(family, sh, rng(opts.seed ?? 1));
  for (const t of tensors) if (opts.silence?.test(t.name)) t.data.fill(0);
  const encoded = tensors.map((t) => encode(t, target));
  const metadata = familyMetadata(family, sh);
  return writeGguf({ metadata: target === GgmlType.F32 ? metadata : quantizedMetadata(metadata, target), tensors: encoded });
}

interface F32Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** 2-D weight matrices go to the target type (or its fallback); vectors stay F32, as llama.cpp keeps them. */
function encode(t: F32Tensor, target: number): GgufWriteTensor {
  const type = t.shape.length === 2 ? typeForRow(target, t.shape[0]!) : GgmlType.F32;
  const data = type === GgmlType.F32 ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : quantize(type, t.data);
  return { name: t.name, shape: t.shape, type, data };
}

function familyTensors(family: Family, sh: FamilyShape, next: () => number): F32Tensor[] {
  const E = sh.nEmbd;
  const qDim = sh.nHead * sh.headDim;
  const kvDim = sh.nHeadKv * sh.headDim;
  const gemma = family === 'gemma2' || family === 'gemma3';
  const out: F32Tensor[] = [];
  // ne0 = input dim (contiguous rows), ne1 = output dim, as ggml lays matrices out.
  const mat = (name: string, cols: number, rows: number, std: number) => out.push({ name, shape: [cols, rows], data: normals(cols * rows, next, std) });
  const proj = (name: string, cols: number, rows: number) => mat(name, cols, rows, GAIN / Math.sqrt(cols));
  // Norm weights near `center` with a 10% spread (gemma files store 1 + w already: same treatment).
  const norm = (name: string, n: number, center = 1) => out.push({ name, shape: [n], data: normals(n, next, 0.1).map((v) => center * (1 + v)) });
  const vec = (name: string, data: Float32Array) => out.push({ name, shape: [data.length], data });

  const embedStd = gemma ? GEMMA_EMBED_STD : EMBED_STD;
  const nTail = vocabTail(family).length;
  mat('token_embd.weight', E, sh.nVocab, embedStd);
  quietSpecialRows(out.at(-1)!.data, E, nTail);
  if (family === 'llama3' && sh.llama3Rope) vec('rope_freqs.weight', llama3RopeFreqs(sh.ropeDim, sh.ropeBase, sh.llama3Rope));
  if (family === 'phi3') {
    const f = longRopeFactors(sh.ropeDim, next);
    vec('rope_factors_long.weight', f.long);
    vec('rope_factors_short.weight', f.short);
  }
  for (let i = 0; i < sh.nLayer; i++) {
    const b = `blk.${i}`;
    norm(`${b}.attn_norm.weight`, E);
    if (family === 'phi3') proj(`${b}.attn_qkv.weight`, E, qDim + 2 * kvDim);
    else {
      proj(`${b}.attn_q.weight`, E, qDim);
      proj(`${b}.attn_k.weight`, E, kvDim);
      proj(`${b}.attn_v.weight`, E, kvDim);
    }
    if (family === 'qwen2') {
      vec(`${b}.attn_q.bias`, normals(qDim, next, 0.3));
      vec(`${b}.attn_k.bias`, normals(kvDim, next, 0.3));
      vec(`${b}.attn_v.bias`, normals(kvDim, next, 0.3));
    }
    if (family === 'qwen3' || family === 'gemma3') {
      // Larger q/k norm weights keep scores sizable after the per-head normalisation.
      norm(`${b}.attn_q_norm.weight`, sh.headDim, 2);
      norm(`${b}.attn_k_norm.weight`, sh.headDim, 2);
    }
    proj(`${b}.attn_output.weight`, qDim, E);
    if (gemma) norm(`${b}.post_attention_norm.weight`, E);
    norm(`${b}.ffn_norm.weight`, E);
    if (family === 'phi3') proj(`${b}.ffn_up.weight`, E, 2 * sh.nFf); // rows: gate, then up
    else {
      proj(`${b}.ffn_gate.weight`, E, sh.nFf);
      proj(`${b}.ffn_up.weight`, E, sh.nFf);
    }
    proj(`${b}.ffn_down.weight`, sh.nFf, E);
    if (gemma) norm(`${b}.post_ffw_norm.weight`, E);
  }
  // The final norm's output has RMS ~ its weights (c): logits = row . h have std rowStd * c * sqrt(E).
  // gemma2 never reads output.weight (llama.cpp ties it); the others ship one unless tied.
  const tied = sh.tied || family === 'gemma2';
  const headStd = tied ? embedStd : 1 / Math.sqrt(E);
  norm('output_norm.weight', E, LOGIT_STD / (headStd * Math.sqrt(E)));
  if (!tied) {
    mat('output.weight', E, sh.nVocab, headStd);
    quietSpecialRows(out.at(-1)!.data, E, nTail);
  }
  return out;
}

/** Control tokens a family's vocabulary must end with for llama.cpp to load it. */
function vocabTail(family: Family): readonly string[] {
  return family === 'phi3' ? PHI3_SPECIAL_TOKENS : [];
}

/**
 * Shrink the head rows of the control and byte tokens (ids < FIRST_PIECE and the `nTail` last) so
 * they never rank in the top 2: a greedy run must not stop at an end-of-generation token, and
 * llama-server's probability report (which wllama returns) fails on a lone byte token, whose piece
 * is not UTF-8.
 */
function quietSpecialRows(rows: Float32Array, nEmbd: number, nTail: number): void {
  const quiet = (from: number, to: number) => {
    for (let i = from * nEmbd; i < to * nEmbd; i++) rows[i]! *= 0.05;
  };
  quiet(0, FIRST_PIECE);
  quiet(rows.length / nEmbd - nTail, rows.length / nEmbd);
}

function familyMetadata(family: Family, sh: FamilyShape): GgufKV[] {
  const arch = ARCH[family];
  const U32 = GgufValueType.U32;
  const F32 = GgufValueType.F32;
  const m: GgufKV[] = [];
  const put = (key: string, type: GgufValueType, value: GgufKV['value']) => m.push({ key, type, value });
  const a = (k: string, type: GgufValueType, value: number) => put(`${arch}.${k}`, type, value);
  put('general.architecture', GgufValueType.STRING, arch);
  put('general.name', GgufValueType.STRING, `synthetic-${family}`);
  put('general.file_type', U32, 0);
  a('context_length', U32, sh.nCtxTrain);
  a('embedding_length', U32, sh.nEmbd);
  a('block_count', U32, sh.nLayer);
  a('feed_forward_length', U32, sh.nFf);
  a('attention.head_count', U32, sh.nHead);
  a('attention.head_count_kv', U32, sh.nHeadKv);
  a('attention.layer_norm_rms_epsilon', F32, sh.normEps);
  // gemma2's converter writes no rope base (llama.cpp's default 10000 applies).
  if (family !== 'gemma2') a('rope.freq_base', F32, sh.ropeBase);
  // Converters write key/value_length when config.json has head_dim (Llama 3.2, Qwen3, Gemma).
  if (family === 'llama3' || family === 'qwen3' || family === 'gemma2' || family === 'gemma3') {
    a('attention.key_length', U32, sh.headDim);
    a('attention.value_length', U32, sh.headDim);
  }
  if (family === 'llama3' || family === 'phi3') a('rope.dimension_count', U32, sh.ropeDim);
  if (sh.slidingWindow !== undefined) a('attention.sliding_window', U32, sh.slidingWindow);
  if (family === 'gemma2') {
    a('attn_logit_softcapping', F32, sh.attnSoftcap ?? 50);
    a('final_logit_softcapping', F32, sh.finalSoftcap ?? 30);
  }
  if (family === 'phi3') {
    const orig = sh.origCtx ?? sh.nCtxTrain;
    a('rope.scaling.original_context_length', U32, orig);
    // Written only for long-context models (those with rope_factors_*), which these are.
    a('rope.scaling.attn_factor', F32, longRopeAttnFactor(sh.nCtxTrain, orig));
  }
  return [...m, ...syntheticVocabMetadata(sh.nVocab, vocabTail(family))];
}
