// Kernel checks of the fused decode kernels (src/engine/gpu/fused.ts) against the unfused CPU
// reference: the CPU backend's rmsnorm, swiglu/geglu and a residual add around ggml-exact
// dequantized weights and an f64 dot. Fresh random inputs per seed, every output poisoned first
// (ADD's output is the residual itself: an element left unwritten keeps x and fails), each case in
// every variant the device offers (lanes 64 and 4, subgroups on/off, f16 where present).
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { poison, runOnce, type CheckResult } from '../../gpu/check-util.ts';
import { pipelineKey } from '../../gpu/pipelines.ts';
import { GPU_BLOCK_TYPES, releaseQuantTensor, rowBytes, uploadQuantTensor } from '../../gpu/kernels/quant-tensor.ts';
import { usesF16, type QuantKernelOptions } from '../../gpu/kernels/matmul-q.ts';
import { randomTensorBytes, termMagnitudes, U16 } from '../../gpu/quant-checks.ts';
import { dequantize } from '../../quant/dequantize.ts';
import { normals, rng } from '../../util/random.ts';
import { geglu, rmsnorm, swiglu } from '../cpu/math.ts';
import { fusedFlags, fusedVariant, prepareFusedMatvec, prepareRoutedMatmul, type FusedMatvecOptions } from './fused.ts';

interface FCase {
  name: string;
  type: number;
  cols: number;
  /** Row counts of the parts (ROUTE: 2 or 3 outputs; GLU: gate, up; otherwise one). */
  parts: number[];
  nTok?: number;
  norm?: boolean;
  glu?: 'silu' | 'gelu';
  add?: boolean;
  xOffset?: number;
  /** maxBindingBytes in rows (splits the tensor across bindings). */
  splitRows?: number;
}

const TOL = '|y - ref| <= 1e-5 * sum|w*xn| (+ 8u * sum T|xn| + cols * 2^-22 with f16), propagated through act(g)*u for GLU; ref: ggml dequant, f64 CPU rmsnorm/dot/act/add';

/** Reference outputs and their per-element tolerance. */
function reference(c: FCase, w: Float32Array, terms: Float32Array, x: Float32Array, g: Float32Array | undefined, resid: Float32Array | undefined, f16: boolean) {
  const nTok = c.nTok ?? 1;
  const rows = c.parts.reduce((a, b) => a + b, 0);
  const xs = c.cols + (c.xOffset ?? 0);
  const xn = new Float32Array(nTok * c.cols);
  for (let t = 0; t < nTok; t++) {
    const row = x.subarray(t * xs + (c.xOffset ?? 0), t * xs + (c.xOffset ?? 0) + c.cols);
    if (g) rmsnorm(xn.subarray(t * c.cols), row, g, 1, c.cols, 1e-5);
    else xn.set(row, t * c.cols);
  }
  // y[t][r], tol[t][r] over the concatenated rows.
  const y = new Float64Array(nTok * rows);
  const tol = new Float64Array(nTok * rows);
  for (let t = 0; t < nTok; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0, mag = 0, tm = 0;
      for (let k = 0; k < c.cols; k++) {
        const v = xn[t * c.cols + k]!;
        s += w[r * c.cols + k]! * v;
        mag += Math.abs(w[r * c.cols + k]! * v);
        tm += Math.abs(terms[r * c.cols + k]! * v);
      }
      y[t * rows + r] = s;
      tol[t * rows + r] = 1e-5 * mag + 1e-30 + (f16 ? 8 * U16 * tm + c.cols * 2 ** -22 : 0);
    }
  }
  if (c.glu) {
    const n = c.parts[0]!;
    const gate = Float32Array.from(y.subarray(0, n));
    const up = Float32Array.from(y.subarray(n, 2 * n));
    (c.glu === 'gelu' ? geglu : swiglu)(gate, up, n);
    // d act(g) <= 1.13 for both activations: the error of g scaled by |u|, plus |act(g)| times u's.
    const t = Array.from({ length: n }, (_, i) => 1.2 * tol[i]! * Math.abs(up[i]!) + Math.abs(gate[i]! / (up[i]! || 1)) * tol[n + i]! + 1e-6 * Math.abs(gate[i]!));
    return { outs: [gate], tols: [Float64Array.from(t)] };
  }
  if (resid) for (let i = 0; i < y.length; i++) y[i]! += resid[i]!;
  // Per output: its row range, token-major with its own stride (the matmul's routed layout).
  let r0 = 0;
  const outs: Float32Array[] = [];
  const tols: Float64Array[] = [];
  for (const n of c.parts) {
    const o = new Float32Array(nTok * n);
    const e = new Float64Array(nTok * n);
    for (let t = 0; t < nTok; t++) for (let r = 0; r < n; r++) {
      o[t * n + r] = y[t * rows + r0 + r]!;
      e[t * n + r] = tol[t * rows + r0 + r]! + 1e-6 * Math.abs(y[t * rows + r0 + r]!);
    }
    outs.push(o);
    tols.push(e);
    r0 += n;
  }
  return { outs, tols };
}

async function checkFused(rt: GpuRuntime, seed: number, c: FCase, k: QuantKernelOptions): Promise<CheckResult> {
  const next = rng(seed);
  const nTok = c.nTok ?? 1;
  const rows = c.parts.reduce((a, b) => a + b, 0);
  const entry = nTok === 1 ? 'matvec' : 'matmul';
  const f16 = usesF16(rt, c.type, entry, k);
  const bytes = randomTensorBytes(c.type, rows, c.cols, next);
  const w = dequantize(c.type, bytes, rows * c.cols);
  const terms = f16 ? termMagnitudes(c.type, bytes, rows * c.cols, w) : w;
  const x = normals(nTok * (c.cols + (c.xOffset ?? 0)), next, 3);
  const g = c.norm ? normals(c.cols, next) : undefined;
  const resid = c.add ? normals(rows, next, 2) : undefined;
  const { outs, tols } = reference(c, w, terms, x, g, resid, f16);
  const split = c.splitRows ? c.splitRows * rowBytes(c.type, c.cols) + 4 : undefined;
  const t = await uploadQuantTensor(rt, c.type, rows, c.cols, (o, l) => bytes.subarray(o, o + l), { maxBindingBytes: split, category: 'scratch' });
  const bx = rt.pool.upload(x, 'scratch', 'x');
  const bg = g ? rt.pool.upload(g, 'scratch', 'norm') : undefined;
  const ys = outs.map((o) => (resid ? rt.pool.upload(resid, 'scratch', 'resid') : rt.pool.acquire(o.byteLength, 'scratch', 'y')));
  const opts: FusedMatvecOptions = { norm: bg ? { weight: bg, eps: 1e-5 } : undefined, glu: c.glu, add: c.add, xOffset: c.xOffset, kernel: k };
  const route = c.parts.length > 1 && !c.glu ? c.parts.map((n, i) => ({ buffer: ys[i]!, rows: n })) : undefined;
  try {
    if (!resid) for (const y of ys) poison(rt, y);
    const d = nTok > 1 ? await prepareRoutedMatmul(rt, t, bx, nTok, route!, k) : await prepareFusedMatvec(rt, t, bx, route ? undefined : ys[0]!, { ...opts, route });
    await runOnce(rt, d);
    let ok = true;
    let maxError = 0;
    for (let i = 0; i < outs.length; i++) {
      const got = new Float32Array(await rt.read(ys[i]!, outs[i]!.byteLength));
      for (let j = 0; j < got.length; j++) {
        const err = Math.abs(got[j]! - outs[i]![j]!);
        if (!(err <= tols[i]![j]!)) ok = false;
        maxError = Math.max(maxError, Number.isFinite(err) ? err / (tols[i]![j]! || 1) : Infinity);
      }
    }
    const flags = nTok > 1 ? ['ROUTE'] : fusedFlags({ ...opts, route }, c.cols);
    const name = GPU_BLOCK_TYPES[c.type as keyof typeof GPU_BLOCK_TYPES].flag;
    return {
      kernel: `${c.name} (${name})`,
      variant: pipelineKey(fusedVariant(rt, c.type, entry, flags, k)),
      shape: `${c.parts.join('+')}x${c.cols}${nTok > 1 ? ` x${nTok} tok` : ''}${t.chunks.length > 1 ? ` in ${t.chunks.length} bindings` : ''}${c.xOffset ? ` x+${c.xOffset}` : ''}`,
      seed,
      ok,
      maxError,
      tolerance: `${TOL} (maxError: the worst error over its tolerance, <= 1 passes)`,
    };
  } finally {
    releaseQuantTensor(rt, t);
    for (const b of [bx, bg, ...ys]) if (b) rt.pool.release(b);
  }
}

const CASES: FCase[] = [
  { name: 'rmsnorm+qkv', type: 12, cols: 512, parts: [48, 16, 16], norm: true },
  { name: 'rmsnorm+qkv', type: 10, cols: 256, parts: [32, 8, 8], norm: true, xOffset: 256, splitRows: 20 },
  { name: 'rmsnorm+qkv (wide row: not staged)', type: 12, cols: 2304, parts: [8, 4, 4], norm: true, xOffset: 64 },
  { name: 'rmsnorm+gate/up+swiglu', type: 8, cols: 256, parts: [24, 24], norm: true, glu: 'silu' },
  { name: 'rmsnorm+gate/up+geglu', type: 11, cols: 256, parts: [40, 40], norm: true, glu: 'gelu' },
  { name: 'rmsnorm+gate/up (split: routed)', type: 12, cols: 256, parts: [20, 20], norm: true, splitRows: 16 },
  { name: 'matvec+residual', type: 14, cols: 512, parts: [33], add: true },
  { name: 'matvec+residual', type: 0, cols: 68, parts: [9], add: true, splitRows: 4 },
  { name: 'rmsnorm+head', type: 1, cols: 256, parts: [37], norm: true, xOffset: 512, splitRows: 16 },
  { name: 'qkv matmul (prefill)', type: 11, cols: 256, parts: [24, 8, 8], nTok: 5 },
  { name: 'gate/up matmul (prefill)', type: 12, cols: 256, parts: [12, 12], nTok: 6, splitRows: 10 },
];

/**
 * Every case in every variant (`allModes`), or once in the variant the engine picks on this device
 * (the browser kernel pages' cheap pass, through runOpChecks).
 */
export async function runFusedChecks(rt: GpuRuntime, seed: number, allModes = true): Promise<CheckResult[]> {
  const modes: QuantKernelOptions[] = allModes ? [] : [{}];
  if (allModes) for (const subgroups of rt.has('subgroups') ? [false, true] : [false]) {
    for (const lanes of [64, 4]) {
      modes.push({ subgroups, f16: false, lanes });
      if (rt.report.enabled.shaderF16) modes.push({ subgroups, f16: true, lanes });
    }
  }
  const out: CheckResult[] = [];
  let s = seed;
  for (const m of modes) {
    for (const c of CASES) {
      if (m.f16 && !usesF16(rt, c.type, (c.nTok ?? 1) > 1 ? 'matmul' : 'matvec', m)) continue;
      out.push(await checkFused(rt, s++, c, m));
    }
  }
  return out;
}
