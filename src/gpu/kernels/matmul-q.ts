// Quantized matvec (decode) and matmul (prefill) dispatches over a QuantTensor, one dispatch per
// binding chunk. The WGSL is shaders/mm_q.wgsl with the block file for the tensor's type.
import type { GpuRuntime } from '../runtime.ts';
import { combineDispatches, prepareDispatch, type PreparedDispatch } from '../dispatch.ts';
import type { KernelVariant } from '../pipelines.ts';
import type { UniformLayout } from '../uniforms.ts';
import { gpuBlockType, type QuantChunk, type QuantTensor } from './quant-tensor.ts';

const PARAMS = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['x_offset', 'u32'],
  ['y_offset', 'u32'],
  ['n_tok', 'u32'],
  ['x_stride', 'u32'],
  ['y_stride', 'u32'],
] as const satisfies UniformLayout;
/** Tokens per matmul workgroup; must equal TT in mm_q.wgsl. */
export const MATMUL_TILE = 4;

export interface QuantKernelOptions {
  /** Use subgroupAdd for the reduction when the device has `subgroups` (default true). */
  subgroups?: boolean;
  /** Use the f16 variant when the device has `shader-f16` (default true; false for A/B runs). */
  f16?: boolean;
  workgroupSize?: number;
  /** matvec/matmul: threads per output row (power of two dividing the workgroup size); default by adapter, see lanesFor. */
  lanes?: number;
}

/**
 * Threads per row for matvec (LANES in mm_q.wgsl): the whole workgroup on a GPU; 4 on an adapter
 * that runs shaders on the CPU (SwiftShader, lavapipe), where each workgroup costs tens of
 * microseconds and one row per workgroup made a 2048x2048 matvec 5-10x slower than 16 rows each.
 */
export function lanesFor(rt: GpuRuntime, opts: QuantKernelOptions = {}): number {
  const wg = opts.workgroupSize ?? 64;
  const lanes = opts.lanes ?? (cpuAdapter(rt) ? Math.min(4, wg) : wg);
  if (!(lanes >= 1 && lanes <= wg && wg % lanes === 0 && (lanes & (lanes - 1)) === 0)) {
    throw new RangeError(`lanes ${lanes} must be a power of two dividing the workgroup size ${wg}`);
  }
  return lanes;
}

/** Output rows one workgroup owns: WG / LANES. */
function rowsPerWorkgroup(rt: GpuRuntime, opts: QuantKernelOptions): number {
  return (opts.workgroupSize ?? 64) / lanesFor(rt, opts);
}

/** The adapter's names in one string, for matching by name. */
function adapterNames(rt: GpuRuntime): string {
  const a = rt.report.adapter;
  return a ? `${a.vendor} ${a.architecture} ${a.device ?? ''} ${a.description}` : '';
}

/** SwiftShader (Chromium's and Dawn's CPU adapter), by name: see GpuBackendOptions.fuseNorm. */
export function swiftShader(rt: GpuRuntime): boolean {
  return /swiftshader/i.test(adapterNames(rt));
}

/** Whether the adapter runs shaders on the CPU (SwiftShader, lavapipe): kernels pick other shapes there. */
export function cpuAdapter(rt: GpuRuntime): boolean {
  return rt.report.adapter?.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(adapterNames(rt));
}

/** GGUF type 0: F32 weights are kept exact on purpose, so they never take the f16 variant. */
const F32_TYPE = 0;

/** Whether the f16 variant serves `type`/`entry` on this device (see mm_q.wgsl, SHADER_F16). */
export function usesF16(rt: GpuRuntime, type: number, entry: 'matvec' | 'matmul' | 'get_rows', opts: QuantKernelOptions = {}): boolean {
  // get_rows only copies dequantized weights out (no dot product to speed up), in f32.
  return (opts.f16 ?? true) && rt.report.enabled.shaderF16 && entry !== 'get_rows' && type !== F32_TYPE;
}

export function quantVariant(rt: GpuRuntime, type: number, entry: 'matvec' | 'matmul' | 'get_rows', opts: QuantKernelOptions = {}): KernelVariant {
  const flags: string[] = [gpuBlockType(type).flag];
  if ((opts.subgroups ?? true) && rt.has('subgroups')) flags.push('SUBGROUPS');
  if (usesF16(rt, type, entry, opts)) flags.push('SHADER_F16');
  const overrides: Record<string, number> = { WG: opts.workgroupSize ?? 64 };
  if (entry !== 'get_rows') overrides.LANES = lanesFor(rt, opts);
  return { shader: 'mm_q', entry, overrides, flags, uniforms: PARAMS };
}

type ChunkValues = Record<(typeof PARAMS)[number][0], number>;

/** One dispatch per binding chunk of `w`, all encoded together; `values` gives each chunk's uniforms. */
function perChunk(
  rt: GpuRuntime,
  pipeline: GPUComputePipeline,
  w: QuantTensor,
  x: GPUBuffer,
  y: GPUBuffer,
  values: (c: QuantChunk) => ChunkValues,
  workgroups: (c: QuantChunk) => number,
): PreparedDispatch {
  const parts = w.chunks.map((c) =>
    prepareDispatch(rt, { pipeline, bindings: [c.buffer, x, y], uniforms: { layout: PARAMS, values: values(c) }, workgroups: workgroups(c) }),
  );
  return combineDispatches(pipeline, parts);
}

/** y[yOffset + r] = sum_c W[r][c] x[xOffset + c] for every row r of the tensor. */
export async function prepareMatvecQ(
  rt: GpuRuntime,
  w: QuantTensor,
  x: GPUBuffer,
  y: GPUBuffer,
  opts: QuantKernelOptions & { xOffset?: number; yOffset?: number } = {},
): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get(quantVariant(rt, w.type, 'matvec', opts));
  const rowsPerWg = rowsPerWorkgroup(rt, opts);
  return perChunk(
    rt, pipeline, w, x, y,
    (c) => ({ rows: c.rows, cols: w.cols, x_offset: opts.xOffset ?? 0, y_offset: (opts.yOffset ?? 0) + c.row0, n_tok: 1, x_stride: 0, y_stride: 0 }),
    (c) => Math.ceil(c.rows / rowsPerWg),
  );
}

/** Y[t][yOffset + r] = sum_c W[r][c] X[t][xOffset + c] for t < nTok (strides in floats). */
export async function prepareMatmulQ(
  rt: GpuRuntime,
  w: QuantTensor,
  x: GPUBuffer,
  y: GPUBuffer,
  nTok: number,
  opts: QuantKernelOptions & { xOffset?: number; yOffset?: number; xStride?: number; yStride?: number } = {},
): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get(quantVariant(rt, w.type, 'matmul', opts));
  const tiles = Math.ceil(nTok / MATMUL_TILE);
  const rowsPerWg = rowsPerWorkgroup(rt, opts);
  return perChunk(
    rt, pipeline, w, x, y,
    (c) => ({
      rows: c.rows,
      cols: w.cols,
      x_offset: opts.xOffset ?? 0,
      y_offset: (opts.yOffset ?? 0) + c.row0,
      n_tok: nTok,
      x_stride: opts.xStride ?? w.cols,
      y_stride: opts.yStride ?? w.rows,
    }),
    (c) => Math.ceil(c.rows / rowsPerWg) * tiles,
  );
}

/** Y[t][:] = W[tokens[t]][:] (dequantized); `tokens` is a u32 buffer of nTok ids. */
export async function prepareGetRows(rt: GpuRuntime, w: QuantTensor, tokens: GPUBuffer, y: GPUBuffer, nTok: number, opts: QuantKernelOptions = {}): Promise<PreparedDispatch> {
  // No reduction here, so no subgroup variant. y_offset names the chunk's first row (see mm_q.wgsl).
  const pipeline = await rt.pipelines.get(quantVariant(rt, w.type, 'get_rows', { ...opts, subgroups: false }));
  return perChunk(
    rt, pipeline, w, tokens, y,
    (c) => ({ rows: c.rows, cols: w.cols, x_offset: 0, y_offset: c.row0, n_tok: nTok, x_stride: 0, y_stride: w.cols }),
    () => nTok,
  );
}
