// Checks for the quantized matvec/matmul kernels: random blocks of every GPU type (every bit
// pattern of the quantized fields, sane f16 scales), a poisoned output, odd row counts, tensors
// split across bindings, against the CPU: ggml-exact dequantization (src/quant) then an f64 dot.
import type { GpuRuntime } from './runtime.ts';
import { rng, normals } from '../util/random.ts';
import { dequantize } from '../quant/dequantize.ts';
import { f32ToF16 } from '../quant/f16.ts';
import { GPU_BLOCK_TYPES, gpuBlockType, releaseQuantTensor, rowBytes, uploadQuantTensor } from './kernels/quant-tensor.ts';
import { prepareMatmulQ, prepareMatvecQ, quantVariant } from './kernels/matmul-q.ts';
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

interface QCase {
  type: number;
  rows: number;
  cols: number;
  nTok: number; // 1 = matvec
  split?: number; // maxBindingBytes
  xOffset?: number;
}

async function checkQuant(rt: GpuRuntime, seed: number, c: QCase, subgroups: boolean): Promise<CheckResult> {
  const next = rng(seed);
  const { rows, cols, nTok, type } = c;
  const xOffset = c.xOffset ?? 0;
  const bytes = randomTensorBytes(type, rows, cols, next);
  const w = dequantize(type, bytes, rows * cols);
  const xStride = cols + xOffset;
  const x = normals(nTok * xStride, next);
  const t = await uploadQuantTensor(rt, type, rows, cols, (o, l) => bytes.subarray(o, o + l), { maxBindingBytes: c.split, category: 'scratch' });
  const bx = rt.pool.upload(x, 'scratch', 'x');
  const by = rt.pool.acquire(nTok * rows * 4, 'scratch', 'y');
  const entry = nTok === 1 ? 'matvec' : 'matmul';
  try {
    poison(rt, by);
    const opts = { subgroups, xOffset };
    await runOnce(rt, nTok === 1 ? await prepareMatvecQ(rt, t, bx, by, opts) : await prepareMatmulQ(rt, t, bx, by, nTok, { ...opts, xStride }));
    const got = new Float32Array(await rt.read(by, nTok * rows * 4));
    let ok = true;
    let maxError = 0;
    for (let tk = 0; tk < nTok; tk++) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        let mag = 0;
        for (let k = 0; k < cols; k++) {
          const p = w[r * cols + k] * x[tk * xStride + xOffset + k];
          s += p;
          mag += Math.abs(p);
        }
        const err = Math.abs(got[tk * rows + r] - s);
        // f32 accumulation over cols/WG parts then a log2(WG) reduction, plus at most one rounding
        // of the dequantized weight (FMA contraction): 1e-5 * sum|w x| bounds it (see matvec_f32).
        if (!(err <= 1e-5 * mag + 1e-30)) ok = false;
        maxError = Math.max(maxError, Number.isFinite(err) ? err / (mag || 1) : Infinity);
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
      tolerance: '|y - ref| <= 1e-5 * sum|w*x| (ref: ggml-exact CPU dequant, f64 dot)',
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
  // A real shape sized for CI: TinyLlama's attention projection (2048 x 2048) in Q2_K and Q4_K.
  cases.push({ type: 10, rows: 2048, cols: 2048, nTok: 1 });
  cases.push({ type: 12, rows: 2048, cols: 2048, nTok: 1 });
  const modes = rt.has('subgroups') ? [false, true] : [false];
  for (const sub of modes) for (const c of cases) out.push(await checkQuant(rt, s++, c, sub));
  return out;
}
