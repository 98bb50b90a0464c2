// The measurement core shared by every kernel benchmark: warm up, then the median of `repeats`
// timed passes of `iterations` dispatches (rotating through `ds` so several copies of a tensor
// can exceed the caches). Environment-agnostic: it needs only a GpuRuntime.
import type { PreparedDispatch } from '../dispatch.ts';
import type { GpuRuntime } from '../runtime.ts';
import { median, timePass, type TimingMethod } from '../timing.ts';

export interface Measured {
  /** Seconds per dispatch (median over repeats). */
  seconds: number;
  method: TimingMethod;
}

export async function measureDispatches(rt: GpuRuntime, ds: PreparedDispatch[], iterations: number, repeats: number): Promise<Measured> {
  await timePass(rt, (p, i) => ds[i % ds.length]!.encode(p), ds.length); // warm-up: pipelines, first touch
  const times: number[] = [];
  let method: TimingMethod = 'wall-clock';
  for (let r = 0; r < repeats; r++) {
    const t = await timePass(rt, (p, i) => ds[i % ds.length]!.encode(p), iterations);
    times.push(t.seconds);
    method = t.method;
  }
  return { seconds: median(times), method };
}

/** Progress lines for a console or a page. */
export type BenchLog = (line: string) => void;
