// The yardsticks every other figure of the GPU lab is divided by, measured in the same run:
// - copy kernel (shaders/copy.wgsl, src/gpu): bytes read + written per second — THE copy bandwidth;
// - buffer copy (copyBufferToBuffer, the driver's own copy engine path), wall-clock over many copies;
// - a read-only kernel: bytes read per second (what a matvec could reach if it only read weights);
// - per-dispatch and per-submit costs (the fixed price of each dispatch and each decode token).
import { prepareCopy } from '../../src/gpu/kernels/copy.ts';
import { measureDispatches } from '../../src/gpu/bench/measure.ts';
import { median, timePass, type TimingMethod } from '../../src/gpu/timing.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';

export interface Rate {
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
  method: TimingMethod;
}

// A bench-only yardstick, not an engine kernel: it lives beside the benchmark so the one-file
// bundle carries it. Each thread XORs a grid-stride run of vec4<u32>; the result is stored only
// when it equals a value random data never gives, so the reads cannot be optimised away and the
// writes are (almost) nil.
const READ_WGSL = /* wgsl */ `
struct P { n_vec4: u32 }
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let threads = nwg.x * nwg.y * 256u;
  var acc = vec4<u32>(0u);
  var i = gid.x + gid.y * nwg.x * 256u;
  loop {
    if (i >= p.n_vec4) { break; }
    acc ^= src[i];
    i += threads;
  }
  let r = acc.x ^ acc.y ^ acc.z ^ acc.w;
  if (r == 0x9e3779b9u) { sink[0] = r; }
}`;

const MAX_GROUPS = 8192;

/** The copy kernel over `bytes` (src and dst each that size). */
export async function copyKernel(rt: GpuRuntime, bytes: number, iterations: number): Promise<Rate> {
  const src = rt.pool.acquire(bytes, 'bench', 'lab.copy.src');
  const dst = rt.pool.acquire(bytes, 'bench', 'lab.copy.dst');
  try {
    const d = await prepareCopy(rt, src, dst, bytes);
    const m = await measureDispatches(rt, [d], iterations, 5);
    d.release();
    return { bytes: 2 * bytes, seconds: m.seconds, bytesPerSecond: (2 * bytes) / m.seconds, method: m.method };
  } finally {
    rt.pool.destroy(src);
    rt.pool.destroy(dst);
  }
}

/** copyBufferToBuffer, `iterations` copies per submit, wall-clock (no pass to put timestamps on). */
export async function bufferCopy(rt: GpuRuntime, bytes: number, iterations: number): Promise<Rate> {
  const src = rt.pool.acquire(bytes, 'bench', 'lab.bcopy.src');
  const dst = rt.pool.acquire(bytes, 'bench', 'lab.bcopy.dst');
  try {
    const once = async (n: number) => {
      const enc = rt.device.createCommandEncoder({ label: 'lab.bcopy' });
      for (let i = 0; i < n; i++) enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
      const t0 = performance.now();
      await rt.submit([enc.finish()]);
      return (performance.now() - t0) / 1000 / n;
    };
    await once(1);
    const times: number[] = [];
    for (let r = 0; r < 5; r++) times.push(await once(iterations));
    const seconds = median(times);
    return { bytes: 2 * bytes, seconds, bytesPerSecond: (2 * bytes) / seconds, method: 'wall-clock' };
  } finally {
    rt.pool.destroy(src);
    rt.pool.destroy(dst);
  }
}

/** The read-only kernel: bytes read per second. */
export async function readKernel(rt: GpuRuntime, bytes: number, iterations: number): Promise<Rate> {
  const src = rt.pool.acquire(bytes, 'bench', 'lab.read.src');
  const sink = rt.pool.acquire(16, 'bench', 'lab.read.sink');
  const params = rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'lab.read.params' });
  try {
    const n = bytes / 16;
    rt.device.queue.writeBuffer(params, 0, new Uint32Array([n, 0, 0, 0]));
    const module = rt.device.createShaderModule({ code: READ_WGSL, label: 'lab.read' });
    const pipeline = await rt.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'lab.read' });
    const bg = rt.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: sink } }, { binding: 2, resource: { buffer: params } }],
    });
    const groups = Math.min(MAX_GROUPS, Math.ceil(n / 256));
    // Encoded by hand (not a PreparedDispatch): this pipeline is not one of the engine's kernels.
    const encode = (p: GPUComputePassEncoder) => {
      p.setPipeline(pipeline);
      p.setBindGroup(0, bg);
      p.dispatchWorkgroups(groups);
    };
    const m = await medianPass(rt, encode, iterations);
    return { bytes, seconds: m.seconds, bytesPerSecond: bytes / m.seconds, method: m.method };
  } finally {
    rt.pool.destroy(src);
    rt.pool.destroy(sink);
    params.destroy();
  }
}

/** Warm up, then the median of 5 timed passes of `iterations` encodes (seconds per encode). */
async function medianPass(rt: GpuRuntime, encode: (p: GPUComputePassEncoder) => void, iterations: number): Promise<{ seconds: number; method: TimingMethod }> {
  await timePass(rt, encode, 1);
  const times: number[] = [];
  let method: TimingMethod = 'wall-clock';
  for (let r = 0; r < 5; r++) {
    const t = await timePass(rt, encode, iterations);
    times.push(t.seconds);
    method = t.method;
  }
  return { seconds: median(times), method };
}

export interface Overheads {
  /** GPU time per dispatch of a one-workgroup kernel, back to back in one pass. */
  emptyDispatchSeconds: number;
  dispatchMethod: TimingMethod;
  dispatchesTimed: number;
  /** Wall-clock of submit + onSubmittedWorkDone for an empty command buffer (median). */
  submitWaitSeconds: number;
  /** Wall-clock of reading `readbackBytes` back (a decode token reads its logits). */
  readbackSeconds: number;
  readbackBytes: number;
}

export async function overheads(rt: GpuRuntime, dispatches: number, readbackBytes: number): Promise<Overheads> {
  const a = rt.pool.acquire(16, 'bench', 'lab.empty.a');
  const b = rt.pool.acquire(16, 'bench', 'lab.empty.b');
  const back = rt.pool.acquire(readbackBytes, 'bench', 'lab.readback');
  try {
    const d = await prepareCopy(rt, a, b, 16);
    const m = await medianPass(rt, (p) => d.encode(p), dispatches);
    d.release();
    const waits: number[] = [];
    const reads: number[] = [];
    for (let r = 0; r < 21; r++) {
      let t0 = performance.now();
      await rt.submit([rt.device.createCommandEncoder().finish()]);
      waits.push((performance.now() - t0) / 1000);
      t0 = performance.now();
      await rt.read(back, readbackBytes);
      reads.push((performance.now() - t0) / 1000);
    }
    return {
      emptyDispatchSeconds: m.seconds, dispatchMethod: m.method, dispatchesTimed: dispatches,
      submitWaitSeconds: median(waits), readbackSeconds: median(reads), readbackBytes,
    };
  } finally {
    rt.pool.destroy(a);
    rt.pool.destroy(b);
    rt.pool.destroy(back);
  }
}
