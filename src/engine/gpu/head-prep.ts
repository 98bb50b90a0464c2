// TS side of shaders/head_prep.wgsl: q, k and v made ready for attention in one dispatch (bias,
// per-head RMSNorm, RoPE, the KV mode's Hadamard rotation), and the per-layer parameter buffer it
// reads (the layer's biases and q/k norm weights side by side, offsets in the uniforms).
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { prepareDispatch, type PreparedDispatch } from '../../gpu/dispatch.ts';
import type { UniformLayout } from '../../gpu/uniforms.ts';

const WG = 64;
/** The shader's NONE: a part the layer does not have. */
const NONE = 0xffffffff;

const PREP: UniformLayout = [
  ['rows', 'u32'], ['n_head', 'u32'], ['n_head_kv', 'u32'], ['v_units', 'u32'],
  ['head_dim_k', 'u32'], ['head_dim_v', 'u32'], ['rope_dim', 'u32'], ['pos0', 'u32'],
  ['neox', 'u32'], ['eps', 'f32'], ['rotate', 'u32'], ['rot_norm_k', 'f32'], ['rot_norm_v', 'f32'],
  ['q_bias', 'u32'], ['k_bias', 'u32'], ['v_bias', 'u32'], ['q_norm', 'u32'], ['k_norm', 'u32'],
];

/** Float offsets of a layer's parts inside its parameter buffer. */
export interface HeadParamOffsets {
  qBias?: number;
  kBias?: number;
  vBias?: number;
  qNorm?: number;
  kNorm?: number;
}

export interface HeadParams extends HeadParamOffsets {
  /** Absent when the layer has none of the parts (the rope table is bound in its place). */
  buffer?: GPUBuffer;
}

/** One buffer holding whichever of the parts exist, and where each starts. */
export function packHeadParams(rt: GpuRuntime, parts: { [K in keyof HeadParamOffsets]?: Float32Array }, label: string): HeadParams {
  const out: HeadParams = {};
  const present = (Object.entries(parts) as [keyof HeadParamOffsets, Float32Array | undefined][]).filter((e): e is [keyof HeadParamOffsets, Float32Array] => e[1] !== undefined);
  if (!present.length) return out;
  const all = new Float32Array(present.reduce((n, [, v]) => n + v.length, 0));
  let at = 0;
  for (const [k, v] of present) {
    out[k] = at;
    all.set(v, at);
    at += v.length;
  }
  out.buffer = rt.pool.upload(all, 'weights', label);
  return out;
}

export interface HeadPrepArgs {
  rows: number;
  nHead: number;
  nHeadKv: number;
  headDimK: number;
  headDimV: number;
  ropeDim: number;
  neox: boolean;
  pos0: number;
  eps: number;
  /** Apply the KV mode's normalized Walsh-Hadamard rotation to every q, k and v head. */
  rotate: boolean;
}

export interface HeadPrepBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** ropeTable(...) on the GPU. */
  table: GPUBuffer;
  params: HeadParams;
}

export async function prepareHeadPrep(rt: GpuRuntime, b: HeadPrepBuffers, a: HeadPrepArgs): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get({ shader: 'head_prep', overrides: { WG }, uniforms: PREP });
  const p = b.params;
  const vUnits = p.vBias !== undefined || a.rotate ? a.nHeadKv : 0;
  const values = {
    rows: a.rows, n_head: a.nHead, n_head_kv: a.nHeadKv, v_units: vUnits,
    head_dim_k: a.headDimK, head_dim_v: a.headDimV, rope_dim: a.ropeDim, pos0: a.pos0,
    neox: a.neox ? 1 : 0, eps: a.eps, rotate: a.rotate ? 1 : 0, rot_norm_k: 1 / Math.sqrt(a.headDimK), rot_norm_v: 1 / Math.sqrt(a.headDimV),
    q_bias: p.qBias ?? NONE, k_bias: p.kBias ?? NONE, v_bias: p.vBias ?? NONE, q_norm: p.qNorm ?? NONE, k_norm: p.kNorm ?? NONE,
  };
  const bindings = [b.q, b.k, b.v, b.table, p.buffer ?? b.table];
  return prepareDispatch(rt, { pipeline, bindings, uniforms: { layout: PREP, values }, workgroups: a.rows * (a.nHead + a.nHeadKv + vUnits) });
}
