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
  /** The uniform's binding number (default: bindings.length, right after the storage bindings). */
  uniformBinding?: number;
  /** Total workgroups; split into a 2-D grid when larger than the per-dimension limit. */
  workgroups: number;
}

/** A dispatch with its bind group built once, to be encoded any number of times. */
export interface PreparedDispatch {
  /** The pipeline it sets (to count pipeline switches in a pass). */
  readonly pipeline: GPUComputePipeline;
  /** Dispatches it encodes (a tensor split across bindings takes one per chunk), each with its own bind group. */
  readonly dispatches: number;
  /** Uniform buffers preparing it created and wrote (0 inside a DispatchFrame: the frame writes once). */
  readonly uniformWrites: number;
  /** Bind groups preparing it created (0 when a DispatchFrame had them from an earlier call). */
  readonly bindGroups: number;
  encode(pass: GPUComputePassEncoder): void;
  /** Free the uniform buffer (storage buffers belong to the caller). */
  release(): void;
}

/** Dispatches of one pipeline encoded together (a tensor split into chunks), counted as their sum. */
export function combineDispatches(pipeline: GPUComputePipeline, parts: readonly PreparedDispatch[]): PreparedDispatch {
  return {
    pipeline,
    dispatches: parts.length,
    uniformWrites: parts.reduce((n, p) => n + p.uniformWrites, 0),
    bindGroups: parts.reduce((n, p) => n + p.bindGroups, 0),
    encode(pass) {
      for (const p of parts) p.encode(pass);
    },
    release() {
      for (const p of parts) p.release();
    },
  };
}

export function grid(total: number, maxPerDim: number): [number, number] {
  if (total <= maxPerDim) return [Math.max(1, total), 1];
  const y = Math.ceil(total / maxPerDim);
  return [Math.ceil(total / y), y];
}

export function prepareDispatch(rt: GpuRuntime, spec: DispatchSpec): PreparedDispatch {
  rt.check();
  const entries: GPUBindGroupEntry[] = [];
  spec.bindings.forEach((b, i) => {
    if (b) entries.push({ binding: i, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
  });
  const uBinding = spec.uniformBinding ?? spec.bindings.length;
  const data = spec.uniforms ? packUniforms(spec.uniforms.layout, spec.uniforms.values) : undefined;
  const [x, y] = grid(spec.workgroups, rt.limits.maxComputeWorkgroupsPerDimension);
  const frame = (rt as FramedRuntime).frame;
  if (frame) {
    const { bindGroup, created } = frame.bind(spec.pipeline, spec.bindings, entries, uBinding, data);
    return {
      pipeline: spec.pipeline,
      dispatches: 1,
      uniformWrites: 0,
      bindGroups: created ? 1 : 0,
      encode(pass) {
        pass.setPipeline(spec.pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(x, y);
      },
      release() {},
    };
  }
  let uniform: GPUBuffer | undefined;
  if (data) {
    uniform = rt.device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'params' });
    rt.device.queue.writeBuffer(uniform, 0, data);
    entries.push({ binding: uBinding, resource: { buffer: uniform } });
  }
  const bindGroup = rt.device.createBindGroup({ layout: spec.pipeline.getBindGroupLayout(0), entries, label: spec.pipeline.label });
  return {
    pipeline: spec.pipeline,
    dispatches: 1,
    uniformWrites: uniform ? 1 : 0,
    bindGroups: 1,
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

/** A runtime seen through a frame: prepare functions given it bind through the frame (see DispatchFrame). */
export type FramedRuntime = GpuRuntime & { readonly frame?: DispatchFrame };

/**
 * Bind groups and uniforms that outlive one forward pass. Every dispatch prepared through
 * `frame.runtime` gets a 256-byte slot of one uniform buffer and a bind group that is kept, keyed
 * by (pipeline, bindings, how many times that pair came earlier in this frame): the next token's
 * identical graph finds all of them, so a decode token creates no bind group, and its uniforms
 * (positions change, nothing else) go to the GPU in one writeBuffer of the used slots at flush().
 * The key never includes the values, so prefill and decode with the same pipelines share slots.
 * Correct whatever order the prepares run in: a slot serves one dispatch per frame.
 */
export class DispatchFrame {
  /** The runtime to pass to prepare functions (a view: the kv and kernel modules need no frame argument). */
  readonly runtime: FramedRuntime;
  private readonly rt: GpuRuntime;
  private readonly align: number;
  private readonly pageSlots: number;
  private readonly slots = new Map<string, { slot: number; group: GPUBindGroup }>();
  private readonly seen = new Map<string, number>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  /**
   * Uniform pages, never reallocated (a bind group names its page, so growing one would break the
   * groups already handed out in this frame); each with a CPU mirror and its dirty slot range.
   */
  private readonly pages: { buffer: GPUBuffer; mirror: Uint8Array<ArrayBuffer>; lo: number; hi: number }[] = [];
  /** writeBuffer calls flush() made (one per page touched: one for a model up to pageSlots dispatches). */
  writes = 0;

  constructor(rt: GpuRuntime, pageSlots = 1024) {
    this.rt = rt;
    this.align = Math.max(256, rt.limits.minUniformBufferOffsetAlignment);
    this.pageSlots = pageSlots;
    this.runtime = Object.create(rt, { frame: { value: this } }) as FramedRuntime;
  }

  /** Start a pass: occurrence counts restart (slots and bind groups stay). */
  begin(): void {
    this.seen.clear();
  }

  /** Bind groups kept (one per distinct dispatch seen). */
  get size(): number {
    return this.slots.size;
  }

  private id(o: object): number {
    let i = this.ids.get(o);
    if (i === undefined) this.ids.set(o, (i = this.nextId++));
    return i;
  }

  private page(slot: number) {
    const i = Math.floor(slot / this.pageSlots);
    while (this.pages.length <= i) {
      const size = this.pageSlots * this.align;
      const buffer = this.rt.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `frame.params${this.pages.length}` });
      this.pages.push({ buffer, mirror: new Uint8Array(size), lo: Infinity, hi: -1 });
    }
    return { p: this.pages[i]!, offset: (slot % this.pageSlots) * this.align };
  }

  bind(pipeline: GPUComputePipeline, bindings: DispatchSpec['bindings'], entries: GPUBindGroupEntry[], uBinding: number, data: ArrayBuffer | undefined): { bindGroup: GPUBindGroup; created: boolean } {
    const b = bindings.map((x) => (!x ? '-' : 'buffer' in x ? `${this.id(x.buffer)}@${x.offset ?? 0}+${x.size ?? ''}` : `${this.id(x)}`));
    const base = `${this.id(pipeline)}|${b.join(',')}|${uBinding}`;
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    const key = `${base}#${n}`;
    let e = this.slots.get(key);
    let created = false;
    if (data && data.byteLength > this.align) throw new RangeError(`uniforms of ${data.byteLength} bytes exceed a frame slot of ${this.align}`);
    if (!e) {
      const slot = this.slots.size;
      const { p, offset } = this.page(slot);
      const all = data ? [...entries, { binding: uBinding, resource: { buffer: p.buffer, offset, size: data.byteLength } }] : entries;
      e = { slot, group: this.rt.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: all, label: pipeline.label }) };
      this.slots.set(key, e);
      created = true;
    }
    if (data) {
      const { p, offset } = this.page(e.slot);
      p.mirror.set(new Uint8Array(data), offset);
      p.lo = Math.min(p.lo, offset);
      p.hi = Math.max(p.hi, offset + this.align);
    }
    return { bindGroup: e.group, created };
  }

  /** Write the slots set since the last flush, one writeBuffer per page touched (before the submit). */
  flush(): void {
    for (const p of this.pages) {
      if (p.hi < 0) continue;
      this.rt.device.queue.writeBuffer(p.buffer, p.lo, p.mirror, p.lo, p.hi - p.lo);
      this.writes++;
      p.lo = Infinity;
      p.hi = -1;
    }
  }

  destroy(): void {
    for (const p of this.pages) p.buffer.destroy();
    this.pages.length = 0;
    this.slots.clear();
  }
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
