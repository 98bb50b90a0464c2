// The measuring-only roundings of llama.cpp (src/engine/cpu/ggml-arith.ts, AttnOptions.ggmlF16):
// each stays within its f16 / f32 rounding of our exact ops, and actually rounds (not a no-op).
// The family oracle (e2e/families.spec.ts) shows they reproduce llama.cpp; this pins their size.
// Fresh seeded inputs (seed printed), poisoned outputs.
import { describe, expect, it } from 'vitest';
import { KvLayerRef } from '../../src/engine/kv/cache.ts';
import { resolveKvLayout } from '../../src/engine/kv/layout.ts';
import { kvAttention } from '../../src/engine/cpu/kv-attention.ts';
import { KV_CHECK_SHAPE } from '../../src/engine/kv/kv-checks.ts';
import { geglu, ropeTable } from '../../src/engine/cpu/math.ts';
import { gegluGgml, ropeTableGgml } from '../../src/engine/cpu/ggml-arith.ts';
import { roundToF16 } from '../../src/quant/f16.ts';
import { freshSeed, normals, rng } from '../../src/util/random.ts';

const seed = freshSeed();
console.log(`ggml arith seed=${seed}`);
const maxRel = (a: Float32Array | Float64Array, b: Float32Array | Float64Array) => {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) (m = Math.max(m, Math.abs(a[i]! - b[i]!))), (s = Math.max(s, Math.abs(b[i]!)));
  return m / s;
};

describe('llama.cpp roundings (measuring only)', () => {
  it('attention with f16 q, K/V and probabilities stays within f16 rounding of the exact one', () => {
    const next = rng(seed);
    const SH = { nHead: 6, nHeadKv: KV_CHECK_SHAPE.nHeadKv, headDimK: KV_CHECK_SHAPE.headDimK, headDimV: KV_CHECK_SHAPE.headDimV };
    const L = resolveKvLayout({ mode: 'f16' }, KV_CHECK_SHAPE);
    const cache = new KvLayerRef(L);
    for (const [pos0, nTok] of [[0, 7], [7, 1], [8, 3]] as const) {
      const q = normals(nTok * SH.nHead * SH.headDimK, next);
      const k = normals(nTok * L.k.dim, next, 2);
      const v = normals(nTok * L.v.dim, next);
      const scores = new Float64Array((SH.nHead / SH.nHeadKv) * (pos0 + nTok));
      const run = (o: Parameters<typeof kvAttention>[9]) => {
        const out = new Float32Array(nTok * SH.nHead * SH.headDimV).fill(NaN);
        kvAttention(out, cache, q, k, v, nTok, pos0, SH, scores, o);
        return out;
      };
      const exact = run({ scale: 0.3 });
      for (const preScaleQ of [false, true]) {
        const g = run({ scale: 0.3, ggmlF16: { preScaleQ } });
        const rel = maxRel(g, exact);
        expect(rel, `preScaleQ ${preScaleQ} at ${pos0}`).toBeLessThan(1e-2);
        expect(rel, 'the f16 roundings change the result').toBeGreaterThan(1e-6);
      }
      cache.store(pos0, nTok, k, v);
    }
  });

  it('RoPE angles by ggml f32 recurrence stay within 1e-5 of the exact table', () => {
    const factors = Float32Array.from({ length: 16 }, (_, i) => 1 + (i % 4));
    const exact = ropeTable(5, 40, 32, 500000, 1, factors, 1.19);
    const g = ropeTableGgml(5, 40, 32, 500000, 1, factors, 1.19);
    expect(maxRel(g.cos, exact.cos)).toBeLessThan(1e-5);
    expect(maxRel(g.sin, exact.sin)).toBeLessThan(1e-5);
  });

  it('GELU through an f16 table: f16-rounded, 0 at or below -10, identity at or above 10', () => {
    const next = rng(seed + 1);
    const x = normals(4096, next, 3);
    x.set([-10, -12, 10, 11.5], 0);
    const up = normals(4096, next);
    const a = Float32Array.from(x);
    const b = Float32Array.from(x);
    geglu(a, up, x.length);
    gegluGgml(b, up, x.length);
    expect([Math.abs(b[0]!), Math.abs(b[1]!)]).toEqual([0, 0]);
    expect([b[2], b[3]]).toEqual([Math.fround(10 * up[2]!), Math.fround(11.5 * up[3]!)]);
    for (let i = 4; i < x.length; i++) {
      const gelu = b[i]! / up[i]!;
      expect(Math.abs(gelu - roundToF16(gelu)), `entry ${i} is an f16 value times up`).toBeLessThan(1e-3 * Math.abs(gelu) + 1e-6);
    }
    expect(maxRel(b, a)).toBeLessThan(3e-3);
    expect(maxRel(b, a)).toBeGreaterThan(1e-6);
  });
});
