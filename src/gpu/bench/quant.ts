// Quantized matvec bandwidth per weight type and shape, side by side in one run on one adapter:
// weight bytes read / time, as a fraction of the copy kernel's bandwidth (measured in the same
// run), and time relative to the F16 kernel. Inputs are random blocks (every bit pattern of the
// quantized fields); several copies of each weight matrix rotate so the working set exceeds caches.
import { prepareMatvecQ } from '../kernels/matmul-q.ts';
import { releaseQuantTensor, uploadQuantTensor, type QuantTensor } from '../kernels/quant-tensor.ts';
import { randomTensorBytes } from '../quant-checks.ts';
import type { GpuRuntime } from '../runtime.ts';
import type { TimingMethod } from '../timing.ts';
import { rng } from '../../util/random.ts';
import { benchCopy } from './kernels.ts';
import { measureDispatches, type BenchLog } from './measure.ts';

const MiB = 2 ** 20;
export const QUANT_TYPES: [string, number][] = [['F16', 1], ['Q8_0', 8], ['Q6_K', 14], ['Q4_K', 12], ['Q3_K', 11], ['Q2_K', 10]];

export interface QuantRow {
  type: string;
  rows: number;
  cols: number;
  weightBytes: number;
  seconds: number;
  weightBytesPerSecond: number;
  fractionOfCopy: number;
  timeVsF16: number;
  method: TimingMethod;
}

export interface QuantBenchOptions {
  quick?: boolean;
  big?: boolean;
  /** Weight types by name (default all of QUANT_TYPES); F16 is always measured first as the reference. */
  types?: string[];
  /** Override the shapes. */
  shapes?: [number, number][];
  log?: BenchLog;
}

async function benchOne(rt: GpuRuntime, type: number, R: number, C: number, next: () => number, iterations: number) {
  const bytes = randomTensorBytes(type, R, C, next);
  // Rotate copies so one pass reads more than a 60 MB L2 (and SwiftShader's caches).
  const copies = Math.max(1, Math.min(4, Math.ceil((96 * MiB) / bytes.byteLength)));
  const ts: QuantTensor[] = [];
  for (let i = 0; i < copies; i++) ts.push(await uploadQuantTensor(rt, type, R, C, (o, l) => bytes.subarray(o, o + l), { category: 'bench' }));
  const x = rt.pool.acquire(C * 4, 'bench', 'x');
  const y = rt.pool.acquire(R * 4, 'bench', 'y');
  const ds = await Promise.all(ts.map((t) => prepareMatvecQ(rt, t, x, y)));
  try {
    return { ...(await measureDispatches(rt, ds, iterations, 5)), weightBytes: bytes.byteLength };
  } finally {
    for (const d of ds) d.release();
    for (const t of ts) releaseQuantTensor(rt, t);
    rt.pool.destroy(x);
    rt.pool.destroy(y);
  }
}

export async function runQuantBench(rt: GpuRuntime, opts: QuantBenchOptions = {}) {
  const log = opts.log ?? (() => {});
  const copy = await benchCopy(rt, (opts.quick ? 16 : 64) * MiB, log);
  const shapes: [number, number][] = opts.shapes ?? (opts.quick ? [[2048, 2048]] : [[2048, 2048], [8192, 2048], [2048, 8192]]);
  if (opts.big && !opts.shapes) shapes.push([4096, 4096], [14336, 4096]);
  const wanted = new Set(['F16', ...(opts.types ?? QUANT_TYPES.map(([n]) => n))]);
  const next = rng(42);
  const rows: QuantRow[] = [];
  for (const [R, C] of shapes) {
    let f16Seconds = 0;
    const line: string[] = [];
    for (const [name, type] of QUANT_TYPES.filter(([n]) => wanted.has(n))) {
      const m = await benchOne(rt, type, R, C, next, opts.quick ? 4 : 8);
      if (name === 'F16') f16Seconds = m.seconds;
      const bw = m.weightBytes / m.seconds;
      const row: QuantRow = {
        type: name, rows: R, cols: C, weightBytes: m.weightBytes, seconds: m.seconds, weightBytesPerSecond: bw,
        fractionOfCopy: bw / copy.bytesPerSecond, timeVsF16: m.seconds / f16Seconds, method: m.method,
      };
      rows.push(row);
      line.push(`${name} ${(100 * row.fractionOfCopy).toFixed(0)}% copy, ${row.timeVsF16.toFixed(2)}x F16 time`);
    }
    log(`${R}x${C}: ${line.join(' | ')}`);
  }
  const q2 = rows.filter((r) => r.type === 'Q2_K');
  const q4 = rows.filter((r) => r.type === 'Q4_K');
  const q2kVsQ4k = q2.map((r, i) => ({ shape: `${r.rows}x${r.cols}`, q2kVsQ4k: q4[i] ? q4[i].seconds / r.seconds : NaN }));
  if (q2kVsQ4k.length) log(`Q2_K speed vs Q4_K: ${q2kVsQ4k.map((s) => `${s.shape} ${s.q2kVsQ4k.toFixed(2)}x`).join(', ')}`);
  return {
    adapter: rt.report.adapter, features: [...rt.features].sort(),
    copy: { bytes: copy.bytes, bytesPerSecond: copy.bytesPerSecond, method: copy.method }, matvec: rows, q2kVsQ4k,
  };
}

export type QuantBenchResult = Awaited<ReturnType<typeof runQuantBench>>;
