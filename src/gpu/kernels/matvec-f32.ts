// f32 matvec y = W x on the GPU, and its CPU reference.
import type { GpuRuntime } from '../runtime.ts';
import { prepareDispatch, type PreparedDispatch } from '../dispatch.ts';
import type { KernelVariant } from '../pipelines.ts';
import type { UniformLayout } from '../uniforms.ts';

const PARAMS: UniformLayout = [
  ['rows', 'u32'],
  ['cols', 'u32'],
];

export interface MatvecOptions {
  /** Use the subgroup reduction when the device has `subgroups` (default: when available). */
  subgroups?: boolean;
  workgroupSize?: number;
}

export function matvecF32Variant(rt: GpuRuntime, opts: MatvecOptions = {}): KernelVariant {
  const sub = (opts.subgroups ?? true) && rt.has('subgroups');
  return { shader: 'matvec_f32', overrides: { WG: opts.workgroupSize ?? 64 }, flags: sub ? ['SUBGROUPS'] : [], uniforms: PARAMS };
}

export async function prepareMatvecF32(
  rt: GpuRuntime,
  w: GPUBuffer,
  x: GPUBuffer,
  y: GPUBuffer,
  rows: number,
  cols: number,
  opts: MatvecOptions = {},
): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get(matvecF32Variant(rt, opts));
  return prepareDispatch(rt, { pipeline, bindings: [w, x, y], uniforms: { layout: PARAMS, values: { rows, cols } }, workgroups: rows });
}

/** CPU reference in float64; also returns sum |w*x| per row for a relative error bound. */
export function matvecF32Reference(w: Float32Array, x: Float32Array, rows: number, cols: number): { y: Float64Array; mag: Float64Array } {
  const y = new Float64Array(rows);
  const mag = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let m = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const p = w[base + c] * x[c];
      s += p;
      m += Math.abs(p);
    }
    y[r] = s;
    mag[r] = m;
  }
  return { y, mag };
}
