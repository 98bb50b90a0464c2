// GPU timing. With `timestamp-query`, the GPU's own clock brackets one compute pass holding all
// iterations. Without it (stated in the result), wall-clock time from submit to
// onSubmittedWorkDone over the same pass, which includes submission overhead: use many iterations.
import type { GpuRuntime } from './runtime.ts';

export type TimingMethod = 'timestamp-query' | 'wall-clock';

export interface Timing {
  method: TimingMethod;
  /** Seconds per iteration. */
  seconds: number;
  iterations: number;
}

/** Run `record(pass, i)` `iterations` times in one compute pass and time it. */
export async function timePass(
  rt: GpuRuntime,
  record: (pass: GPUComputePassEncoder, i: number) => void,
  iterations: number,
  method: TimingMethod = rt.has('timestamp-query') ? 'timestamp-query' : 'wall-clock',
): Promise<Timing> {
  rt.check();
  const device = rt.device;
  const enc = device.createCommandEncoder({ label: 'timed' });
  let querySet: GPUQuerySet | undefined;
  let resolve: GPUBuffer | undefined;
  if (method === 'timestamp-query') {
    querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }
  const pass = enc.beginComputePass({
    label: 'timed',
    timestampWrites: querySet ? { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } : undefined,
  });
  for (let i = 0; i < iterations; i++) record(pass, i);
  pass.end();
  if (querySet && resolve) enc.resolveQuerySet(querySet, 0, 2, resolve, 0);
  const t0 = performance.now();
  await rt.submit([enc.finish()]);
  const wall = (performance.now() - t0) / 1000;
  if (!querySet || !resolve) return { method, seconds: wall / iterations, iterations };
  const ts = new BigUint64Array(await rt.read(resolve, 16));
  querySet.destroy();
  resolve.destroy();
  const ns = Number(ts[1] - ts[0]);
  // Some adapters quantise or zero timestamps; fall back to wall clock rather than report nonsense.
  if (!(ns > 0)) return { method: 'wall-clock', seconds: wall / iterations, iterations };
  return { method, seconds: ns / 1e9 / iterations, iterations };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
