// Measured links: what LinkMeter makes of timed pings and frames (seeded link figures, recovered
// from samples built the way the coordinator times them), the slow verdict, and the pure planner
// fed with measured figures: a slow link gets no stage when others can hold the model, a slow
// participant gets fewer layers.
import { describe, expect, it } from 'vitest';
import { isSlow, LinkMeter, measuredParticipant, plannerView } from '../../src/shard/plan-links.ts';
import { plan } from '../../src/shard/planner.ts';
import type { ModelCosts, Participant } from '../../src/shard/plan-types.ts';
import { freshSeed, rng } from '../../src/util/random.ts';

function costsOf(L: number, layerBytes = 100): ModelCosts {
  return {
    nLayer: L, nCtx: 10, layerWeightBytes: new Array<number>(L).fill(layerBytes), layerWeightBytesByType: new Array(L).fill({ q4_K: layerBytes }),
    kvBytesPerToken: new Array<number>(L).fill(1), layerSeconds: new Array<number>(L).fill(0.001),
    embeddingBytes: 50, headBytes: 50, embedSeconds: 0.0001, headSeconds: 0.0005, hiddenBytesPerToken: 8192,
  };
}

/** Room for `layers` layers of costsOf(L) (weights + the 10-token cache). */
const room = (layers: number): number => layers * 110;

describe('LinkMeter', () => {
  it('recovers a seeded link\'s round trip, bandwidth and step time from timed calls', () => {
    const seed = freshSeed();
    console.log(`plan-links seed ${seed}`);
    const next = rng(seed);
    const rtt = 0.005 + next() * 0.05;
    const bw = 1e5 + next() * 1e7;
    const layerS = 0.0005 + next() * 0.005;
    const m = new LinkMeter();
    // Pings: the median ignores the one stalled by a busy event loop.
    for (let i = 0; i < 7; i++) m.addPing(rtt);
    m.addPing(rtt * 40);
    expect(m.rtt()).toBeCloseTo(rtt, 12);
    // A prefill of 9 tokens, then decode steps on 3 layers; compute as the participant reports it.
    const frame = (nTok: number): number => 2 * (32 + nTok * 2048 * 4);
    const call = (nTok: number, layers: number): void => {
      const compute = layers * layerS * (nTok === 1 ? 1 : 0.3 * nTok);
      m.addLayers({ bytes: frame(nTok), seconds: compute + rtt + frame(nTok) / bw, computeSeconds: compute, nTok, layers });
    };
    call(9, 3);
    for (let i = 0; i < 5; i++) call(1, 3);
    expect(m.bandwidth()! / bw).toBeCloseTo(1, 9);
    expect(m.layerSeconds()! / layerS).toBeCloseTo(1, 9); // prefill did not count
    expect(m.decodeSteps).toBe(5);
    const p = measuredParticipant({ id: 'x', memoryBytes: 1, rttSeconds: 1, bandwidthBytesPerSecond: 1e8 }, m.figures());
    expect(p).toMatchObject({ rttSeconds: m.rtt(), bandwidthBytesPerSecond: m.bandwidth(), layerSeconds: m.layerSeconds() });
  });

  it('frames too small to show above the round trip read as a fast link; without the peer\'s time, no bandwidth', () => {
    const m = new LinkMeter();
    m.addPing(0.01);
    m.addLayers({ bytes: 600, seconds: 0.0102, computeSeconds: 0.0001, nTok: 1, layers: 1 });
    expect(m.bandwidth()).toBe(Infinity);
    const old = new LinkMeter();
    old.addPing(0.01);
    old.addLayers({ bytes: 600, seconds: 0.05, nTok: 1, layers: 2 });
    expect(old.bandwidth()).toBeUndefined();
    expect(old.layerSeconds()).toBeCloseTo(0.02, 12); // all but the round trip, per layer
    // Nothing measured: what was assumed at admission stays.
    const base: Participant = { id: 'y', memoryBytes: 1, rttSeconds: 0.3, bandwidthBytesPerSecond: 1e8, speed: 2 };
    expect(measuredParticipant(base, new LinkMeter().figures())).toEqual(base);
    expect(measuredParticipant({ ...base, coordinator: true }, m.figures())).toEqual({ ...base, coordinator: true });
  });

  it('slow: the last steps several times the first measured ones, and more than the noise floor', () => {
    const m = new LinkMeter();
    const step = (s: number): void => m.addLayers({ bytes: 100, seconds: s + 0.001, computeSeconds: s, nTok: 1, layers: 1 });
    for (let i = 0; i < 6; i++) step(0.004);
    const expected = m.layerSeconds();
    expect(isSlow(m, undefined, 1)).toBe(false); // no measured expectation: no verdict
    expect(isSlow(m, expected, 1)).toBe(false);
    for (let i = 0; i < 3; i++) step(0.05);
    expect(isSlow(m, expected, 1)).toBe(false); // half the recent steps slow: the median is not yet 4×
    step(0.05);
    expect(isSlow(m, expected, 1)).toBe(true);
    // Tiny layers: 5× of 1 ms per layer on 2 layers is 8 ms more per token, under the 25 ms floor.
    const tiny = new LinkMeter();
    for (let i = 0; i < 6; i++) tiny.addLayers({ bytes: 1, seconds: 0.012, computeSeconds: 0.01, nTok: 1, layers: 2 });
    expect(isSlow(tiny, 0.001, 2)).toBe(false);
    expect(isSlow(tiny, 0.001, 8)).toBe(true); // the same step time on 8 layers is 32 ms more per token
    expect(isSlow(tiny, 0.001, 2, { minExcessSeconds: 0 })).toBe(true);
  });
});

describe('plannerView', () => {
  const info = (id: string, speed = 1): Participant => ({ id, memoryBytes: 1000, speed, rttSeconds: 0.01, bandwidthBytesPerSecond: 1e8 });
  it('evens out noise between like devices, keeps real differences, and assumes the unmeasured as fast as the median', () => {
    const v = plannerView([
      { info: info('a'), figures: { layerSeconds: 0.010, rttSeconds: 0.002 } },
      { info: info('b'), figures: { layerSeconds: 0.011 } }, // within 10% of the median: noise
      { info: info('c'), figures: { layerSeconds: 0.030 } }, // 3x: a slower device
      { info: info('d', 2), figures: {} }, // not timed, declares twice the speed
      { info: { ...info('e'), coordinator: true }, figures: { layerSeconds: 0.5 } },
    ]);
    const mid = 0.011; // the median device: the slow one does not drag the others' figure
    expect(v[0]).toMatchObject({ id: 'a', layerSeconds: mid, rttSeconds: 0.002 });
    expect(v[1]!.layerSeconds).toBe(mid);
    expect(v[2]!.layerSeconds).toBe(0.030);
    expect(v[3]!.layerSeconds).toBe(mid / 2);
    expect(v[4]).toEqual({ ...info('e'), coordinator: true });
    // Nobody timed yet: the admission's figures as they are.
    expect(plannerView([{ info: info('a'), figures: {} }])).toEqual([info('a')]);
  });
});

describe('the planner over measured links', () => {
  const costs = costsOf(6);
  const meter = (rtt: number, bw: number, layerS: number): LinkMeter => {
    const m = new LinkMeter();
    m.addPing(rtt);
    for (let i = 0; i < 4; i++) {
      const bytes = 2 * 8192;
      m.addLayers({ bytes, seconds: layerS * 3 + rtt + bytes / bw, computeSeconds: layerS * 3, nTok: 1, layers: 3 });
    }
    return m;
  };
  // Each holds 4 of 6 layers: two are needed, and three offered.
  const base = (id: string): Participant => ({ id, memoryBytes: room(4), rttSeconds: 0.01, bandwidthBytesPerSecond: 1e8 });

  it('a slow link gets no stage when the others can hold the model', () => {
    const ps = [
      measuredParticipant(base('a'), meter(0.01, 1e7, 0.002).figures()),
      measuredParticipant(base('b'), meter(0.25, 1e5, 0.002).figures()), // far and thin
      measuredParticipant(base('c'), meter(0.012, 1e7, 0.002).figures()),
    ];
    const p = plan(costs, ps, { strategy: 'layers' });
    expect(p.stages.map((s) => s.participant).sort()).toEqual(['a', 'c']);
    // With the admission's figures alone (equal links) the far one could not be told apart.
    const blind = plan(costs, [base('b'), base('a'), base('c')], { strategy: 'layers' });
    expect(blind.stages.map((s) => s.participant)).toContain('b');
    // 'fastest' never adds the far hop either.
    expect(plan(costs, ps, { strategy: 'layers', objective: 'fastest' }).stages.map((s) => s.participant)).not.toContain('b');
  });

  it('a participant measured slower per layer gets fewer layers', () => {
    const fast = measuredParticipant(base('fast'), meter(0.01, 1e7, 0.002).figures());
    const slow = measuredParticipant(base('slow'), meter(0.01, 1e7, 0.008).figures());
    const p = plan(costs, [slow, fast], { strategy: 'layers' });
    const held = Object.fromEntries(p.stages.map((s) => [s.participant, s.to - s.from]));
    expect(held).toEqual({ fast: 4, slow: 2 });
    // Swapped measurements, swapped ranges: it is the measurement that decides.
    const q = plan(costs, [measuredParticipant(base('slow'), meter(0.01, 1e7, 0.002).figures()), measuredParticipant(base('fast'), meter(0.01, 1e7, 0.008).figures())], { strategy: 'layers' });
    expect(Object.fromEntries(q.stages.map((s) => [s.participant, s.to - s.from]))).toEqual({ fast: 2, slow: 4 });
  });
});
