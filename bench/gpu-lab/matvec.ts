// Every quantized matvec on real model shapes, as a fraction of the copy bandwidth measured in the
// same run: weight bytes / time vs (bytes read + written) / time of the copy kernel. Types without
// a GPU kernel are listed as skipped (the engine widens them to F32); when a kernel appears in
// GPU_BLOCK_TYPES it is measured with no change here. Copies of each matrix rotate so one timed
// pass reads more than `rotateBytes` (the H200's L2 is 60 MB), so no pass is served from cache.
import { lanesFor, prepareMatvecQ, usesF16 } from '../../src/gpu/kernels/matmul-q.ts';
import { GPU_BLOCK_TYPES, releaseQuantTensor, uploadQuantTensor, type QuantTensor } from '../../src/gpu/kernels/quant-tensor.ts';
import { measureDispatches } from '../../src/gpu/bench/measure.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import type { TimingMethod } from '../../src/gpu/timing.ts';
import { ggmlTypeByName } from '../../src/quant/ggml-types.ts';
import { rowBytesOf, type TemplateBank } from './tensor-bytes.ts';
import type { Section } from './budget.ts';

export const MATVEC_TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_0', 'Q4_0', 'F16'] as const;

export interface MatvecShape {
  /** Where the shape comes from (e.g. "llama3.2-1b ffn_up"). */
  label: string;
  rows: number;
  cols: number;
}

export interface MatvecRow {
  type: string;
  label: string;
  rows: number;
  cols: number;
  weightBytes: number;
  copies: number;
  seconds: number;
  weightBytesPerSecond: number;
  fractionOfCopy: number;
  /** The kernel variant the engine uses on this device (f16 arithmetic where `shader-f16` exists). */
  variant: 'f16' | 'f32';
  method: TimingMethod;
}

/** One type on one shape with LANES threads per row (mm_q.wgsl): which the engine should pick here. */
export interface LanesRow {
  type: string;
  label: string;
  lanes: number;
  /** The engine's choice on this adapter (lanesFor). */
  isDefault: boolean;
  fractionOfCopy: number;
}

export interface MatvecResult {
  rows: MatvecRow[];
  lanes: LanesRow[];
  skipped: { type: string; label?: string; reason: string }[];
}

export interface MatvecOptions {
  shapes: MatvecShape[];
  types: readonly string[];
  copyBytesPerSecond: number;
  rotateBytes: number;
  iterations: number;
  bank: TemplateBank;
  section: Section;
  log: (line: string) => void;
  /** After the rows: these types on this shape at each LANES value (skipped when the box is spent). */
  lanesSweep?: { shape: MatvecShape; types: readonly string[]; lanes: readonly number[] };
}

async function one(rt: GpuRuntime, type: number, s: MatvecShape, o: MatvecOptions, lanes?: number) {
  const bytes = s.rows * rowBytesOf(type, s.cols);
  const copies = Math.max(1, Math.ceil(o.rotateBytes / bytes));
  const std = 1 / Math.sqrt(s.cols);
  const ts: QuantTensor[] = [];
  const x = rt.pool.acquire(s.cols * 4, 'bench', 'lab.x');
  const y = rt.pool.acquire(s.rows * 4, 'bench', 'lab.y');
  try {
    for (let c = 0; c < copies; c++) {
      ts.push(await uploadQuantTensor(rt, type, s.rows, s.cols, (off, len) => {
        const buf = new Uint8Array(len);
        o.bank.fill({ type, cols: s.cols, std }, c * 5, off, len, buf, 0);
        return buf;
      }, { category: 'bench', label: `lab.${s.label}` }));
    }
    rt.device.queue.writeBuffer(x, 0, new Float32Array(s.cols).fill(0.01));
    const ds = await Promise.all(ts.map((t) => prepareMatvecQ(rt, t, x, y, { lanes })));
    try {
      const m = await measureDispatches(rt, ds, Math.max(o.iterations, copies), 5);
      return { ...m, bytes, copies };
    } finally {
      for (const d of ds) d.release();
    }
  } finally {
    for (const t of ts) releaseQuantTensor(rt, t);
    rt.pool.destroy(x);
    rt.pool.destroy(y);
  }
}

export async function benchMatvecs(rt: GpuRuntime, o: MatvecOptions): Promise<MatvecResult> {
  const res: MatvecResult = { rows: [], lanes: [], skipped: [] };
  const kernels = GPU_BLOCK_TYPES as Record<number, unknown>;
  const types = o.types.map((name) => ({ name, id: ggmlTypeByName(name.toLowerCase())?.id ?? -1 }));
  for (const t of types) if (!(t.id in kernels)) res.skipped.push({ type: t.name, reason: 'no GPU kernel for this type (the engine widens it to F32 on load)' });
  for (const s of o.shapes) {
    const line: string[] = [];
    for (const t of types.filter((t) => t.id in kernels)) {
      if (!o.section.allows()) {
        res.skipped.push({ type: t.name, label: s.label, reason: `time box: section '${o.section.name}' spent ${o.section.used().toFixed(0)} of ${o.section.budgetS} s` });
        continue;
      }
      const m = await one(rt, t.id, s, o);
      const bw = m.bytes / m.seconds;
      const row: MatvecRow = {
        type: t.name, label: s.label, rows: s.rows, cols: s.cols, weightBytes: m.bytes, copies: m.copies, seconds: m.seconds,
        weightBytesPerSecond: bw, fractionOfCopy: bw / o.copyBytesPerSecond, variant: usesF16(rt, t.id, 'matvec') ? 'f16' : 'f32', method: m.method,
      };
      res.rows.push(row);
      line.push(`${t.name} ${(100 * row.fractionOfCopy).toFixed(0)}%`);
    }
    if (line.length) o.log(`matvec ${s.rows}x${s.cols} (${s.label}), weight bytes/s as % of copy: ${line.join('  ')}`);
  }
  const sw = o.lanesSweep;
  for (const t of sw ? types.filter((t) => t.id in kernels && sw.types.includes(t.name)) : []) {
    const line: string[] = [];
    for (const lanes of sw!.lanes) {
      if (!o.section.allows()) {
        res.skipped.push({ type: t.name, label: `lanes ${lanes} ${sw!.shape.label}`, reason: `time box: section '${o.section.name}' spent ${o.section.used().toFixed(0)} of ${o.section.budgetS} s` });
        continue;
      }
      const m = await one(rt, t.id, sw!.shape, o, lanes);
      const frac = m.bytes / m.seconds / o.copyBytesPerSecond;
      const isDefault = lanes === lanesFor(rt);
      res.lanes.push({ type: t.name, label: sw!.shape.label, lanes, isDefault, fractionOfCopy: frac });
      line.push(`${lanes}${isDefault ? '*' : ''} ${(100 * frac).toFixed(0)}%`);
    }
    if (line.length) o.log(`matvec ${t.name} ${sw!.shape.rows}x${sw!.shape.cols} by threads per row (* the engine's), % of copy: ${line.join('  ')}`);
  }
  return res;
}
