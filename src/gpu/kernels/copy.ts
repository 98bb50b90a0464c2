// The copy kernel (bandwidth yardstick) and its CPU reference.
import type { GpuRuntime } from '../runtime.ts';
import { prepareDispatch, type PreparedDispatch } from '../dispatch.ts';
import type { KernelVariant } from '../pipelines.ts';
import type { UniformLayout } from '../uniforms.ts';

const PARAMS: UniformLayout = [['n_vec4', 'u32']];
const WG = 256;
/** Enough workgroups to fill any GPU; the grid-stride loop covers the rest. */
const MAX_GROUPS = 8192;

export function copyVariant(): KernelVariant {
  return { shader: 'copy', overrides: { WG }, uniforms: PARAMS };
}

/** Prepare a copy of `bytes` (a multiple of 16) from src to dst. */
export async function prepareCopy(rt: GpuRuntime, src: GPUBuffer, dst: GPUBuffer, bytes: number): Promise<PreparedDispatch> {
  if (bytes % 16 !== 0) throw new RangeError(`copy size ${bytes} is not a multiple of 16`);
  const n = bytes / 16;
  const pipeline = await rt.pipelines.get(copyVariant());
  return prepareDispatch(rt, {
    pipeline,
    bindings: [src, dst],
    uniforms: { layout: PARAMS, values: { n_vec4: n } },
    workgroups: Math.min(MAX_GROUPS, Math.ceil(n / WG)),
  });
}

export function copyReference(src: Uint32Array): Uint32Array {
  return src.slice();
}
