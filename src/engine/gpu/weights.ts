// Upload a model's tensors to the GPU, one tensor (or binding chunk) at a time, straight from
// a RangeSource: the JS heap holds at most one chunk, never the file. Matrices stay in their GGUF
// block layout; types without a GPU kernel (e.g. Q5_K) are dequantized on the CPU to F32 once.
import type { GgufFile, GgufTensorInfo } from '../../formats/gguf-types.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { packHeadParams, type HeadParams } from './head-prep.ts';
import { GPU_BLOCK_TYPES, uploadQuantTensor, type QuantTensor } from '../../gpu/kernels/quant-tensor.ts';
import { dequantize } from '../../quant/dequantize.ts';
import type { LlamaConfig } from '../backend.ts';
import { ModelTensorError } from '../errors.ts';
import { ropeFactorTensor } from '../family.ts';
import { fusedRows } from '../weights.ts';

/** Q, K and V as three tensors, or (fuse, one GGUF type) one tensor of their rows, q | k | v. */
export type AttnMatrices = { q: QuantTensor; k: QuantTensor; v: QuantTensor } | { qkv: QuantTensor };
/** Gate and up as two tensors, or (fuse, one GGUF type) one tensor of their rows, gate | up. */
export type FfnMatrices = { gate: QuantTensor; up: QuantTensor } | { gateUp: QuantTensor };

export interface LayerWeights {
  attnNorm: GPUBuffer;
  attn: AttnMatrices;
  /** q/k/v biases (qwen2), per-head q/k norms (qwen3, gemma3), output bias, post norms (gemma). */
  qBias?: GPUBuffer;
  kBias?: GPUBuffer;
  vBias?: GPUBuffer;
  qNorm?: GPUBuffer;
  kNorm?: GPUBuffer;
  /** The biases and q/k norms side by side for shaders/head_prep.wgsl (when fusing, instead of the five above). */
  headParams?: HeadParams;
  o: QuantTensor;
  oBias?: GPUBuffer;
  postAttnNorm?: GPUBuffer;
  ffnNorm: GPUBuffer;
  ffn: FfnMatrices;
  down: QuantTensor;
  postFfnNorm?: GPUBuffer;
}

export interface ModelWeights {
  embed?: QuantTensor;
  outputNorm?: GPUBuffer;
  output?: QuantTensor;
  outputBias?: GPUBuffer;
  /** RoPE frequency factors in use (rope_freqs or LongRoPE's long/short), folded into the tables on the CPU. */
  ropeFactors?: Float32Array;
  layers: Map<number, LayerWeights>;
  /** Tensors that had no GPU kernel for their type and were widened to F32. */
  widened: string[];
}

export interface LoadOptions {
  layerRange: readonly [number, number];
  embedding: boolean;
  head: boolean;
  maxBindingBytes?: number;
  /** Hold Q/K/V and gate/up concatenated when each set shares a GGUF type (the fused kernels' layout). */
  fuse?: boolean;
  signal?: AbortSignal;
  onTensor?: (name: string, bytes: number) => void;
}

function tensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new ModelTensorError(`tensor ${name} is missing from the model`);
  return t;
}

/** Rows [row0, row0 + rows) of a matrix: fused tensors (attn_qkv, phi3's ffn_up) load as their parts. */
interface RowRange {
  row0: number;
  rows: number;
}

async function matrix(rt: GpuRuntime, src: RangeSource, t: GgufTensorInfo, widened: string[], o: LoadOptions, part?: RowRange): Promise<QuantTensor> {
  o.signal?.throwIfAborted();
  const cols = t.shape[0];
  const allRows = t.shape[1] ?? 1;
  const rowBytes = t.byteSize / allRows;
  const { row0, rows } = part ?? { row0: 0, rows: allRows };
  const base = t.absoluteOffset + row0 * rowBytes;
  const label = part ? `${t.name}[${row0}..${row0 + rows})` : t.name;
  o.onTensor?.(label, rows * rowBytes);
  if (gpuNative(t)) {
    return uploadQuantTensor(rt, t.type, rows, cols, (off, len) => src.read(base + off, len), { label, maxBindingBytes: o.maxBindingBytes });
  }
  // No GPU kernel for this type: dequantize on the CPU (throws a typed error for unknown types).
  widened.push(`${label} (${t.typeName})`);
  const f = dequantize(t.type, await src.read(base, rows * rowBytes), rows * cols);
  return uploadQuantTensor(rt, 0, rows, cols, (off, len) => new Uint8Array(f.buffer, off, len), { label, maxBindingBytes: o.maxBindingBytes });
}

/** Whether a matrix of this type and width uploads as is (not widened to F32). */
function gpuNative(t: GgufTensorInfo): boolean {
  return t.type in GPU_BLOCK_TYPES && (t.type > 1 || t.shape[0] % 4 === 0);
}

/**
 * Matrices of one type and width as one tensor of their rows in order (q | k | v, gate | up),
 * read piece by piece from the file: the fused kernels route each row range to its own output.
 */
async function concatMatrix(rt: GpuRuntime, src: RangeSource, ts: GgufTensorInfo[], o: LoadOptions): Promise<QuantTensor> {
  o.signal?.throwIfAborted();
  const cols = ts[0]!.shape[0];
  let start = 0;
  const parts = ts.map((t) => {
    const p = { t, start, bytes: t.byteSize };
    start += t.byteSize;
    o.onTensor?.(t.name, t.byteSize);
    return p;
  });
  const rows = ts.reduce((n, t) => n + (t.shape[1] ?? 1), 0);
  const label = ts.map((t) => t.name).join('|');
  return uploadQuantTensor(rt, ts[0]!.type, rows, cols, async (off, len) => {
    const out = new Uint8Array(len);
    for (const p of parts) {
      const a = Math.max(off, p.start);
      const z = Math.min(off + len, p.start + p.bytes);
      if (a < z) out.set(await src.read(p.t.absoluteOffset + a - p.start, z - a), a - off);
    }
    return out;
  }, { label, maxBindingBytes: o.maxBindingBytes });
}

/** Concatenate when the fused layout applies (fuse on, one native type, one width), else undefined. */
async function maybeConcat(rt: GpuRuntime, src: RangeSource, ts: GgufTensorInfo[], o: LoadOptions): Promise<QuantTensor | undefined> {
  if (!o.fuse) return undefined;
  const t0 = ts[0]!;
  if (!ts.every((t) => gpuNative(t) && t.type === t0.type && t.shape[0] === t0.shape[0])) return undefined;
  return concatMatrix(rt, src, ts, o);
}

async function floats(src: RangeSource, t: GgufTensorInfo): Promise<Float32Array> {
  return dequantize(t.type, await src.read(t.absoluteOffset, t.byteSize), t.nElements);
}

async function vector(rt: GpuRuntime, src: RangeSource, t: GgufTensorInfo): Promise<GPUBuffer> {
  return rt.pool.upload(await floats(src, t), 'weights', t.name);
}

async function loadLayer(rt: GpuRuntime, file: GgufFile, src: RangeSource, cfg: LlamaConfig, i: number, widened: string[], o: LoadOptions): Promise<LayerWeights> {
  const f = cfg.family;
  const n = (s: string) => tensor(file, `blk.${i}.${s.includes('.') ? s : `${s}.weight`}`);
  const vec = (s: string) => vector(rt, src, n(s));
  const opt = (on: boolean, s: string) => (on ? vec(s) : Promise.resolve(undefined));
  const mat = (s: string, part?: RowRange) => matrix(rt, src, n(s), widened, o, part);
  const fr = fusedRows(cfg);
  const loadFfn = async (): Promise<FfnMatrices> => {
    // phi3's ffn_up already is gate | up.
    if (f.fusedGateUp) return o.fuse && gpuNative(n('ffn_up')) ? { gateUp: await mat('ffn_up') } : { gate: await part('ffn_up', 'ffn_gate'), up: await part('ffn_up', 'ffn_up') };
    const gateUp = await maybeConcat(rt, src, [n('ffn_gate'), n('ffn_up')], o);
    return gateUp ? { gateUp } : { gate: await mat('ffn_gate'), up: await mat('ffn_up') };
  };
  // A fused tensor's parts upload as row ranges of it (no copy of the whole on the CPU).
  const part = (fused: string, role: keyof typeof fr) => mat(fused, { row0: fr[role][0], rows: fr[role][1] - fr[role][0] });
  const attnNorm = await vec('attn_norm');
  let attn: AttnMatrices;
  if (f.fusedQkv) {
    // phi3's attn_qkv already is q | k | v: whole when fusing, as its row ranges otherwise.
    attn = o.fuse && gpuNative(n('attn_qkv')) ? { qkv: await mat('attn_qkv') } : { q: await part('attn_qkv', 'attn_q'), k: await part('attn_qkv', 'attn_k'), v: await part('attn_qkv', 'attn_v') };
  } else {
    const qkv = await maybeConcat(rt, src, [n('attn_q'), n('attn_k'), n('attn_v')], o);
    attn = qkv ? { qkv } : { q: await mat('attn_q'), k: await mat('attn_k'), v: await mat('attn_v') };
  }
  // The per-head parts: side by side for head_prep when fusing, else their own buffers for the unfused ops.
  const optF = (on: boolean, s: string) => (on ? floats(src, n(s)) : Promise.resolve(undefined));
  const heads = {
    qBias: await optF(f.qkvBias, 'attn_q.bias'),
    kBias: await optF(f.qkvBias, 'attn_k.bias'),
    vBias: await optF(f.qkvBias, 'attn_v.bias'),
    qNorm: await optF(f.qkNorm, 'attn_q_norm'),
    kNorm: await optF(f.qkNorm, 'attn_k_norm'),
  };
  const up = (v: Float32Array | undefined, s: string) => (v ? rt.pool.upload(v, 'weights', n(s).name) : undefined);
  const L: LayerWeights = {
    attnNorm, attn,
    ...(o.fuse
      ? { headParams: packHeadParams(rt, heads, `blk.${i}.head_params`) }
      : {
          qBias: up(heads.qBias, 'attn_q.bias'),
          kBias: up(heads.kBias, 'attn_k.bias'),
          vBias: up(heads.vBias, 'attn_v.bias'),
          qNorm: up(heads.qNorm, 'attn_q_norm'),
          kNorm: up(heads.kNorm, 'attn_k_norm'),
        }),
    o: await mat('attn_output'),
    oBias: await opt(f.oBias, 'attn_output.bias'),
    postAttnNorm: await opt(f.postNorms, 'post_attention_norm'),
    ffnNorm: await vec('ffn_norm'),
    ffn: await loadFfn(),
    down: await mat('ffn_down'),
    postFfnNorm: await opt(f.postNorms, 'post_ffw_norm'),
  };
  return L;
}

export async function loadWeights(rt: GpuRuntime, file: GgufFile, src: RangeSource, cfg: LlamaConfig, o: LoadOptions): Promise<ModelWeights> {
  const widened: string[] = [];
  const w: ModelWeights = { layers: new Map(), widened };
  if (o.embedding) w.embed = await matrix(rt, src, tensor(file, 'token_embd.weight'), widened, o);
  const factors = ropeFactorTensor(cfg);
  if (factors && o.layerRange[1] > o.layerRange[0]) w.ropeFactors = await floats(src, tensor(file, factors));
  for (let i = o.layerRange[0]; i < o.layerRange[1]; i++) w.layers.set(i, await loadLayer(rt, file, src, cfg, i, widened, o));
  if (o.head) {
    w.outputNorm = await vector(rt, src, tensor(file, 'output_norm.weight'));
    const out = cfg.tiedOutput ? 'token_embd.weight' : 'output.weight';
    // Tied head: reuse the embedding upload when this participant already holds it.
    w.output = cfg.tiedOutput && w.embed ? w.embed : await matrix(rt, src, tensor(file, out), widened, o);
    if (cfg.family.outputBias) w.outputBias = await vector(rt, src, tensor(file, 'output.bias'));
  }
  return w;
}

/** A layer's matrices, however they are held. */
export function layerMatrices(L: LayerWeights): QuantTensor[] {
  return [...Object.values(L.attn), L.o, ...Object.values(L.ffn), L.down] as QuantTensor[];
}

/** Every GPU buffer the weights hold (for dispose). */
export function weightBuffers(w: ModelWeights): GPUBuffer[] {
  const out: GPUBuffer[] = [];
  for (const m of [w.embed, w.output]) for (const c of m?.chunks ?? []) out.push(c.buffer);
  if (w.outputNorm) out.push(w.outputNorm);
  if (w.outputBias) out.push(w.outputBias);
  for (const L of w.layers.values()) {
    for (const m of layerMatrices(L)) for (const c of m.chunks) out.push(c.buffer);
    for (const v of [L.headParams?.buffer, L.attnNorm, L.qBias, L.kBias, L.vBias, L.qNorm, L.kNorm, L.oBias, L.postAttnNorm, L.ffnNorm, L.postFfnNorm]) if (v) out.push(v);
  }
  return out;
}
