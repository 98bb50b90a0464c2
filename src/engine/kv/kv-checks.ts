// Kernel checks for the compressed KV cache (suite 'kv' of src/gpu/kernel-checks.ts): append
// (quantize + ring) over a sequence of batches whose ring wraps, with group widths that do not fill
// whole words; attention over a compressed cache (prefill and decode, GQA); the Hadamard rotation.
// Every GPU output buffer starts poisoned (NaN); inputs are fresh random normals from the seed.
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { poison, runOnce, type CheckResult } from '../../gpu/check-util.ts';
import { pipelineKey } from '../../gpu/pipelines.ts';
import { normals, rng } from '../../util/random.ts';
import { KvLayerRef, attentionRef } from './cache.ts';
import { levels, unpackHi, unpackLo } from './quant.ts';
import { resolveKvLayout, type KvLayout, type KvOptions, type KvShape } from './layout.ts';
import { attentionVariant, kvStoreVariant, prepareKvAttention, prepareKvStore, prepareRotate } from './gpu-kv.ts';
import { rotateHeads } from './hadamard.ts';
import type { PreparedDispatch } from '../../gpu/dispatch.ts';

async function runAll(rt: GpuRuntime, ds: PreparedDispatch[]): Promise<void> {
  for (const d of ds) await runOnce(rt, d);
}

/** Per-element tolerance of a stored value, from the CPU's copy of the same row. */
function storeTolerance(L: KvLayout, side: 'k' | 'v', ref: KvLayerRef, p: number, c: number, want: number): number {
  const s = L[side];
  if (L.mode === 'f32') return 0;
  if (p >= ref.quantized) return Math.abs(want) * 2 ** -10; // f16: the GPU may round the other way
  const words = side === 'k' ? ref.k : ref.v;
  const sw = words[p * s.rowWords + Math.floor(c / s.group) * s.groupWords]!;
  const d = unpackLo(sw);
  // One code step (a rounding boundary where the GPU's 1/d differs by an ulp), plus an f16 ulp of
  // d and m if the GPU's f32→f16 conversion rounds the other way.
  return 1.001 * d + 2 ** -10 * (Math.abs(unpackHi(sw)) + levels(L.bits) * d) + 1e-7;
}

async function checkStore(rt: GpuRuntime, seed: number, opts: KvOptions, shape: KvShape, batches: [number, number][], separate = false): Promise<CheckResult> {
  const next = rng(seed);
  const L = resolveKvLayout(opts, shape);
  const ref = new KvLayerRef(L);
  const kc = rt.pool.acquire(L.k.words * 4, 'scratch', 'kv.k');
  const vc = rt.pool.acquire(L.v.words * 4, 'scratch', 'kv.v');
  const kn = rt.pool.acquire(16 * L.k.dim * 4, 'scratch', 'kv.kn');
  const vn = rt.pool.acquire(16 * L.v.dim * 4, 'scratch', 'kv.vn');
  let quantized = 0;
  let end = 0;
  let worst = 0;
  let ok = true;
  let steps = 0;
  let total = 0;
  try {
    poison(rt, kc);
    poison(rt, vc);
    for (const [pos0, nTok] of batches) {
      const k = normals(nTok * L.k.dim, next, 2);
      const v = normals(nTok * L.v.dim, next);
      rt.device.queue.writeBuffer(kn, 0, k.buffer as ArrayBuffer, k.byteOffset, k.byteLength);
      rt.device.queue.writeBuffer(vn, 0, v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
      const q0 = Math.min(quantized, pos0);
      const q1 = L.quantized ? Math.max(q0, pos0 + nTok - L.window) : 0;
      const a = { pos0, nTok, q0, q1 };
      await runAll(rt, await prepareKvStore(rt, L, { kc, vc, kn, vn }, a, separate));
      ref.store(pos0, nTok, k, v);
      quantized = q1;
      end = pos0 + nTok;
    }
    const gpu = new KvLayerRef(L);
    gpu.k.set(new Uint32Array(await rt.read(kc, L.k.words * 4)));
    gpu.v.set(new Uint32Array(await rt.read(vc, L.v.words * 4)));
    gpu.quantized = quantized;
    for (const side of ['k', 'v'] as const) {
      const got = gpu.dequantize(side, end);
      const want = ref.dequantize(side, end);
      const dim = L[side].dim;
      for (let i = 0; i < want.length; i++) {
        const p = Math.floor(i / dim);
        const tol = storeTolerance(L, side, ref, p, i % dim, want[i]!);
        const err = Math.abs(got[i]! - want[i]!);
        total++;
        if (err > 0) steps++;
        if (!(err <= tol)) ok = false;
        worst = Math.max(worst, Number.isFinite(err) ? err / Math.max(tol, 1e-30) : Infinity);
      }
    }
    // Off-by-one codes are rounding ties; many of them would be a real bug.
    if (L.quantized && steps > 0.02 * total) ok = false;
  } finally {
    for (const b of [kc, vc, kn, vn]) rt.pool.release(b);
  }
  const variant = `${pipelineKey(kvStoreVariant(L, 'quantize'))}+ring${separate ? ' (K, V separately)' : ''}`;
  return {
    kernel: 'kv_store',
    variant: `${variant} ${L.mode} g${L.k.group}/${L.v.group} w${L.window}`,
    shape: `dims ${L.k.dim}/${L.v.dim} ctx ${L.nCtx}, ${batches.length} batches to ${end} (quantized ${quantized})`,
    seed,
    ok,
    maxError: worst,
    tolerance: 'per element vs CPU: f32 exact; f16 ring 2^-10 relative; quantized ≤ one code step + f16 ulps of d, m; ≤ 2% of elements differ (maxError is err/tol)',
    detail: `${steps}/${total} elements differ`,
  };
}

async function checkAttention(rt: GpuRuntime, seed: number, opts: KvOptions, nTok: number, ao: { softcap?: number; window?: number; rotateOut?: boolean } = {}): Promise<CheckResult> {
  const next = rng(seed);
  const sh = { nHead: 4, nHeadKv: 2, headDimK: 16, headDimV: 8 };
  const L = resolveKvLayout(opts, { nCtx: 48, ...sh });
  const ref = new KvLayerRef(L);
  // Fill the cache on the CPU: three batches, so some positions are quantized and the ring has wrapped.
  let pos = 0;
  for (const n of [13, 9, 7]) {
    ref.store(pos, n, normals(n * L.k.dim, next, 2), normals(n * L.v.dim, next));
    pos += n;
  }
  const q0 = ref.q0(pos);
  const q = normals(nTok * sh.nHead * sh.headDimK, next);
  const kNew = normals(nTok * L.k.dim, next, 2);
  const vNew = normals(nTok * L.v.dim, next);
  // Scores of ~N(0, 2·4) with scale 0.5: a soft-cap of 1.5 bends most of them.
  const scale = ao.softcap ? 0.5 : 1 / Math.sqrt(sh.headDimK);
  const want = attentionRef(ref, q, kNew, vNew, nTok, pos, sh, { scale, softcap: ao.softcap, window: ao.window });
  // ROTATE_OUT: the output heads rotated back inside the kernel, as kv_rotate would after it.
  if (ao.rotateOut) rotateHeads(want, nTok, sh.nHead, sh.headDimV);
  const bufs = {
    q: rt.pool.upload(q, 'scratch', 'q'),
    kc: rt.pool.upload(ref.k, 'scratch', 'kc'),
    vc: rt.pool.upload(ref.v, 'scratch', 'vc'),
    kn: rt.pool.upload(kNew, 'scratch', 'kn'),
    vn: rt.pool.upload(vNew, 'scratch', 'vn'),
    o: rt.pool.acquire(want.byteLength, 'scratch', 'o'),
  };
  try {
    poison(rt, bufs.o);
    await runOnce(rt, await prepareKvAttention(rt, L, bufs, { ...sh, nTok, pos0: pos, q0, scale, ...ao }));
    const got = new Float32Array(await rt.read(bufs.o, want.byteLength));
    // Outputs are convex combinations of V rows: the f32 error is relative to the largest |v|.
    let vmax = 0;
    for (const x of [...ref.dequantize('v', pos, q0), ...vNew]) vmax = Math.max(vmax, Math.abs(x));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Number.isFinite(got[i]!) ? Math.abs(got[i]! - want[i]!) / vmax : Infinity);
    return {
      kernel: 'attention',
      variant: `${pipelineKey(attentionVariant(L, ao.rotateOut))} ${L.mode} g${L.k.group}/${L.v.group} w${L.window}${ao.softcap ? ` softcap ${ao.softcap}` : ''}${ao.window ? ` swa ${ao.window}` : ''}`,
      shape: `${nTok} tok at pos ${pos} (q0 ${q0}), heads ${sh.nHead}/${sh.nHeadKv}, dims ${sh.headDimK}/${sh.headDimV}`,
      seed,
      ok: worst <= 3e-5,
      maxError: worst,
      tolerance: '|o - ref| ≤ 3e-5 · max|v| (f64 reference over the same compressed cache)',
    };
  } finally {
    for (const b of Object.values(bufs)) rt.pool.release(b);
  }
}

async function checkRotate(rt: GpuRuntime, seed: number, rows: number, nHead: number, headDim: number): Promise<CheckResult> {
  const x = normals(rows * nHead * headDim, rng(seed), 3);
  const buf = rt.pool.upload(x, 'scratch', 'x');
  try {
    await runOnce(rt, await prepareRotate(rt, buf, { rows, nHead, headDim }));
    const got = new Float32Array(await rt.read(buf, x.byteLength));
    const want = x.slice();
    rotateHeads(want, rows, nHead, headDim);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Number.isFinite(got[i]!) ? Math.abs(got[i]! - want[i]!) / 3 : Infinity);
    // log2(headDim) f32 butterfly stages on values ~N(0, 9·headDim^(stage)): error ≲ log2(d)·2^-24·|x|·√d.
    const tol = 1e-6 * Math.sqrt(headDim) * Math.log2(headDim);
    return { kernel: 'kv_rotate', variant: 'kv_rotate:main[WG=64]', shape: `${rows}x${nHead}x${headDim}`, seed, ok: worst <= tol, maxError: worst, tolerance: `|y - ref| ≤ ${tol.toExponential(1)} · σ(x)` };
  } finally {
    rt.pool.release(buf);
  }
}

/**
 * The awkward geometry the cache checks use (the GPU ones here, the CPU backend's in
 * test/kv/cpu-attention.test.ts): K rows of 48 (3 heads of 16), V rows of 30 (3 heads of 10), so
 * groups of 24 and 15 channels fill no whole number of words at 3 bits; a 37-position context.
 */
export const KV_CHECK_SHAPE: KvShape = { nCtx: 37, nHeadKv: 3, headDimK: 16, headDimV: 10 };
/** Every mode, with windows that wrap many times (5, 7 slots), none, and groups that straddle heads. */
export const KV_CHECK_CASES: readonly KvOptions[] = [
  { mode: 'f32' },
  { mode: 'f16' },
  { mode: 'q8', group: 16, window: 5 },
  { mode: 'q4', group: 24, window: 0 },
  { mode: 'q3', group: 24, window: 5 },
  { mode: 'q2', window: 7 },
];

export async function runKvChecks(rt: GpuRuntime, seed: number): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  let s = seed;
  // Batches: prefill, decodes, a larger batch, then a rewrite from position 20 (forgets what follows).
  const batches: [number, number][] = [[0, 6], [6, 1], [7, 1], [8, 11], [19, 2], [21, 1], [22, 9], [31, 1], [20, 4], [24, 1]];
  for (const c of KV_CHECK_CASES) out.push(await checkStore(rt, s++, c, KV_CHECK_SHAPE, batches));
  // The unfused baseline's one-side-per-dispatch stores.
  for (const c of [KV_CHECK_CASES[1]!, KV_CHECK_CASES[4]!]) out.push(await checkStore(rt, s++, c, KV_CHECK_SHAPE, batches, true));
  for (const c of [{ mode: 'f16' }, { mode: 'q8', group: 16, window: 6 }, { mode: 'q4', group: 8, window: 6 }, { mode: 'q3', group: 12, window: 6 }, { mode: 'q2', group: 16, window: 0 }] as KvOptions[]) {
    for (const nTok of [1, 5]) out.push(await checkAttention(rt, s++, c, nTok));
  }
  // The rotating modes' output rotation inside the kernel (the fused decode path).
  for (const nTok of [1, 5]) out.push(await checkAttention(rt, s++, { mode: 'q4', group: 8, window: 6 }, nTok, { rotateOut: true }));
  out.push(await checkAttention(rt, s++, { mode: 'q2', group: 16, window: 0 }, 1, { rotateOut: true, window: 9 }));
  out.push(await checkAttention(rt, s++, { mode: 'f32' }, 3));
  // Family options: gemma2's soft-cap, a sliding window shorter than the context (reaching into
  // the quantized rows and the ring), both at once.
  out.push(await checkAttention(rt, s++, { mode: 'f16' }, 3, { softcap: 1.5 }));
  out.push(await checkAttention(rt, s++, { mode: 'q8', group: 16, window: 6 }, 5, { window: 11 }));
  out.push(await checkAttention(rt, s++, { mode: 'q4', group: 8, window: 6 }, 1, { window: 4, softcap: 2 }));
  out.push(await checkRotate(rt, s++, 5, 3, 64));
  out.push(await checkRotate(rt, s++, 2, 8, 8));
  return out;
}
