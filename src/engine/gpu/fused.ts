// Fused quantized matvec/matmul dispatches for the decode graph (shaders/mm_q.wgsl, flags NORM,
// ROUTE, GLU, GELU, ADD; issue 19): each removes a dispatch and an activation round trip and does
// the same f32 operations as the unfused ops it replaces, in the same order.
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { combineDispatches, prepareDispatch, type Binding, type PreparedDispatch } from '../../gpu/dispatch.ts';
import type { KernelVariant } from '../../gpu/pipelines.ts';
import type { UniformLayout } from '../../gpu/uniforms.ts';
import { lanesFor, quantVariant, MATMUL_TILE, type QuantKernelOptions } from '../../gpu/kernels/matmul-q.ts';
import type { QuantChunk, QuantTensor } from '../../gpu/kernels/quant-tensor.ts';

/** mm_q's Params plus the fused variants' fields (the struct is generated from this list). */
const FUSED: UniformLayout = [
  ['rows', 'u32'], ['cols', 'u32'], ['x_offset', 'u32'], ['y_offset', 'u32'], ['n_tok', 'u32'], ['x_stride', 'u32'], ['y_stride', 'u32'],
  ['split1', 'u32'], ['split2', 'u32'], ['stride1', 'u32'], ['stride2', 'u32'], ['glu_rows', 'u32'], ['eps', 'f32'],
];
const NO_SPLIT = 0xffffffff;

/** Where a concatenated tensor's rows go: consecutive row ranges to their own buffers (2 or 3). */
export interface RouteOut {
  buffer: GPUBuffer;
  rows: number;
}

export interface FusedMatvecOptions {
  /** NORM: x is the raw row; y = W (norm * x / rms(x)) as rmsnorm then matvec. */
  norm?: { weight: GPUBuffer; eps: number };
  /** ROUTE: w's rows are these outputs' rows concatenated (y is ignored). */
  route?: readonly RouteOut[];
  /** GLU: w is gate | up (2n rows, one binding): y[r] = act(gate_r x) * (up_r x), n rows. */
  glu?: 'silu' | 'gelu';
  /** ADD: y += W x (the residual add). */
  add?: boolean;
  /** Float offset of x's row in its buffer. */
  xOffset?: number;
  /** Variant choices (subgroups, f16, lanes) as for the plain kernels; defaults by device. */
  kernel?: QuantKernelOptions;
}

/** A 16-byte buffer per device bound as an unused route target (writable bindings may not alias). */
const spare = new WeakMap<GPUDevice, GPUBuffer>();
function spareBuffer(rt: GpuRuntime): GPUBuffer {
  let b = spare.get(rt.device);
  if (!b) {
    b = rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'route.spare' });
    spare.set(rt.device, b);
  }
  return b;
}

export function fusedVariant(rt: GpuRuntime, type: number, entry: 'matvec' | 'matmul', flags: string[], k: QuantKernelOptions = {}): KernelVariant {
  if (k.workgroupSize !== undefined && k.workgroupSize !== 64) throw new RangeError('the fused kernels run with 64 threads (NORM matches rmsnorm\'s order)');
  const v = quantVariant(rt, type, entry, k);
  return { ...v, flags: [...(v.flags ?? []), ...flags], uniforms: FUSED };
}

function routeFields(route: readonly RouteOut[] | undefined, nTok: number): { bufs: (GPUBuffer | undefined)[]; values: Record<string, number> } {
  if (!route) return { bufs: [undefined, undefined], values: { split1: NO_SPLIT, split2: NO_SPLIT, stride1: 0, stride2: 0 } };
  if (route.length < 2 || route.length > 3) throw new RangeError(`a routed matvec writes 2 or 3 outputs, not ${route.length}`);
  const [a, b, c] = route;
  const split1 = a!.rows;
  const split2 = c ? split1 + b!.rows : NO_SPLIT;
  return {
    bufs: [b!.buffer, c?.buffer],
    values: { split1, split2, stride1: nTok > 1 ? b!.rows : 0, stride2: nTok > 1 && c ? c.rows : 0 },
  };
}

function perChunk(rt: GpuRuntime, pipeline: GPUComputePipeline, w: QuantTensor, bindings: (c: QuantChunk) => (Binding | undefined)[], values: (c: QuantChunk) => Record<string, number>, workgroups: (c: QuantChunk) => number): PreparedDispatch {
  const parts = w.chunks.map((c) => prepareDispatch(rt, { pipeline, bindings: bindings(c), uniformBinding: 3, uniforms: { layout: FUSED, values: values(c) }, workgroups: workgroups(c) }));
  return combineDispatches(pipeline, parts);
}

/** Widest row the NORM variant stages in workgroup memory (XS in mm_q.wgsl). */
export const NORM_CACHE_COLS = 2048;

/** The flags a fused matvec over rows of `cols` needs (also its pipeline's identity). */
export function fusedFlags(o: FusedMatvecOptions, cols: number): string[] {
  const f: string[] = [];
  if (o.norm) f.push('NORM', cols <= NORM_CACHE_COLS ? 'XCACHE' : 'NORM_WIDE');
  if (o.route) f.push('ROUTE');
  if (o.glu) f.push('GLU');
  if (o.glu === 'gelu') f.push('GELU');
  if (o.add) f.push('ADD');
  return f;
}

/** One token: y = W x with the fusions in `o` (one dispatch per binding chunk of w). */
export async function prepareFusedMatvec(rt: GpuRuntime, w: QuantTensor, x: GPUBuffer, y: GPUBuffer | undefined, o: FusedMatvecOptions): Promise<PreparedDispatch> {
  if (o.glu && w.chunks.length !== 1) throw new RangeError('a GLU matvec needs gate | up in one binding (rows r and r + n together)');
  if (o.glu && (o.route || o.add)) throw new RangeError('GLU is not combined with ROUTE or ADD');
  if (o.glu && w.rows % 2 !== 0) throw new RangeError(`gate | up has an odd row count ${w.rows}`);
  const pipeline = await rt.pipelines.get(fusedVariant(rt, w.type, 'matvec', fusedFlags(o, w.cols), o.kernel));
  const rpw = 64 / lanesFor(rt, o.kernel);
  const r = routeFields(o.route, 1);
  const out = o.route ? o.route[0]!.buffer : y;
  if (!out) throw new RangeError('a matvec needs an output');
  const spareB = spareBuffer(rt);
  const outRows = o.glu ? w.rows / 2 : w.rows;
  return perChunk(
    rt, pipeline, w,
    (c) => [c.buffer, x, out, undefined, o.norm?.weight, ...(o.route ? [r.bufs[0], r.bufs[1] ?? spareB] : [])],
    (c) => ({
      rows: o.glu ? outRows : c.rows, cols: w.cols, x_offset: o.xOffset ?? 0, y_offset: c.row0, n_tok: 1, x_stride: 0, y_stride: 0,
      ...r.values, glu_rows: o.glu ? outRows : 0, eps: o.norm?.eps ?? 0,
    }),
    (c) => Math.ceil((o.glu ? outRows : c.rows) / rpw),
  );
}

/** nTok tokens (prefill): a concatenated tensor's matmul written to its parts' own buffers. */
export async function prepareRoutedMatmul(rt: GpuRuntime, w: QuantTensor, x: GPUBuffer, nTok: number, route: readonly RouteOut[], k: QuantKernelOptions = {}): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get(fusedVariant(rt, w.type, 'matmul', ['ROUTE'], k));
  const rpw = 64 / lanesFor(rt, k);
  const r = routeFields(route, nTok);
  const spareB = spareBuffer(rt);
  const tiles = Math.ceil(nTok / MATMUL_TILE);
  return perChunk(
    rt, pipeline, w,
    (c) => [c.buffer, x, route[0]!.buffer, undefined, undefined, r.bufs[0], r.bufs[1] ?? spareB],
    (c) => ({ rows: c.rows, cols: w.cols, x_offset: 0, y_offset: c.row0, n_tok: nTok, x_stride: w.cols, y_stride: route[0]!.rows, ...r.values, glu_rows: 0, eps: 0 }),
    (c) => Math.ceil(c.rows / rpw) * tiles,
  );
}
