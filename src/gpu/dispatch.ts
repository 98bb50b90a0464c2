// The dispatch helper: bind buffers in binding order, write uniforms by name, and spread large
// workgroup counts over x/y so no dimension exceeds maxComputeWorkgroupsPerDimension.
import type { GpuRuntime } from './runtime.ts';
import { packUniforms, type UniformLayout } from './uniforms.ts';

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchSpec {
  pipeline: GPUComputePipeline;
  /**
   * Storage bindings 0..n-1 in order (undefined: a binding this entry point does not use, which an
   * 'auto' layout leaves out); the uniform buffer (if any) takes binding n.
   */
  bindings: readonly (Binding | undefined)[];
  uniforms?: { layout: UniformLayout; values: Record<string, number> };
  /** Total workgroups; split into a 2-D grid when larger than the per-dimension limit. */
  workgroups: number;
}

/** A dispatch with its bind group built once, to be encoded any number of times. */
export interface PreparedDispatch {
  /** The pipeline it sets (to count pipeline switches in a pass). */
  readonly pipeline: GPUComputePipeline;
  /** Dispatches it encodes (a tensor split across bindings takes one per chunk), each with its own bind group. */
  readonly dispatches: number;
  /** Uniform buffers preparing it created and wrote. */
  readonly uniformWrites: number;
  encode(pass: GPUComputePassEncoder): void;
  /** Free the uniform buffer (storage buffers belong to the caller). */
  release(): void;
}

export function grid(total: number, maxPerDim: number): [number, number] {
  if (total <= maxPerDim) return [Math.max(1, total), 1];
  const y = Math.ceil(total / maxPerDim);
  return [Math.ceil(total / y), y];
}

export function prepareDispatch(rt: GpuRuntime, spec: DispatchSpec): PreparedDispatch {
  rt.check();
  let uniform: GPUBuffer | undefined;
  const entries: GPUBindGroupEntry[] = [];
  spec.bindings.forEach((b, i) => {
    if (b) entries.push({ binding: i, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
  });
  if (spec.uniforms) {
    const data = packUniforms(spec.uniforms.layout, spec.uniforms.values);
    uniform = rt.device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'params' });
    rt.device.queue.writeBuffer(uniform, 0, data);
    entries.push({ binding: spec.bindings.length, resource: { buffer: uniform } });
  }
  const bindGroup = rt.device.createBindGroup({ layout: spec.pipeline.getBindGroupLayout(0), entries, label: spec.pipeline.label });
  const [x, y] = grid(spec.workgroups, rt.limits.maxComputeWorkgroupsPerDimension);
  return {
    pipeline: spec.pipeline,
    dispatches: 1,
    uniformWrites: uniform ? 1 : 0,
    encode(pass) {
      pass.setPipeline(spec.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y);
    },
    release() {
      uniform?.destroy();
    },
  };
}

/** Encode, submit and wait for one dispatch. */
export async function dispatch(rt: GpuRuntime, spec: DispatchSpec): Promise<void> {
  const d = prepareDispatch(rt, spec);
  const enc = rt.device.createCommandEncoder({ label: spec.pipeline.label });
  const pass = enc.beginComputePass({ label: spec.pipeline.label });
  d.encode(pass);
  pass.end();
  try {
    await rt.submit([enc.finish()]);
  } finally {
    d.release();
  }
}
