// Kernel checks in the spirit of ggml's test-backend-ops: every kernel variant against its CPU
// reference on fresh random inputs with a poisoned output buffer. The same cases run in Vitest on
// Dawn-in-Node and on the e2e kernel page in Chromium (Tint) and Firefox (naga).
import type { GpuRuntime } from './runtime.ts';
import { rng, normals } from '../util/random.ts';
import { copyReference, prepareCopy } from './kernels/copy.ts';
import { matvecF32Reference, matvecF32Variant, prepareMatvecF32 } from './kernels/matvec-f32.ts';
import { pipelineKey } from './pipelines.ts';
import { poison, runOnce, type CheckResult } from './check-util.ts';
import { runQuantChecks } from './quant-checks.ts';
import { runKvChecks } from '../engine/kv/kv-checks.ts';
import { runOpChecks } from '../engine/gpu/op-checks.ts';

export type { CheckResult } from './check-util.ts';

async function checkCopy(rt: GpuRuntime, seed: number, words: number): Promise<CheckResult> {
  const next = rng(seed);
  const src = new Uint32Array(words);
  for (let i = 0; i < words; i++) src[i] = (next() * 2 ** 32) >>> 0;
  const a = rt.pool.upload(src, 'scratch', 'copy.src');
  const b = rt.pool.acquire(src.byteLength, 'scratch', 'copy.dst');
  try {
    poison(rt, b);
    await runOnce(rt, await prepareCopy(rt, a, b, src.byteLength));
    const got = new Uint32Array(await rt.read(b, src.byteLength));
    const want = copyReference(src);
    let bad = 0;
    for (let i = 0; i < words; i++) if (got[i] !== want[i]) bad++;
    return { kernel: 'copy', variant: 'copy:main[WG=256]', shape: `${words * 4} B`, seed, ok: bad === 0, maxError: bad, tolerance: 'exact (count of differing words)' };
  } finally {
    rt.pool.release(a);
    rt.pool.release(b);
  }
}

async function checkMatvec(rt: GpuRuntime, seed: number, rows: number, cols: number, subgroups: boolean, wg: number): Promise<CheckResult> {
  const next = rng(seed);
  const w = normals(rows * cols, next);
  const x = normals(cols, next);
  const opts = { subgroups, workgroupSize: wg };
  const bw = rt.pool.upload(w, 'scratch', 'w');
  const bx = rt.pool.upload(x, 'scratch', 'x');
  const by = rt.pool.acquire(rows * 4, 'scratch', 'y');
  try {
    poison(rt, by);
    await runOnce(rt, await prepareMatvecF32(rt, bw, bx, by, rows, cols, opts));
    const got = new Float32Array(await rt.read(by, rows * 4));
    const { y, mag } = matvecF32Reference(w, x, rows, cols);
    let maxError = 0;
    let ok = true;
    for (let r = 0; r < rows; r++) {
      const err = Math.abs(got[r] - y[r]);
      // Each invocation adds cols/WG products in order, then log2(WG) reduction steps: the f32
      // rounding error is below (cols/WG + log2 WG) * 2^-24 * sum|w x|; 1e-5 * sum|w x| covers
      // cols/WG up to ~150 with margin.
      const tol = 1e-5 * mag[r] + 1e-30;
      if (!(err <= tol)) ok = false;
      maxError = Math.max(maxError, Number.isFinite(err) ? err / (mag[r] || 1) : Infinity);
    }
    const variant = pipelineKey(matvecF32Variant(rt, opts));
    return { kernel: 'matvec_f32', variant, shape: `${rows}x${cols}`, seed, ok, maxError, tolerance: '|y - ref| <= 1e-5 * sum|w*x| per row (maxError is relative to that sum)' };
  } finally {
    rt.pool.release(bw);
    rt.pool.release(bx);
    rt.pool.release(by);
  }
}

export type CheckSuite = 'base' | 'quant' | 'kv' | 'ops';

/** Run every kernel check once. `seed` drives all inputs; pass a fresh one per run and print it. */
export async function runKernelChecks(rt: GpuRuntime, seed: number, suites: readonly CheckSuite[] = ['base', 'quant', 'kv', 'ops']): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  if (suites.includes('ops')) out.push(...(await runOpChecks(rt, seed + 3000)));
  if (suites.includes('kv')) out.push(...(await runKvChecks(rt, seed + 2000)));
  if (suites.includes('quant')) out.push(...(await runQuantChecks(rt, seed + 1000)));
  if (!suites.includes('base')) return out;
  let s = seed;
  for (const words of [4, 260, (1 << 18) + 28]) out.push(await checkCopy(rt, s++, words));
  const shapes: [number, number][] = [[1, 1], [7, 33], [65, 130], [256, 256], [1000, 1024]];
  const subgroupModes = rt.has('subgroups') ? [false, true] : [false];
  for (const sub of subgroupModes) {
    for (const wg of [64, 256]) {
      if (wg > rt.limits.maxComputeInvocationsPerWorkgroup) continue;
      for (const [r, c] of shapes) out.push(await checkMatvec(rt, s++, r, c, sub, wg));
    }
  }
  // More rows than one grid dimension holds (65535): the dispatch helper must spread them over y.
  out.push(await checkMatvec(rt, s++, rt.limits.maxComputeWorkgroupsPerDimension + 77, 2, false, 64));
  return out;
}
