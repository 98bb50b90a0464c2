// The planner is a pure function: checked against brute force on seeded random cases, plus the
// rules it promises (memory, contiguity, fewest participants, spares, replicate, custom, errors).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { freshSeed, rng } from '../../src/util/random.ts';
import { modelCosts } from '../../src/shard/costs.ts';
import { layerBudget, makeStage, plan, planSeconds, rangeMemory } from '../../src/shard/planner.ts';
import type { ModelCosts, Participant, Plan, Stage } from '../../src/shard/planner.ts';

function costsOf(weights: number[], opts: Partial<ModelCosts> = {}): ModelCosts {
  const L = weights.length;
  return {
    nLayer: L, nCtx: 10, layerWeightBytes: weights, layerWeightBytesByType: weights.map((w) => ({ q4_K: w })),
    kvBytesPerToken: new Array<number>(L).fill(1), layerSeconds: new Array<number>(L).fill(0.001),
    embeddingBytes: 50, headBytes: 50, embedSeconds: 0.0001, headSeconds: 0.0005, hiddenBytesPerToken: 1024, ...opts,
  };
}

const peer = (id: string, memoryBytes: number, more: Partial<Participant> = {}): Participant =>
  ({ id, memoryBytes, rttSeconds: 0.03, bandwidthBytesPerSecond: 1.25e6, ...more });

/** Every rule a returned pipeline must satisfy. */
function checkValid(costs: ModelCosts, ps: readonly Participant[], p: Plan): void {
  const byId = new Map(ps.map((x) => [x.id, x]));
  let next = 0;
  const seen = new Set<string>();
  for (const s of p.stages) {
    expect(s.from).toBe(next);
    expect(s.to).toBeGreaterThan(s.from);
    expect(seen.has(s.participant)).toBe(false);
    seen.add(s.participant);
    expect(rangeMemory(costs, s.from, s.to)).toBeLessThanOrEqual(layerBudget(costs, byId.get(s.participant)!));
    next = s.to;
  }
  expect(next).toBe(costs.nLayer);
  for (const s of [...p.spares, ...p.replicas]) {
    expect(s.memoryBytes).toBeLessThanOrEqual(layerBudget(costs, byId.get(s.participant)!));
  }
}

/** Every ordered choice of distinct participants × every split of the layers into that many ranges. */
function bruteForce(costs: ModelCosts, ps: readonly Participant[], objective: 'fewest' | 'fastest'): { n: number; seconds: number } | undefined {
  const L = costs.nLayer;
  // The coordinator must hold the embedding and head whether or not it runs layers.
  if (ps.some((p) => p.coordinator && layerBudget(costs, p) < 0)) return undefined;
  let best: { n: number; seconds: number } | undefined;
  const rec = (l: number, used: Set<number>, stages: Stage[]): void => {
    if (l === L) {
      const c = { n: stages.length, seconds: planSeconds(costs, stages) };
      const wins = !best || (objective === 'fewest' && c.n !== best.n ? c.n < best.n : c.seconds < best.seconds - 1e-12);
      if (wins) best = c;
      return;
    }
    for (let i = 0; i < ps.length; i++) {
      if (used.has(i)) continue;
      for (let l2 = l + 1; l2 <= L; l2++) {
        if (rangeMemory(costs, l, l2) > layerBudget(costs, ps[i]!)) break;
        used.add(i);
        rec(l2, used, [...stages, makeStage(costs, ps[i]!, l, l2)]);
        used.delete(i);
      }
    }
  };
  rec(0, new Set(), []);
  return best;
}

function randomCase(next: () => number): { costs: ModelCosts; ps: Participant[] } {
  const L = 1 + Math.floor(next() * 6);
  const weights = Array.from({ length: L }, () => 50 + Math.floor(next() * 100));
  const costs = costsOf(weights, {
    kvBytesPerToken: weights.map(() => Math.floor(next() * 3)),
    layerSeconds: weights.map(() => 0.0005 + next() * 0.002),
  });
  const n = 1 + Math.floor(next() * 5);
  const ps = Array.from({ length: n }, (_, i) => peer(`p${i}`, Math.floor(next() * 500), {
    speed: 0.5 + next() * 2,
    rttSeconds: i === 0 ? 0 : next() * 0.05,
    bandwidthBytesPerSecond: i === 0 ? Infinity : 1e5 + next() * 1e7,
    coordinator: i === 0 && next() < 0.5,
    ...(next() < 0.2 ? { layerSeconds: next() * 0.003 } : {}),
  }));
  return { costs, ps };
}

describe('planner', () => {
  it('is optimal against brute force on random cases (fewest, then fastest; and fastest)', () => {
    const seed = freshSeed();
    console.log(`planner brute-force seed ${seed} (TABSHARD_SEED=${seed} to replay)`);
    const next = rng(seed);
    let feasible = 0;
    for (let c = 0; c < 400; c++) {
      const { costs, ps } = randomCase(next);
      for (const objective of ['fewest', 'fastest'] as const) {
        const want = bruteForce(costs, ps, objective);
        if (!want) {
          let err: unknown;
          try { plan(costs, ps, { strategy: 'layers', objective }); } catch (e) { err = e; }
          expect(err).toMatchObject({ name: 'PlanError', problem: 'infeasible' });
          expect((err as { missingBytes: number }).missingBytes).toBeGreaterThan(0);
          continue;
        }
        feasible++;
        const got = plan(costs, ps, { strategy: 'layers', objective });
        checkValid(costs, ps, got);
        expect(got.stages.length, `case ${c}`).toBe(want.n);
        expect(got.secondsPerToken).toBeCloseTo(want.seconds, 12);
      }
    }
    expect(feasible).toBeGreaterThan(200);
  });

  it('uses the fewest participants that fit, even when they are slower', () => {
    const costs = costsOf([100, 100, 100, 100]);
    const big = peer('big', 1000, { rttSeconds: 0, bandwidthBytesPerSecond: Infinity });
    const ps = [peer('a', 250, { speed: 4 }), peer('b', 250, { speed: 4 }), big];
    const p = plan(costs, ps, { strategy: 'layers' });
    expect(p.stages.map((s) => s.participant)).toEqual(['big']);
    // Only when memory forces it does a plan use two.
    const two = plan(costs, [peer('a', 250), peer('b', 250), peer('c', 250)], { strategy: 'layers' });
    expect(two.stages.length).toBe(2);
    expect(two.stages.map((s) => s.to - s.from)).toEqual([2, 2]);
  });

  it("'fastest' may use more participants when their speed outweighs the hop", () => {
    const costs = costsOf([100, 100, 100, 100], { layerSeconds: [0.1, 0.1, 0.1, 0.1] });
    const ps = [peer('slow', 1000, { rttSeconds: 0, bandwidthBytesPerSecond: Infinity }), peer('fast', 250, { speed: 10 })];
    expect(plan(costs, ps, { strategy: 'layers' }).stages.length).toBe(1);
    const f = plan(costs, ps, { strategy: 'layers', objective: 'fastest' });
    expect(f.stages.map((s) => s.participant).sort()).toEqual(['fast', 'slow']);
  });

  it('charges the embedding and head to the coordinator', () => {
    const costs = costsOf([100, 100]);
    const ps = [peer('me', 250, { coordinator: true, rttSeconds: 0, bandwidthBytesPerSecond: Infinity }), peer('r', 1000)];
    const p = plan(costs, ps, { strategy: 'layers' });
    expect(p.stages).toHaveLength(1);
    expect(p.stages[0]!.participant).toBe('r'); // 'me' has 150 left for layers: not enough
    expect(() => plan(costs, [peer('me', 60, { coordinator: true })], { strategy: 'layers' }))
      .toThrow(expect.objectContaining({ name: 'PlanError', problem: 'infeasible', missingBytes: 40 }));
  });

  it('places spares on unused participants, best fit, and only when asked', () => {
    const costs = costsOf([100, 100, 100, 100]);
    const ps = [peer('a', 230), peer('b', 230), peer('s1', 225), peer('s2', 300, { rttSeconds: 0.1 }), peer('tiny', 50)];
    expect(plan(costs, ps, { strategy: 'layers' }).spares).toEqual([]);
    const p = plan(costs, ps, { strategy: 'layers', spares: true });
    checkValid(costs, ps, p);
    expect(p.stages.map((s) => s.participant).sort()).toEqual(['a', 'b']);
    expect(p.spares).toHaveLength(2);
    for (const sp of p.spares) {
      expect(p.stages.some((s) => s.from === sp.from && s.to === sp.to)).toBe(true);
      expect(['s1', 's2']).toContain(sp.participant);
    }
    // Each stage got one spare (two rounds are not needed for two spares).
    expect(new Set(p.spares.map((s) => s.from)).size).toBe(2);
  });

  it('numbers: two equal laptops are slower than one for TinyLlama-sized layers', () => {
    // 22 layers × 1.1 ms; hop RTT 30 ms, 8 KiB over 1.25 MB/s.
    const costs = costsOf(new Array<number>(22).fill(30e6), { layerSeconds: new Array<number>(22).fill(0.0011), hiddenBytesPerToken: 8192 });
    const one = plan(costs, [peer('a', 1e9)], { strategy: 'custom', custom: [{ participant: 'a', from: 0, to: 22 }] });
    const two = plan(costs, [peer('a', 1e9), peer('b', 1e9)], {
      strategy: 'custom', custom: [{ participant: 'a', from: 0, to: 11 }, { participant: 'b', from: 11, to: 22 }],
    });
    expect(two.secondsPerToken - one.secondsPerToken).toBeCloseTo(0.03 + (2 * 8192) / 1.25e6, 9);
  });

  it('replicate: every participant that holds the whole model, fastest first', () => {
    const costs = costsOf([100, 100, 100]);
    const ps = [peer('a', 400, { speed: 1 }), peer('b', 200), peer('c', 330, { speed: 3 }), peer('d', 1000, { speed: 2 })];
    const p = plan(costs, ps, { strategy: 'replicate' });
    checkValid(costs, ps, p);
    expect(p.stages.map((s) => s.participant)).toEqual(['c']);
    expect(p.replicas.map((s) => s.participant)).toEqual(['d', 'a']);
    expect(() => plan(costs, [peer('b', 200)], { strategy: 'replicate' }))
      .toThrow(expect.objectContaining({ name: 'PlanError', problem: 'infeasible', missingBytes: 130 }));
  });

  it('custom: returns a valid plan and names each problem', () => {
    const costs = costsOf([100, 100, 100]);
    const ps = [peer('a', 400), peer('b', 200), peer('c', 150)];
    const ok = plan(costs, ps, { strategy: 'custom', custom: [{ participant: 'a', from: 0, to: 2 }, { participant: 'c', from: 2, to: 3 }] });
    checkValid(costs, ps, ok);
    expect(ok.stages.map((s) => [s.participant, s.from, s.to])).toEqual([['a', 0, 2], ['c', 2, 3]]);
    const bad = (custom: { participant: string; from: number; to: number }[]): unknown => {
      try { plan(costs, ps, { strategy: 'custom', custom }); } catch (e) { return e; }
      return undefined;
    };
    expect(bad([{ participant: 'a', from: 0, to: 1 }, { participant: 'b', from: 2, to: 3 }])).toMatchObject({ name: 'PlanError', problem: 'gap' });
    expect(bad([{ participant: 'a', from: 0, to: 2 }, { participant: 'b', from: 1, to: 3 }])).toMatchObject({ name: 'PlanError', problem: 'overlap' });
    expect(bad([{ participant: 'a', from: 0, to: 2 }])).toMatchObject({ name: 'PlanError', problem: 'incomplete' });
    expect(bad([{ participant: 'a', from: 1, to: 3 }])).toMatchObject({ name: 'PlanError', problem: 'gap' });
    expect(bad([{ participant: 'a', from: 0, to: 0 }])).toMatchObject({ name: 'PlanError', problem: 'empty-range' });
    expect(bad([{ participant: 'zz', from: 0, to: 3 }])).toMatchObject({ name: 'PlanError', problem: 'unknown-participant', participant: 'zz' });
    expect(bad([{ participant: 'a', from: 0, to: 1 }, { participant: 'a', from: 1, to: 3 }])).toMatchObject({ name: 'PlanError', problem: 'duplicate-participant' });
    expect(bad([{ participant: 'a', from: 0, to: 4 }])).toMatchObject({ name: 'PlanError', problem: 'bad-input' });
    expect(bad([{ participant: 'b', from: 0, to: 3 }])).toMatchObject({ name: 'PlanError', problem: 'memory', participant: 'b', missingBytes: 130 });
    expect(bad([])).toMatchObject({ name: 'PlanError', problem: 'incomplete' });
  });

  it('infeasible: PlanError with the missing bytes', () => {
    const costs = costsOf([100, 100, 100]); // 110 bytes per layer with KV
    const err = (() => { try { plan(costs, [peer('a', 110), peer('b', 110)], { strategy: 'layers' }); } catch (e) { return e; } })();
    expect(err).toMatchObject({ name: 'PlanError', problem: 'infeasible', missingBytes: 110 });
    expect(String((err as Error).message)).toMatch(/110 bytes/);
    expect(() => plan(costs, [], { strategy: 'layers' })).toThrow(expect.objectContaining({ name: 'PlanError', problem: 'no-participants' }));
  });

  it('many participants (ordered DP above 8) still gives valid, fewest-count plans', () => {
    const next = rng(7);
    const costs = costsOf(Array.from({ length: 24 }, () => 100 + Math.floor(next() * 50)));
    const ps = Array.from({ length: 12 }, (_, i) => peer(`p${i}`, 400 + Math.floor(next() * 600), { speed: 0.5 + next() }));
    const p = plan(costs, ps, { strategy: 'layers', spares: true });
    checkValid(costs, ps, p);
    const total = rangeMemory(costs, 0, 24);
    const biggest = [...ps].sort((a, b) => b.memoryBytes - a.memoryBytes);
    let need = 0;
    for (let acc = 0; acc < total; need++) acc += biggest[need]!.memoryBytes;
    expect(p.stages.length).toBeLessThanOrEqual(need + 1); // within one of the memory lower bound
    expect(p.spares.length).toBeGreaterThan(0);
  });

  it('modelCosts reads per-layer bytes from the fixture GGUF', () => {
    const file = parseGguf(new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf')));
    const c = modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 });
    expect(c.nLayer).toBe(5);
    const total = file.tensors.reduce((s, t) => s + t.byteSize, 0);
    expect(c.layerWeightBytes.reduce((a, b) => a + b, 0) + c.embeddingBytes + c.headBytes).toBe(total);
    expect(c.kvBytesPerToken[0]).toBe(4 * 8 * 2 * 4); // n_head_kv 4 × (8 + 8) × 4 bytes
    expect(c.hiddenBytesPerToken).toBe(1024);
    expect(Object.keys(c.layerWeightBytesByType[0]!).sort()).toEqual(['f32', 'q4_K', 'q8_0']);
    const timed = modelCosts(file, { nCtx: 512, kvBytesPerElement: 2, layerTimeSeconds: 0.002 });
    expect(timed.layerSeconds).toEqual([0.002, 0.002, 0.002, 0.002, 0.002]);
    const p = plan(c, [peer('me', 1e9, { coordinator: true, rttSeconds: 0, bandwidthBytesPerSecond: Infinity })], { strategy: 'layers' });
    expect(p.stages).toEqual([expect.objectContaining({ participant: 'me', from: 0, to: 5 })]);
  });
});
