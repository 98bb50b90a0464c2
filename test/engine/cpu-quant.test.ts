// The pad256 fixtures: each quantized model's logits on its own greedy sequence and on the F32
// sequence match ggml's references, and KL / top-1 vs F32 reproduce the numbers in the JSON.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend.ts';
import { kld } from '../../src/engine/eval.ts';
import { PAD_TYPES } from '../formats/fixtures.ts';
import { argmax, cpuModel, fixtureF32, logSoftmax, maxRelRowError, ref } from './helpers.ts';

const V = 512;
const f32Name = 'stories260K-pad256-f32';
const f32 = await cpuModel(f32Name);
const tfInputs = ref(f32Name).input_tokens;
const f32Logits = await f32.forward(tfInputs, 0, true);

async function logitsOf(be: Backend, tokens: number[]): Promise<Float32Array> {
  be.truncate(0);
  return be.forward(tokens, 0, true);
}

describe('CPU backend on the pad256 fixtures', () => {
  it('pad256-f32 matches its reference', () => {
    expect(maxRelRowError(f32Logits, fixtureF32(`ref/${f32Name}.logits.f32`), V)).toBeLessThan(1e-5);
  });

  for (const type of PAD_TYPES) {
    const name = `stories260K-pad256-${type}`;
    it(`${type}: logits on its own and on the F32 sequence match; KL/top-1 vs F32 match the JSON`, async () => {
      const be = await cpuModel(name);
      const r = ref(name);
      // Measure: per position max|ours - ref| / max|ref|, worst over the 64 positions.
      const own = await logitsOf(be, r.input_tokens);
      expect(maxRelRowError(own, fixtureF32(`ref/${name}.logits.f32`), V)).toBeLessThan(1e-5);
      const tf = await logitsOf(be, r.teacher_forced!.input_tokens);
      expect(maxRelRowError(tf, fixtureF32(`ref/${name}.tf_logits.f32`), V)).toBeLessThan(1e-5);

      let klSum = 0;
      let agree = 0;
      const vs = r.vs_f32!;
      for (let p = 0; p < 64; p++) {
        const lp = logSoftmax(f32Logits.subarray(p * V, (p + 1) * V));
        const lq = logSoftmax(tf.subarray(p * V, (p + 1) * V));
        let kl = 0;
        for (let i = 0; i < V; i++) kl += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
        expect(Math.abs(kl - vs.kl_per_position[p]!)).toBeLessThan(1e-4 + 1e-3 * vs.kl_per_position[p]!);
        klSum += kl;
        if (argmax(lp) === argmax(lq)) agree++;
      }
      expect(klSum / 64).toBeCloseTo(vs.kl_mean, 4);
      expect(agree / 64).toBe(vs.top1_agreement);

      // eval.kld over one 64-token chunk scores positions 32..62: the JSON's per-position KL there.
      const res = await kld(f32, be, tfInputs, { ctx: 64 });
      const want = vs.kl_per_position.slice(32, 63);
      expect(res.scoredTokens).toBe(31);
      expect(res.kl.mean).toBeCloseTo(want.reduce((a, b) => a + b, 0) / want.length, 4);
    });
  }
});
