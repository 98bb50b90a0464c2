// The transformer graph with its per-family options (src/engine/family.ts), generic over how a
// weight matrix is held and multiplied: the WASM CPU backend holds quantized blocks in WASM memory
// and multiplies with its kernels; the order of operations is the TypeScript CPU backend's (the
// oracle in src/engine/cpu/backend.ts, whose small ops this calls), so the two agree step by step.
// The TypeScript backend (src/engine/cpu) runs this same function with its f32 matmul: one graph.
import type { LlamaConfig } from './backend.ts';
import { EngineArgumentError } from './errors.ts';
import { layerWindow, ropeParams } from './family.ts';
import type { LayerRole } from './weights.ts';
import { rotateHeads } from './kv/hadamard.ts';
import type { KvLayout } from './kv/layout.ts';
import { kvAttention } from './cpu/kv-attention.ts';
import type { LayerKv } from './cpu/kv-cache.ts';
import { gegluGgml, ggmlPreScalesQ, ropeTableGgml } from './cpu/ggml-arith.ts';
import { addBias, addInPlace, geglu, rmsnorm, rope, ropeTable, softcap, swiglu, type RopeTable } from './cpu/math.ts';

export const MATRIX_ROLES = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;
export type MatrixRole = (typeof MATRIX_ROLES)[number];

/** One layer: its matrices (fused ones already split) and its vectors (norms, biases) in f32. */
export interface LayerTensors<W> {
  mat: Record<MatrixRole, W>;
  vec: Partial<Record<LayerRole, Float32Array>>;
}

/** y[t][o] = w[o]·x[t] for t < nTok (w is [nOut][nIn], GGUF ne = [nIn, nOut]). */
export type MatmulFn<W> = (y: Float32Array, x: Float32Array, w: W, nTok: number, nIn: number, nOut: number) => void;

export interface GraphModel<W> {
  readonly config: LlamaConfig;
  readonly kvLayout: KvLayout;
  readonly layerRange: readonly [number, number];
  kv(l: number): LayerKv;
  layer(l: number): LayerTensors<W>;
  /** rope_freqs or LongRoPE's factors, when the model has them. */
  readonly ropeFactors: Float32Array | undefined;
  readonly matmul: MatmulFn<W>;
  /** Measuring only: llama.cpp's roundings in RoPE, attention and GELU (src/engine/cpu/ggml-arith.ts). */
  ggmlArith?: boolean;
  /** The attention over the KV cache, when the backend has its own (the WASM kernels); default kvAttention. */
  readonly attention?: typeof kvAttention;
  /** The element-wise ops, when the backend has its own (the WASM kernels); default math.ts's. */
  readonly ops?: SmallOps;
}

/** The graph's per-token element-wise ops (src/engine/cpu/math.ts signatures). */
export interface SmallOps {
  rmsnorm: typeof rmsnorm;
  rope: typeof rope;
  swiglu: typeof swiglu;
  geglu: typeof geglu;
}

const TS_OPS: SmallOps = { rmsnorm, rope, swiglu, geglu };

/** Layers [from, to) on hidden [nTok][nEmbd] at positions pos..; returns the new hidden state and the scratch it used. */
export function runLayers<W>(m: GraphModel<W>, hidden: Float32Array, nTok: number, pos: number, from: number, to: number): { x: Float32Array; scratchBytes: number } {
  const c = m.config;
  if (from < m.layerRange[0] || to > m.layerRange[1] || from > to) {
    throw new EngineArgumentError(`layers [${from}, ${to}) outside this backend's [${m.layerRange[0]}, ${m.layerRange[1]})`);
  }
  if (hidden.length < nTok * c.nEmbd) throw new EngineArgumentError(`hidden has ${hidden.length} floats, need ${nTok}x${c.nEmbd}`);
  for (let l = from; l < to; l++) m.kv(l).reserve(pos, nTok);
  const x = hidden.slice(0, nTok * c.nEmbd);
  if (from === to) return { x, scratchBytes: 0 };
  const qDim = c.nHead * c.headDimK;
  const kDim = c.nHeadKv * c.headDimK;
  const vDim = c.nHeadKv * c.headDimV;
  const oDim = c.nHead * c.headDimV;
  const xn = new Float32Array(nTok * c.nEmbd);
  const q = new Float32Array(nTok * qDim);
  const k = new Float32Array(nTok * kDim);
  const v = new Float32Array(nTok * vDim);
  const att = new Float32Array(nTok * oDim);
  const proj = new Float32Array(nTok * c.nEmbd);
  const gate = new Float32Array(nTok * c.nFf);
  const up = new Float32Array(nTok * c.nFf);
  const scores = new Float64Array((c.nHead / c.nHeadKv) * (pos + nTok));
  const scratchBytes = 4 * (xn.length * 2 + q.length + k.length + v.length + att.length + gate.length + up.length) + 8 * scores.length;
  const rot = m.kvLayout.rotate;
  const f = c.family;
  const mm = m.matmul;
  // The measuring roundings (ggmlArith) are TypeScript only.
  const { rmsnorm, rope, swiglu, geglu } = m.ggmlArith ? TS_OPS : (m.ops ?? TS_OPS);
  const tables = new Map<string, RopeTable>();
  const tableFor = (l: number): RopeTable => {
    const { base, scale } = ropeParams(c, l);
    let t = tables.get(`${base}/${scale}`);
    if (!t) tables.set(`${base}/${scale}`, (t = (m.ggmlArith ? ropeTableGgml : ropeTable)(pos, nTok, c.ropeDim, base, scale, m.ropeFactors, f.ropeAttnFactor)));
    return t;
  };
  for (let l = from; l < to; l++) {
    const { mat: w, vec } = m.layer(l);
    const b = vec as Required<typeof vec>;
    const cache = m.kv(l);
    rmsnorm(xn, x, b.attn_norm, nTok, c.nEmbd, c.normEps);
    mm(q, xn, w.attn_q, nTok, c.nEmbd, qDim);
    mm(k, xn, w.attn_k, nTok, c.nEmbd, kDim);
    mm(v, xn, w.attn_v, nTok, c.nEmbd, vDim);
    if (f.qkvBias) {
      addBias(q, b['attn_q.bias'], nTok, qDim);
      addBias(k, b['attn_k.bias'], nTok, kDim);
      addBias(v, b['attn_v.bias'], nTok, vDim);
    }
    if (f.qkNorm) {
      rmsnorm(q, q, b.attn_q_norm, nTok * c.nHead, c.headDimK, c.normEps);
      rmsnorm(k, k, b.attn_k_norm, nTok * c.nHeadKv, c.headDimK, c.normEps);
    }
    const table = tableFor(l);
    rope(q, nTok, c.nHead, c.headDimK, table, f.ropeNeox);
    rope(k, nTok, c.nHeadKv, c.headDimK, table, f.ropeNeox);
    if (rot) {
      rotateHeads(q, nTok, c.nHead, c.headDimK);
      rotateHeads(k, nTok, c.nHeadKv, c.headDimK);
      rotateHeads(v, nTok, c.nHeadKv, c.headDimV);
    }
    (m.ggmlArith ? kvAttention : m.attention ?? kvAttention)(att, cache.ref, q, k, v, nTok, pos, c, scores, { scale: f.attnScale, softcap: f.attnSoftcap, window: layerWindow(c, l), ...(m.ggmlArith ? { ggmlF16: { preScaleQ: ggmlPreScalesQ(c) } } : {}) });
    cache.write(pos, nTok, k, v);
    if (rot) rotateHeads(att, nTok, c.nHead, c.headDimV);
    mm(proj, att, w.attn_output, nTok, oDim, c.nEmbd);
    if (f.oBias) addBias(proj, b['attn_output.bias'], nTok, c.nEmbd);
    if (f.postNorms) rmsnorm(proj, proj, b.post_attention_norm, nTok, c.nEmbd, c.normEps);
    addInPlace(x, proj, x.length);
    rmsnorm(xn, x, b.ffn_norm, nTok, c.nEmbd, c.normEps);
    mm(gate, xn, w.ffn_gate, nTok, c.nEmbd, c.nFf);
    mm(up, xn, w.ffn_up, nTok, c.nEmbd, c.nFf);
    (f.ffnAct === 'gelu' ? (m.ggmlArith ? gegluGgml : geglu) : swiglu)(gate, up, gate.length);
    mm(proj, gate, w.ffn_down, nTok, c.nFf, c.nEmbd);
    if (f.postNorms) rmsnorm(proj, proj, b.post_ffw_norm, nTok, c.nEmbd, c.normEps);
    addInPlace(x, proj, x.length);
  }
  return { x, scratchBytes };
}

/** Final norm, head matmul, output bias and final soft-cap: logits of the last row, or of every row if `all`. */
export function runHead<W>(config: LlamaConfig, matmul: MatmulFn<W>, hidden: Float32Array, nTok: number, all: boolean,
  norm: Float32Array, out: W, bias: Float32Array | undefined): Float32Array {
  const c = config;
  const first = all ? 0 : nTok - 1;
  const rows = nTok - first;
  const x = hidden.subarray(first * c.nEmbd, nTok * c.nEmbd);
  const xn = new Float32Array(rows * c.nEmbd);
  rmsnorm(xn, x, norm, rows, c.nEmbd, c.normEps);
  const logits = new Float32Array(rows * c.nVocab);
  matmul(logits, xn, out, rows, c.nEmbd, c.nVocab);
  if (bias) addBias(logits, bias, rows, c.nVocab);
  if (c.family.finalSoftcap > 0) softcap(logits, logits.length, c.family.finalSoftcap);
  return logits;
}
