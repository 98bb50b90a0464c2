// Checks for the quantized matvec/matmul kernels: random blocks of every GPU type (every bit
// pattern of the quantized fields, sane f16 scales), a poisoned output, odd row counts, tensors
// split across bindings, against the CPU: ggml-exact dequantization (src/quant) then an f64 dot.
// Every case runs in each variant the device offers: f32 or f16 (`shader-f16`), with or without
// subgroups; where the device has no `shader-f16`, one result says the f16 variants were skipped.
import type { GpuRuntime } from './runtime.ts';
import { rng, normals } from '../util/random.ts';
import { dequantize } from '../quant/dequantize.ts';
import { f32ToF16 } from '../quant/f16.ts';
import { GPU_BLOCK_TYPES, gpuBlockType, releaseQuantTensor, rowBytes, uploadQuantTensor } from './kernels/quant-tensor.ts';
import { prepareMatmulQ, prepareMatvecQ, quantVariant, usesF16 } from './kernels/matmul-q.ts';
import { pipelineKey } from './pipelines.ts';
import { poison, runOnce, type CheckResult } from './check-util.ts';

/** Byte offsets of the f16 scale fields in each type's block (ggml layouts). */
const F16_FIELDS: Record<number, number[]> = { 8: [0], 14: [208], 12: [0, 2], 11: [108], 10: [80, 82] };

/** Random weights in `type`'s layout: random quantized bits, f16 scales ~ N(0, 0.01) (d) or |.| (dmin). */
export function randomTensorBytes(type: number, rows: number, cols: number, next: () => number): Uint8Array {
  const n = rows * rowBytes(type, cols);
  if (type === 0) return new Uint8Array(normals(rows * cols, next).buffer);
  if (type === 1) {
    const f = normals(rows * cols, next);
    const h = new Uint16Array(f.length);
    for (let i = 0; i < f.length; i++) h[i] = f32ToF16(f[i]);
    return new Uint8Array(h.buffer);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
  const { blockBytes } = gpuBlockType(type);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < n; b += blockBytes) {
    F16_FIELDS[type].forEach((off, i) => {
      const v = (next() - 0.5) * 0.02;
      dv.setUint16(b + off, f32ToF16(i === 0 ? v : Math.abs(v)), true);
    });
  }
  return out;
}

/**
 * Per weight, the magnitudes of the terms the kernel rounds: |w| for one-scale types; for the
 * types with a min (Q2_K, Q4_K: w = d*sc*q - dmin*m) |d*sc*q| + |dmin*m|, found by dequantizing
 * the same blocks with dmin and then d zeroed (ggml's own dequantization, nothing re-derived).
 */
export function termMagnitudes(type: number, bytes: Uint8Array, n: number, w: Float32Array): Float32Array {
  const fields = F16_FIELDS[type] ?? [];
  if (fields.length < 2) return w.map(Math.abs);
  const { blockBytes } = gpuBlockType(type);
  const zeroed = (field: number) => {
    const b = bytes.slice();
    for (let o = 0; o < b.length; o += blockBytes) b[o + field] = b[o + field + 1] = 0;
    return dequantize(type, b, n);
  };
  const scaled = zeroed(fields[1]);
  const mins = zeroed(fields[0]);
  return scaled.map((v, i) => Math.abs(v) + Math.abs(mins[i]));
}

/** f16 unit roundoff (round to nearest, 11-bit significand). */
export const U16 = 2 ** -11;

/**
 * The f16 variant's bound, per output, to first order in u = 2^-11 (f16's unit roundoff). A weight's
 * f16 value: the exact f32 scale d*sc rounded to f16 (u|S|), times q (u|S|), the min dmin*m rounded
 * (u|M|), the subtraction (u|w| <= u(|S| + |M|)): at most 3u*T with T = |S| + |M| (= |w| for
 * one-scale types; S = d*sc*q, M = dmin*m). Then the activation's rounding to f16 (u|w x|), the
 * product (u), and the f16 sum of a group's four products (3u of their magnitudes): in all
 * 8u * sum_k T_k |x_k| (T from termMagnitudes). Groups add in f32: the f32 kernels' 1e-5 * sum|w x|.
 * An f16 operation that underflows into subnormals may also lose up to 2^-25 absolutely: cols *
 * 2^-22 covers ~8 per weight. (Assumes f16 subnormals are kept, as IEEE and Vulkan drivers with
 * shaderDenormPreserveFloat16 do; a GPU that flushes them to zero could exceed it on tiny terms.)
 */
const F16_TOLERANCE = '|y - ref| <= 8u * sum_k T_k|x_k| + 1e-5 * sum|w*x| + cols * 2^-22, u = 2^-11, T_k = |w_k| (|d*sc*q| + |dmin*m| for Q2_K/Q4_K) (ref: ggml-exact CPU dequant, f64 dot)';

interface QCase {
  type: number;
  rows: number;
  cols: number;
  nTok: number; // 1 = matvec
  split?: number; // maxBindingBytes
  xOffset?: number;
}

interface Mode {
  subgroups: boolean;
  f16: boolean;
  /** Threads per row (LANES in mm_q.wgsl); both layouts are checked on every device. */
  lanes: number;
}

async function checkQuant(rt: GpuRuntime, seed: number, c: QCase, mode: Mode): Promise<CheckResult> {
  const next = rng(seed);
  const { rows, cols, nTok, type } = c;
  const xOffset = c.xOffset ?? 0;
  const bytes = randomTensorBytes(type, rows, cols, next);
  const w = dequantize(type, bytes, rows * cols);
  const entry = nTok === 1 ? 'matvec' : 'matmul';
  const opts = { subgroups: mode.subgroups, f16: mode.f16, lanes: mode.lanes, xOffset };
  const f16 = usesF16(rt, type, entry, opts);
  const terms = f16 ? termMagnitudes(type, bytes, rows * cols, w) : w;
  const xStride = cols + xOffset;
  const x = normals(nTok * xStride, next);
  const t = await uploadQuantTensor(rt, type, rows, cols, (o, l) => bytes.subarray(o, o + l), { maxBindingBytes: c.split, category: 'scratch' });
  const bx = rt.pool.upload(x, 'scratch', 'x');
  const by = rt.pool.acquire(nTok * rows * 4, 'scratch', 'y');
  try {
    poison(rt, by);
    await runOnce(rt, nTok === 1 ? await prepareMatvecQ(rt, t, bx, by, opts) : await prepareMatmulQ(rt, t, bx, by, nTok, { ...opts, xStride }));
    const got = new Float32Array(await rt.read(by, nTok * rows * 4));
    let ok = true;
    let maxError = 0;
    for (let tk = 0; tk < nTok; tk++) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        let mag = 0;
        let termMag = 0;
        for (let k = 0; k < cols; k++) {
          const xv = x[tk * xStride + xOffset + k];
          const p = w[r * cols + k] * xv;
          s += p;
          mag += Math.abs(p);
          termMag += Math.abs(terms[r * cols + k] * xv);
        }
        const err = Math.abs(got[tk * rows + r] - s);
        // f32: accumulation over cols/WG parts then a log2(WG) reduction, plus at most one rounding
        // of the dequantized weight (FMA contraction): 1e-5 * sum|w x| bounds it (see matvec_f32).
        // f16: F16_TOLERANCE.
        const tol = 1e-5 * mag + 1e-30 + (f16 ? 8 * U16 * termMag + cols * 2 ** -22 : 0);
        if (!(err <= tol)) ok = false;
        // Relative to the scale the tolerance is proportional to (sum|w x|, or sum T|x| for f16).
        const scale = (f16 ? termMag : mag) || 1;
        maxError = Math.max(maxError, Number.isFinite(err) ? err / scale : Infinity);
      }
    }
    const name = GPU_BLOCK_TYPES[type as keyof typeof GPU_BLOCK_TYPES].flag;
    return {
      kernel: `${entry}_${name.toLowerCase()}`,
      variant: pipelineKey(quantVariant(rt, type, entry, opts)),
      shape: `${rows}x${cols}${nTok > 1 ? ` x${nTok} tok` : ''}${t.chunks.length > 1 ? ` in ${t.chunks.length} bindings` : ''}${xOffset ? ` x+${xOffset}` : ''}`,
      seed,
      ok,
      maxError,
      tolerance: f16 ? F16_TOLERANCE : '|y - ref| <= 1e-5 * sum|w*x| (ref: ggml-exact CPU dequant, f64 dot)',
    };
  } finally {
    releaseQuantTensor(rt, t);
    rt.pool.release(bx);
    rt.pool.release(by);
  }
}

export async function runQuantChecks(rt: GpuRuntime, seed: number): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  let s = seed;
  const types = [10, 11, 12, 14, 8, 1, 0];
  const cases: QCase[] = [];
  for (const type of types) {
    const bw = gpuBlockType(type).blockW;
    const k = Math.max(bw, 256);
    cases.push({ type, rows: 7, cols: k, nTok: 1 });
    cases.push({ type, rows: 33, cols: 4 * k, nTok: 1 });
    cases.push({ type, rows: 13, cols: 2 * k, nTok: 5 });
    // Split across bindings: 3 rows per binding (odd row bytes for Q8_0 with an odd block count).
    cases.push({ type, rows: 11, cols: type === 8 ? 32 * 9 : k, nTok: 1, split: 3 * rowBytes(type, type === 8 ? 32 * 9 : k) + 4 });
  }
  cases.push({ type: 10, rows: 5, cols: 512, nTok: 3, xOffset: 64 });
  // Matmul over several row groups and token tiles at once (rows > WG / LANES, tokens > TT).
  cases.push({ type: 12, rows: 37, cols: 256, nTok: 6 });
  cases.push({ type: 10, rows: 37, cols: 512, nTok: 9 });
  // A real shape sized for CI: TinyLlama's attention projection (2048 x 2048) in Q2_K and Q4_K.
  cases.push({ type: 10, rows: 2048, cols: 2048, nTok: 1 });
  cases.push({ type: 12, rows: 2048, cols: 2048, nTok: 1 });
  const modes: Mode[] = [];
  for (const subgroups of rt.has('subgroups') ? [false, true] : [false]) {
    for (const lanes of [64, 4]) {
      modes.push({ subgroups, f16: false, lanes });
      if (rt.report.enabled.shaderF16) modes.push({ subgroups, f16: true, lanes });
    }
  }
  for (const m of modes) {
    for (const c of cases) {
      // F32 weights never take the f16 variant (see usesF16): that case is the f32 mode's already.
      if (m.f16 && !usesF16(rt, c.type, c.nTok === 1 ? 'matvec' : 'matmul', m)) continue;
      out.push(await checkQuant(rt, s++, c, m));
    }
  }
  if (!rt.report.enabled.shaderF16) {
    out.push({
      kernel: 'matvec/matmul (every type)', variant: 'mm_q{SHADER_F16}', shape: '-', seed, ok: true, maxError: 0, tolerance: '-',
      skipped: rt.report.features.includes('shader-f16')
        ? "f16 variants not run: 'shader-f16' was disabled for this device"
        : "f16 variants not run: the adapter does not offer 'shader-f16'",
    });
  }
  return out;
}
