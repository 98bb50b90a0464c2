// The WASM element-wise ops (c/ops.c through WasmRuntime) against src/engine/cpu/math.ts (float64
// sums and Math.exp/tanh): RMSNorm (in place and not, rows of 8, 2048 and an odd width), RoPE
// (normal and NEOX pairs, partial rotary, LongRoPE-style attn_factor), SwiGLU and GELU over a wide
// range of inputs. Fresh random inputs from a printed seed (TABSHARD_SEED=<seed> replays); outputs
// start NaN. Tolerance: f32 arithmetic, |got - want| <= 1e-6 · (1 + |want|) (2e-6 for RoPE's
// f32 angles).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geglu, rmsnorm, rope, ropeTable, swiglu } from '../../src/engine/cpu/math.ts';
import { WasmRuntime } from '../../src/engine/wasm/runtime.ts';
import { freshSeed, normals, rng } from '../../src/util/random.ts';

const seed = freshSeed();
console.log(`cpu-wasm ops seed=${seed}`);
let rt: WasmRuntime;
beforeAll(async () => {
  rt = await WasmRuntime.create({ threads: 1 });
});
afterAll(() => rt.close());

function close(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    if (!(err <= tol)) expect.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
    worst = Math.max(worst, err);
  }
  expect(worst, `${what}: worst error`).toBeLessThan(tol);
}

describe('WASM element-wise ops', () => {
  it.each([[3, 8], [2, 2048], [4, 37]])('rmsnorm: %i rows of %i', (nTok, n) => {
    const next = rng(seed + n);
    const x = normals(nTok * n, next, 3);
    const w = normals(n, next);
    const want = new Float32Array(nTok * n).fill(NaN);
    rmsnorm(want, x, w, nTok, n, 1e-5);
    const got = new Float32Array(nTok * n).fill(NaN);
    rt.rmsnorm(got, x, w, nTok, n, 1e-5);
    close(got, want, 1e-6, 'rmsnorm');
    const inPlace = Float32Array.from(x);
    rt.rmsnorm(inPlace, inPlace, w, nTok, n, 1e-5);
    close(inPlace, want, 1e-6, 'rmsnorm in place');
  });

  it.each([[false, 16, 16], [true, 16, 16], [true, 64, 48], [false, 8, 6]])('rope neox=%s, head %i, rotary %i', (neox, headDim, ropeDim) => {
    const next = rng(seed + headDim + ropeDim);
    const nTok = 5;
    const nHeads = 3;
    const factors = Float32Array.from({ length: ropeDim / 2 }, () => 1 + 3 * next());
    const table = ropeTable(17, nTok, ropeDim, 10000, 1, factors, 1.19);
    const x = normals(nTok * nHeads * headDim, next);
    const want = Float32Array.from(x);
    rope(want, nTok, nHeads, headDim, table, neox);
    const got = Float32Array.from(x);
    rt.rope(got, nTok, nHeads, headDim, table, neox);
    close(got, want, 2e-6, 'rope');
  });

  it.each([['silu', swiglu], ['gelu', geglu]] as const)('%s gated', (act, ref) => {
    const next = rng(seed + act.length);
    const n = 4099;
    const g = normals(n, next, 6);
    g.set([0, -0.5, 50, -50, 100, -100], 0);
    const u = normals(n, next);
    const want = Float32Array.from(g);
    ref(want, u, n);
    const got = Float32Array.from(g);
    rt.gated(act, got, u, n);
    close(got, want, 1e-6, act);
  });
});
