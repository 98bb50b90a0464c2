// Quantized matvec bandwidth per weight type and shape, side by side in one run on one adapter:
// weight bytes read / time, as a fraction of the copy kernel's bandwidth (measured in the same
// run), and time relative to the F16 kernel. Inputs are random blocks (every bit pattern of the
// quantized fields); several copies of each weight matrix rotate so the working set exceeds caches.
// The `matvec` rows are the f32 variant (every adapter has it); where the device has `shader-f16`
// the f16 variant runs on the same uploaded tensors right after it, reported as a time ratio
// (`f16Variant`), and where it does not, `f16Variant` says why it was skipped.
import { prepareMatvecQ, usesF16, type QuantKernelOptions } from '../kernels/matmul-q.ts';
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

/** The f16 variant beside the f32 one, same type, shape, tensors and run. */
export interface QuantF16Row {
  type: string;
  rows: number;
  cols: number;
  f32Seconds: number;
  f16Seconds: number;
  /** f16 variant time / f32 variant time (below 1: the f16 variant is faster). */
  timeVsF32Variant: number;
  fractionOfCopy: number;
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

/** Time each kernel variant in `variants` on the same uploaded copies of one random tensor. */
async function benchOne(rt: GpuRuntime, type: number, R: number, C: number, next: () => number, iterations: number, variants: QuantKernelOptions[]) {
  const bytes = randomTensorBytes(type, R, C, next);
  // Rotate copies so one pass reads more than a 60 MB L2 (and SwiftShader's caches).
  const copies = Math.max(1, Math.min(4, Math.ceil((96 * MiB) / bytes.byteLength)));
  const ts: QuantTensor[] = [];
  const x = rt.pool.acquire(C * 4, 'bench', 'x');
  const y = rt.pool.acquire(R * 4, 'bench', 'y');
  try {
    for (let i = 0; i < copies; i++) ts.push(await uploadQuantTensor(rt, type, R, C, (o, l) => bytes.subarray(o, o + l), { category: 'bench' }));
    const out = [];
    for (const v of variants) {
      const ds = await Promise.all(ts.map((t) => prepareMatvecQ(rt, t, x, y, v)));
      try {
        out.push({ ...(await measureDispatches(rt, ds, iterations, 5)), weightBytes: bytes.byteLength });
      } finally {
        for (const d of ds) d.release();
      }
    }
    return out;
  } finally {
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
  const f16Rows: QuantF16Row[] = [];
  const f16Skipped = rt.report.enabled.shaderF16 ? undefined
    : rt.report.features.includes('shader-f16') ? "'shader-f16' was disabled for this device" : "the adapter does not offer 'shader-f16'";
  if (f16Skipped) log(`f16 variant: not measured (${f16Skipped})`);
  for (const [R, C] of shapes) {
    let f16Seconds = 0;
    const line: string[] = [];
    const f16Line: string[] = [];
    for (const [name, type] of QUANT_TYPES.filter(([n]) => wanted.has(n))) {
      const withF16 = usesF16(rt, type, 'matvec');
      const [m, h] = await benchOne(rt, type, R, C, next, opts.quick ? 4 : 8, withF16 ? [{ f16: false }, { f16: true }] : [{ f16: false }]);
      if (h) {
        const row: QuantF16Row = {
          type: name, rows: R, cols: C, f32Seconds: m.seconds, f16Seconds: h.seconds, timeVsF32Variant: h.seconds / m.seconds,
          fractionOfCopy: h.weightBytes / h.seconds / copy.bytesPerSecond, method: h.method,
        };
        f16Rows.push(row);
        f16Line.push(`${name} ${row.timeVsF32Variant.toFixed(2)}x`);
      }
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
    if (f16Line.length) log(`${R}x${C} f16 variant time / f32 variant time: ${f16Line.join(' | ')}`);
  }
  const q2 = rows.filter((r) => r.type === 'Q2_K');
  const q4 = rows.filter((r) => r.type === 'Q4_K');
  const q2kVsQ4k = q2.map((r, i) => ({ shape: `${r.rows}x${r.cols}`, q2kVsQ4k: q4[i] ? q4[i].seconds / r.seconds : NaN }));
  if (q2kVsQ4k.length) log(`Q2_K speed vs Q4_K: ${q2kVsQ4k.map((s) => `${s.shape} ${s.q2kVsQ4k.toFixed(2)}x`).join(', ')}`);
  return {
    adapter: rt.report.adapter, features: [...rt.features].sort(),
    copy: { bytes: copy.bytes, bytesPerSecond: copy.bytesPerSecond, method: copy.method }, matvec: rows, q2kVsQ4k,
    f16Variant: f16Skipped ? { skipped: f16Skipped } : { rows: f16Rows },
  };
}

export type QuantBenchResult = Awaited<ReturnType<typeof runQuantBench>>;
