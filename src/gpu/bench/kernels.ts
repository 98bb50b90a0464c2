// Kernel bandwidth on one adapter, side by side in one run: the copy kernel (the yardstick: bytes
// read + written per second) and the f32 matvec (weight bytes per second) as a fraction of it.
// Used by the Node driver (bench/kernels.ts, Dawn) and the browser bench page alike.
import { prepareCopy } from '../kernels/copy.ts';
import { prepareMatvecF32 } from '../kernels/matvec-f32.ts';
import type { GpuRuntime } from '../runtime.ts';
import type { TimingMethod } from '../timing.ts';
import { measureDispatches, type BenchLog } from './measure.ts';

const MiB = 2 ** 20;

export interface CopyResult {
  bytes: number;
  seconds: number;
  /** Bytes read + written per second. */
  bytesPerSecond: number;
  method: TimingMethod;
}

export interface MatvecF32Row {
  rows: number;
  cols: number;
  subgroups: boolean;
  seconds: number;
  weightBytesPerSecond: number;
  fractionOfCopy: number;
  method: TimingMethod;
}

export async function benchCopy(rt: GpuRuntime, copyBytes: number, log: BenchLog = () => {}): Promise<CopyResult> {
  const src = rt.pool.acquire(copyBytes, 'bench', 'copy.src');
  const dst = rt.pool.acquire(copyBytes, 'bench', 'copy.dst');
  try {
    const m = await measureDispatches(rt, [await prepareCopy(rt, src, dst, copyBytes)], 4, 5);
    const bytesPerSecond = (2 * copyBytes) / m.seconds;
    log(`copy ${copyBytes / MiB} MiB: ${(bytesPerSecond / 1e9).toFixed(2)} GB/s (read+written), ${m.method}`);
    return { bytes: copyBytes, seconds: m.seconds, bytesPerSecond, method: m.method };
  } finally {
    rt.pool.destroy(src);
    rt.pool.destroy(dst);
  }
}

export async function benchMatvecF32(rt: GpuRuntime, shapes: [number, number][], copyBw: number, log: BenchLog = () => {}): Promise<MatvecF32Row[]> {
  const out: MatvecF32Row[] = [];
  for (const [rows, cols] of shapes) {
    const w = rt.pool.acquire(rows * cols * 4, 'bench', 'w');
    const x = rt.pool.acquire(cols * 4, 'bench', 'x');
    const y = rt.pool.acquire(rows * 4, 'bench', 'y');
    try {
      for (const subgroups of rt.has('subgroups') ? [false, true] : [false]) {
        const m = await measureDispatches(rt, [await prepareMatvecF32(rt, w, x, y, rows, cols, { subgroups })], 4, 5);
        const bw = (rows * cols * 4) / m.seconds;
        const row = { rows, cols, subgroups, seconds: m.seconds, weightBytesPerSecond: bw, fractionOfCopy: bw / copyBw, method: m.method };
        out.push(row);
        log(`matvec f32 ${rows}x${cols}${subgroups ? ' subgroups' : ''}: ${(bw / 1e9).toFixed(2)} GB/s of weights = ${(100 * row.fractionOfCopy).toFixed(0)}% of copy bandwidth`);
      }
    } finally {
      rt.pool.destroy(w);
      rt.pool.destroy(x);
      rt.pool.destroy(y);
    }
  }
  return out;
}

/** The whole kernel suite: copy, then f32 matvec per shape. */
export async function runKernelBench(rt: GpuRuntime, opts: { quick?: boolean; log?: BenchLog } = {}) {
  const log = opts.log ?? (() => {});
  const copy = await benchCopy(rt, (opts.quick ? 16 : 64) * MiB, log);
  const shapes: [number, number][] = opts.quick ? [[2048, 2048]] : [[2048, 2048], [4096, 4096], [8192, 2048]];
  const matvec = await benchMatvecF32(rt, shapes, copy.bytesPerSecond, log);
  return { adapter: rt.report.adapter, features: [...rt.features].sort(), copy, matvec };
}

export type KernelBenchResult = Awaited<ReturnType<typeof runKernelBench>>;
