// TS side of shaders/ops.wgsl: one uniform layout (defined once, here), one prepare function per
// operator. Attention reads the KV cache in its stored form and lives with it in src/engine/kv.
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { prepareDispatch, type Binding, type PreparedDispatch } from '../../gpu/dispatch.ts';
import type { KernelVariant } from '../../gpu/pipelines.ts';
import type { UniformLayout } from '../../gpu/uniforms.ts';

const OPS: UniformLayout = [
  ['rows', 'u32'],
  ['n', 'u32'],
  ['in_offset', 'u32'],
  ['in_stride', 'u32'],
  ['eps', 'f32'],
  ['rope_dim', 'u32'],
  ['n_head', 'u32'],
  ['head_dim', 'u32'],
  ['pos0', 'u32'],
  ['alpha', 'f32'],
];
const OPS_ZERO = { rows: 0, n: 0, in_offset: 0, in_stride: 0, eps: 0, rope_dim: 0, n_head: 0, head_dim: 0, pos0: 0, alpha: 0 };

const WG = 64;

function opVariant(entry: string): KernelVariant {
  return { shader: 'ops', entry, overrides: { WG }, uniforms: OPS };
}

async function op(rt: GpuRuntime, entry: string, bindings: (Binding | undefined)[], values: Partial<typeof OPS_ZERO>, workgroups: number): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get(opVariant(entry));
  return prepareDispatch(rt, { pipeline, bindings, uniforms: { layout: OPS, values: { ...OPS_ZERO, ...values } }, workgroups });
}

/** out[r] = w * x[r] / rms(x[r]) for `rows` rows of n, input rows starting at float `inOffset`. */
export function rmsnorm(rt: GpuRuntime, x: GPUBuffer, w: GPUBuffer, out: GPUBuffer, rows: number, n: number, eps: number, inOffset = 0): Promise<PreparedDispatch> {
  // rmsnorm reads A but the binding is read_write in the WGSL (shared with in-place ops).
  return op(rt, 'rmsnorm', [x, w, out], { rows, n, in_offset: inOffset, in_stride: n, eps }, rows);
}

/** rows of n, in place: x[r] = w * x[r] / rms(x[r]) (per-head q/k norms; gemma's post norms). */
export function rmsnormInPlace(rt: GpuRuntime, x: GPUBuffer, w: GPUBuffer, rows: number, n: number, eps: number): Promise<PreparedDispatch> {
  return op(rt, 'rmsnorm_inplace', [x, w, undefined], { rows, n, eps }, rows);
}

/**
 * (cos, sin) for every position < nCtx and pair j < ropeDim/2, in float64 then rounded to f32;
 * angles divided by the frequency factors (rope_freqs, LongRoPE) and cos/sin times `mscale`
 * (LongRoPE's attn_factor), as the CPU backend's table (src/engine/cpu/math.ts).
 */
export function ropeTable(nCtx: number, ropeDim: number, base: number, freqScale: number, factors?: Float32Array, mscale = 1): Float32Array {
  const half = ropeDim / 2;
  const out = new Float32Array(nCtx * half * 2);
  for (let j = 0; j < half; j++) {
    const inv = Math.pow(base, (-2 * j) / ropeDim) / (factors ? factors[j]! : 1);
    for (let p = 0; p < nCtx; p++) {
      const theta = p * freqScale * inv;
      out[(p * half + j) * 2] = Math.cos(theta) * mscale;
      out[(p * half + j) * 2 + 1] = Math.sin(theta) * mscale;
    }
  }
  return out;
}

export interface RopeArgs {
  rows: number;
  nHead: number;
  headDim: number;
  ropeDim: number;
  pos0: number;
  /** ropeTable(...) for this model, on the GPU. */
  table: GPUBuffer;
  /** Float offset of the first row and the row stride (e.g. rows inside a KV cache). */
  offset?: number;
  stride?: number;
}

export function rope(rt: GpuRuntime, x: GPUBuffer, a: RopeArgs & { neox?: boolean }): Promise<PreparedDispatch> {
  const pairs = a.rows * a.nHead * (a.ropeDim / 2);
  return op(
    rt,
    a.neox ? 'rope_neox' : 'rope',
    [x, a.table, undefined],
    {
      rows: a.rows,
      in_offset: a.offset ?? 0,
      in_stride: a.stride ?? a.nHead * a.headDim,
      rope_dim: a.ropeDim,
      n_head: a.nHead,
      head_dim: a.headDim,
      pos0: a.pos0,
    },
    Math.ceil(pairs / WG),
  );
}

export function siluMul(rt: GpuRuntime, g: GPUBuffer, u: GPUBuffer, n: number): Promise<PreparedDispatch> {
  return op(rt, 'silu_mul', [g, u, undefined], { n }, Math.ceil(n / WG));
}

export function add(rt: GpuRuntime, a: GPUBuffer, b: GPUBuffer, n: number): Promise<PreparedDispatch> {
  return op(rt, 'add', [a, b, undefined], { n }, Math.ceil(n / WG));
}

export function geluMul(rt: GpuRuntime, g: GPUBuffer, u: GPUBuffer, n: number): Promise<PreparedDispatch> {
  return op(rt, 'gelu_mul', [g, u, undefined], { n }, Math.ceil(n / WG));
}

/** x[r][i] += b[i] for rows of `cols` (n floats in all). */
export function addBias(rt: GpuRuntime, x: GPUBuffer, b: GPUBuffer, n: number, cols: number): Promise<PreparedDispatch> {
  return op(rt, 'add_bias', [x, b, undefined], { n, in_stride: cols }, Math.ceil(n / WG));
}

export function scale(rt: GpuRuntime, x: GPUBuffer, n: number, alpha: number): Promise<PreparedDispatch> {
  return op(rt, 'scale', [x, undefined, undefined], { n, alpha }, Math.ceil(n / WG));
}

/** x = tanh(x / cap) * cap. */
export function softcap(rt: GpuRuntime, x: GPUBuffer, n: number, cap: number): Promise<PreparedDispatch> {
  return op(rt, 'softcap', [x, undefined, undefined], { n, alpha: cap }, Math.ceil(n / WG));
}
