import { describe, expect, it } from 'vitest';
import { applyRepeatPenalty, createSampler, filterCandidates, seededRandom } from '../../src/engine/sampler.ts';

// A hand-made distribution: logits ln(p) for p = [0.5, 0.2, 0.15, 0.1, 0.05].
const P = [0.5, 0.2, 0.15, 0.1, 0.05];
const logits = Float32Array.from(P.map(Math.log));

function histogram(seed: number, n: number, opts: Parameters<typeof createSampler>[0], l = logits): number[] {
  const s = createSampler({ seed, ...opts });
  const h = new Array<number>(l.length).fill(0);
  for (let i = 0; i < n; i++) h[s.sample(l)]!++;
  return h;
}

describe('sampler', () => {
  it('greedy picks the argmax; temperature 0 ignores the seed', () => {
    expect(createSampler().sample(logits)).toBe(0);
    expect(createSampler({ temperature: 0, seed: 7 }).sample(Float32Array.of(1, 3, 2))).toBe(1);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const run = (seed: number): number[] => {
      const s = createSampler({ temperature: 1, seed });
      return Array.from({ length: 50 }, () => s.sample(logits));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    const r = seededRandom(1);
    const xs = Array.from({ length: 1000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('temperature 1 samples the softmax distribution', () => {
    const n = 20000;
    const h = histogram(3, n, { temperature: 1 });
    h.forEach((c, i) => expect(Math.abs(c / n - P[i]!)).toBeLessThan(0.015));
    // Low temperature sharpens: token 0 dominates.
    expect(histogram(3, 2000, { temperature: 0.2 })[0]!).toBeGreaterThan(1900);
  });

  it('top-k keeps the k best', () => {
    expect(filterCandidates(logits, [], { topK: 2 }).ids).toEqual([0, 1]);
    const h = histogram(5, 3000, { temperature: 1, topK: 2 });
    expect(h.slice(2)).toEqual([0, 0, 0]);
    expect(h[0]! / h[1]!).toBeGreaterThan(2); // 0.5 : 0.2 renormalised
  });

  it('top-p keeps the smallest prefix reaching p', () => {
    expect(filterCandidates(logits, [], { topP: 0.5 }).ids).toEqual([0]);
    expect(filterCandidates(logits, [], { topP: 0.7 }).ids).toEqual([0, 1]);
    expect(filterCandidates(logits, [], { topP: 0.71 }).ids).toEqual([0, 1, 2]);
    expect(filterCandidates(logits, [], { topP: 1 }).ids).toHaveLength(5);
  });

  it('min-p drops tokens below minP * p_max', () => {
    expect(filterCandidates(logits, [], { minP: 0.29 }).ids).toEqual([0, 1, 2]); // cut 0.145
    expect(filterCandidates(logits, [], { minP: 0.41 }).ids).toEqual([0]); // cut 0.205
  });

  it('repetition penalty divides positive and multiplies negative logits of recent tokens', () => {
    const l = Float64Array.of(2, -2, 1, 3);
    applyRepeatPenalty(l, [0, 1, 1, 3], 2, 3); // window: tokens 1, 1, 3
    expect([...l]).toEqual([2, -4, 1, 1.5]);
    // Greedy with a penalty moves off a repeated argmax.
    const s = createSampler({ repeatPenalty: 4, repeatLastN: 8 });
    expect(s.sample(Float32Array.of(4, 3, 0), [0])).toBe(1);
    expect(s.sample(Float32Array.of(4, 3, 0), [2])).toBe(0);
  });
});
