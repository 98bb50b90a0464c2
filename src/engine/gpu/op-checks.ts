// Kernel checks of the graph's small operators (shaders/ops.wgsl) against the CPU backend's own
// functions (src/engine/cpu/math.ts), on fresh random inputs: out-of-place outputs are poisoned
// first; in-place ones are compared element by element, so an element left unwritten keeps its
// input value and fails. Run with the other kernel checks (src/gpu/kernel-checks.ts).
import type { GpuRuntime } from '../../gpu/runtime.ts';
import type { PreparedDispatch } from '../../gpu/dispatch.ts';
import { poison, runOnce, type CheckResult } from '../../gpu/check-util.ts';
import { normals, rng } from '../../util/random.ts';
import { addBias as addBiasRef, geglu, rmsnorm as rmsnormRef, rope as ropeRef, ropeTable as ropeTableRef, scaleInPlace, softcap as softcapRef, swiglu } from '../cpu/math.ts';
import { rotateHeads } from '../kv/hadamard.ts';
import { runFusedChecks } from './fused-checks.ts';
import { packHeadParams, prepareHeadPrep, type HeadPrepArgs } from './head-prep.ts';
import { addBias, geluMul, rmsnorm, rmsnormInPlace, rope, ropeTable, scale, siluMul, softcap } from './ops.ts';

/** Tolerance per element: |got - want| <= tol * (1 + |want|) (f32 evaluation of f64 references). */
const TOL = 2e-5;

function compare(kernel: string, variant: string, shape: string, seed: number, got: Float32Array, want: Float32Array): CheckResult {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    worst = Math.max(worst, Number.isFinite(e) ? e : Infinity);
  }
  return { kernel, variant, shape, seed, ok: worst <= TOL, maxError: worst, tolerance: `|y - ref| <= ${TOL} (1 + |ref|) per element` };
}

type Prep = (bufs: GPUBuffer[]) => Promise<PreparedDispatch>;

/** Upload inputs, poison `outIndex` if it is a separate output, run, read back buffer `outIndex`. */
async function run(rt: GpuRuntime, inputs: Float32Array[], outFloats: number, prep: Prep, outIndex: number): Promise<Float32Array> {
  const bufs = inputs.map((x, i) => rt.pool.upload(x, 'scratch', `in${i}`));
  if (outIndex >= inputs.length) {
    const out = rt.pool.acquire(outFloats * 4, 'scratch', 'out');
    poison(rt, out);
    bufs.push(out);
  }
  try {
    await runOnce(rt, await prep(bufs));
    return new Float32Array(await rt.read(bufs[outIndex]!, outFloats * 4));
  } finally {
    for (const b of bufs) rt.pool.release(b);
  }
}

async function checkNorms(rt: GpuRuntime, seed: number): Promise<CheckResult[]> {
  const next = rng(seed);
  const rows = 3, n = 67, off = 5;
  const x = normals(off + rows * n, next, 3);
  const w = normals(n, next);
  const want = new Float32Array(rows * n);
  rmsnormRef(want, x.subarray(off), w, rows, n, 1e-6);
  const got = await run(rt, [x, w], rows * n, ([a, b, c]) => rmsnorm(rt, a!, b!, c!, rows, n, 1e-6, off), 2);
  // Per-head norm in place (qwen3/gemma3 q/k norms): 4 tokens x 3 heads of 16.
  const h = normals(12 * 16, next, 2);
  const hw = normals(16, next);
  const hWant = h.slice();
  rmsnormRef(hWant, hWant, hw, 12, 16, 1e-6);
  const hGot = await run(rt, [h, hw], h.length, ([a, b]) => rmsnormInPlace(rt, a!, b!, 12, 16, 1e-6), 0);
  return [
    compare('rmsnorm', 'ops:rmsnorm', `${rows}x${n} from ${off}`, seed, got, want),
    compare('rmsnorm', 'ops:rmsnorm_inplace', '12x16', seed, hGot, hWant),
  ];
}

async function checkRope(rt: GpuRuntime, seed: number, neox: boolean, ropeDim: number, factors: boolean): Promise<CheckResult> {
  const next = rng(seed);
  const rows = 4, nHead = 3, headDim = 16, pos0 = 7, nCtx = 16, base = 10000, fscale = 0.5, mscale = factors ? 1.19 : 1;
  const f = factors ? Float32Array.from({ length: ropeDim / 2 }, () => 1 + 3 * next()) : undefined;
  const x = normals(rows * nHead * headDim, next);
  const want = x.slice();
  ropeRef(want, rows, nHead, headDim, ropeTableRef(pos0, rows, ropeDim, base, fscale, f, mscale), neox);
  const table = ropeTable(nCtx, ropeDim, base, fscale, f, mscale);
  const got = await run(rt, [x, table], x.length, ([a, t]) => rope(rt, a!, { rows, nHead, headDim, ropeDim, pos0, table: t!, neox }), 0);
  const variant = `ops:${neox ? 'rope_neox' : 'rope'}${factors ? ' freq factors + attn_factor' : ''}`;
  return compare('rope', variant, `${rows}x${nHead}x${headDim}, ${ropeDim} rotary dims, pos ${pos0}`, seed, got, want);
}

async function checkElementwise(rt: GpuRuntime, seed: number): Promise<CheckResult[]> {
  const next = rng(seed);
  const n = 1000;
  const g = normals(n, next, 3);
  const u = normals(n, next);
  const out: CheckResult[] = [];
  for (const [name, ref, gpu] of [['silu_mul', swiglu, siluMul], ['gelu_mul', geglu, geluMul]] as const) {
    const want = g.slice();
    ref(want, u, n);
    out.push(compare(name, `ops:${name}`, `${n}`, seed, await run(rt, [g, u], n, ([a, b]) => gpu(rt, a!, b!, n), 0), want));
  }
  const rows = 5, cols = 37;
  const x = normals(rows * cols, next, 4);
  const b = normals(cols, next);
  const biased = x.slice();
  addBiasRef(biased, b, rows, cols);
  out.push(compare('add_bias', 'ops:add_bias', `${rows}x${cols}`, seed, await run(rt, [x, b], x.length, ([a, c]) => addBias(rt, a!, c!, x.length, cols), 0), biased));
  const scaled = x.slice();
  scaleInPlace(scaled, x.length, 6.5);
  out.push(compare('scale', 'ops:scale', `${x.length}`, seed, await run(rt, [x], x.length, ([a]) => scale(rt, a!, x.length, 6.5), 0), scaled));
  // Values up to ~40 against a cap of 5: both the linear and the saturated part of tanh.
  const big = normals(n, next, 15);
  const capped = big.slice();
  softcapRef(capped, n, 5);
  out.push(compare('softcap', 'ops:softcap', `${n}`, seed, await run(rt, [big], n, ([a]) => softcap(rt, a!, n, 5), 0), capped));
  return out;
}

/** A head_prep check: the kernel's shape arguments, plus which per-head parts the layer has. */
type PrepCase = Omit<HeadPrepArgs, 'rows' | 'pos0' | 'eps'> & { name: string; bias: boolean; norm: boolean };

/** shaders/head_prep.wgsl against the unfused CPU steps: bias, per-head RMSNorm, RoPE, Hadamard rotation. */
async function checkHeadPrep(rt: GpuRuntime, seed: number, c: PrepCase): Promise<CheckResult[]> {
  const next = rng(seed);
  const rows = 3, pos0 = 5, nCtx = 16, eps = 1e-6;
  const qD = c.nHead * c.headDimK, kD = c.nHeadKv * c.headDimK, vD = c.nHeadKv * c.headDimV;
  const q = normals(rows * qD, next, 2), k = normals(rows * kD, next, 2), v = normals(rows * vD, next, 2);
  const parts = {
    qBias: c.bias ? normals(qD, next) : undefined,
    kBias: c.bias ? normals(kD, next) : undefined,
    vBias: c.bias ? normals(vD, next) : undefined,
    qNorm: c.norm ? normals(c.headDimK, next) : undefined,
    kNorm: c.norm ? normals(c.headDimK, next) : undefined,
  };
  const want = [q.slice(), k.slice(), v.slice()];
  const refTable = ropeTableRef(pos0, rows, c.ropeDim, 10000, 1, undefined, 1);
  for (const [i, [bias, norm, nHead, hd]] of ([[parts.qBias, parts.qNorm, c.nHead, c.headDimK], [parts.kBias, parts.kNorm, c.nHeadKv, c.headDimK], [parts.vBias, undefined, c.nHeadKv, c.headDimV]] as const).entries()) {
    const x = want[i]!;
    if (bias) addBiasRef(x, bias, rows, nHead * hd);
    if (norm) rmsnormRef(x, x, norm, rows * nHead, hd, eps);
    if (i < 2) ropeRef(x, rows, nHead, hd, refTable, c.neox);
    if (c.rotate) rotateHeads(x, rows, nHead, hd);
  }
  const params = packHeadParams(rt, parts, 'check.head_params');
  const table = rt.pool.upload(ropeTable(nCtx, c.ropeDim, 10000, 1), 'scratch', 'rope');
  const bufs = [q, k, v].map((x, i) => rt.pool.upload(x, 'scratch', `prep${i}`));
  try {
    const args = { rows, nHead: c.nHead, nHeadKv: c.nHeadKv, headDimK: c.headDimK, headDimV: c.headDimV, ropeDim: c.ropeDim, neox: c.neox, pos0, eps, rotate: c.rotate };
    await runOnce(rt, await prepareHeadPrep(rt, { q: bufs[0]!, k: bufs[1]!, v: bufs[2]!, table, params }, args));
    const shape = `${rows} rows, heads ${c.nHead}/${c.nHeadKv} of ${c.headDimK}/${c.headDimV}, rope ${c.ropeDim}${c.neox ? ' neox' : ''}`;
    const out: CheckResult[] = [];
    for (const [i, side] of ['q', 'k', 'v'].entries()) {
      const got = new Float32Array(await rt.read(bufs[i]!, want[i]!.length * 4));
      out.push(compare('head_prep', `head_prep:main[WG=64] ${c.name} ${side}`, shape, seed, got, want[i]!));
    }
    return out;
  } finally {
    for (const b of [...bufs, table, ...(params.buffer ? [params.buffer] : [])]) rt.pool.release(b);
  }
}

/** Llama (RoPE only), qwen2 (biases, NEOX), qwen3-like with every part and the KV rotation, and heads wider than the workgroup. */
export const PREP_CASES: PrepCase[] = [
  { name: 'rope', nHead: 4, nHeadKv: 2, headDimK: 16, headDimV: 16, ropeDim: 16, neox: false, bias: false, norm: false, rotate: false },
  { name: 'bias+neox', nHead: 4, nHeadKv: 2, headDimK: 16, headDimV: 16, ropeDim: 16, neox: true, bias: true, norm: false, rotate: false },
  { name: 'all+rotate', nHead: 4, nHeadKv: 2, headDimK: 16, headDimV: 8, ropeDim: 12, neox: true, bias: true, norm: true, rotate: true },
  { name: 'wide heads', nHead: 2, nHeadKv: 1, headDimK: 256, headDimV: 128, ropeDim: 192, neox: false, bias: true, norm: true, rotate: true },
];

export async function runOpChecks(rt: GpuRuntime, seed: number): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  out.push(...(await checkNorms(rt, seed)));
  let s = seed + 1;
  for (const neox of [false, true]) {
    out.push(await checkRope(rt, s++, neox, 16, false));
    // Partial rotary (phi-4-mini: 96 of 128) with LongRoPE-style factors and attn_factor.
    out.push(await checkRope(rt, s++, neox, 12, true));
  }
  out.push(...(await checkElementwise(rt, s++)));
  for (const c of PREP_CASES) out.push(...(await checkHeadPrep(rt, s++, c)));
  // The fused decode kernels in the variant this device gets (all variants: test/engine-gpu/fused-kernels.test.ts).
  out.push(...(await runFusedChecks(rt, s++, false)));
  return out;
}
