// The coordinator over measured links. A participant that becomes slow mid-answer (its backend starts taking tens of milliseconds per
// layers call after a few steps, as a throttled background tab or a thermally limited phone would)
// is re-planned like one that left, and the greedy tokens stay those of one device; a slow one that
// nobody else could replace is kept. In-process links carry the participant's own step time, as
// the data-channel links do. And between answers, a plan made with the admission's figures moves
// to what the measured links favour (a link that turned out slow loses its stage), the moved stage
// rebuilding its cache from the history so the conversation goes on with the same tokens.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { Coordinator, type CoordinatorEvent } from '../../src/shard/coordinator.ts';
import { LocalLink, type LinkFaults } from '../../src/shard/local-link.ts';
import { ShardHost } from '../../src/shard/participant.ts';
import { rangeMemory } from '../../src/shard/planner.ts';
import type { StageSpec } from '../../src/shard/plan-types.ts';
import { cleanup, costs, file, N, src } from './stories-room.ts';

const PROMPT = [1, 403, 407, 261, 378];
const THREE_WAY: StageSpec[] = [{ participant: 'p0', from: 0, to: 2 }, { participant: 'p1', from: 2, to: 4 }, { participant: 'p2', from: 4, to: 5 }];
let reference: number[];
let local: Backend;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `be`, whose layers calls take `ms` longer from call `after` on. */
function slowsDown(be: Backend, after: number, ms: number): Backend {
  let calls = 0;
  return new Proxy(be, {
    get(t, k) {
      if (k === 'layers') {
        return async (...a: Parameters<Backend['layers']>) => {
          if (calls++ >= after) await sleep(ms);
          return t.layers(...a);
        };
      }
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

async function greedy(be: Backend): Promise<number[]> {
  let logits = await be.forward(PROMPT, 0);
  const tokens: number[] = [];
  for (let i = 0; i < N; i++) {
    tokens.push(argmax(logits));
    if (i + 1 < N) logits = await be.forward([tokens[i]!], PROMPT.length + i);
  }
  return tokens;
}

/** Participants with room for `layers[i]` layers; `slow` names the one that slows down after 8 calls. */
async function room(layers: number[], slow: string, custom?: StageSpec[], faults: Record<string, LinkFaults> = {}, speed: Record<string, number> = {}): Promise<{ coord: Coordinator; events: CoordinatorEvent[] }> {
  const members = layers.map((n, i) => {
    const id = `p${i}`;
    const host = new ShardHost(async (from, to) => {
      const be = await createCpuBackend(file, src, { layers: [from, to], embed: false, head: false });
      return id === slow ? slowsDown(be, 8, 100) : be;
    });
    cleanup.push(() => host.dispose());
    return { link: new LocalLink(id, host, faults[id]), info: { id, memoryBytes: rangeMemory(costs, 0, n), speed: speed[id] ?? 1, rttSeconds: 0.001, bandwidthBytesPerSecond: 1e8 } };
  });
  const events: CoordinatorEvent[] = [];
  const coord = await Coordinator.create({ local, costs, members, onEvent: (e) => events.push(e), plan: custom ? { strategy: 'custom', custom } : undefined });
  cleanup.push(() => coord.dispose());
  return { coord, events };
}

const losses = (events: CoordinatorEvent[]): string[] => events.flatMap((e) => (e.type === 'lost' ? [`${e.participant}:${e.reason}`] : []));

beforeAll(async () => {
  const whole = await createCpuBackend(file, src, { layers: [0, 5], embed: true, head: true });
  reference = await greedy(whole);
  whole.dispose();
  local = await createCpuBackend(file, src, { layers: [0, 0], embed: true, head: true });
  return () => local.dispose();
});

describe('a participant that becomes slow', () => {
  it('is re-planned like one that left, mid-answer, and the tokens stay those of one device', async () => {
    const { coord, events } = await room([3, 3, 3], 'p1', THREE_WAY);
    const tokens = await greedy(coord);
    expect(tokens).toEqual(reference);
    expect(losses(events)).toEqual(['p1:slow']);
    const lost = events.find((e) => e.type === 'lost')!;
    console.log(`dropped: ${lost.type === 'lost' ? lost.message : ''}`);
    expect(coord.stats.replans).toBe(1);
    expect(coord.plan.stages.map((s) => s.participant)).not.toContain('p1');
    // Its 8 fast calls were prefill + 7 steps; 4 slow steps make the median of the last 6 slow.
    const replanAt = events.findIndex((e) => e.type === 'planned' && e.replan);
    expect(replanAt).toBeGreaterThan(0);
  });

  it('is kept when the others cannot hold the model without it', async () => {
    const { coord, events } = await room([3, 2], 'p1');
    const tokens = await greedy(coord);
    expect(tokens).toEqual(reference);
    expect(losses(events)).toEqual([]);
    expect(coord.plan.stages.map((s) => s.participant).sort()).toEqual(['p0', 'p1']);
  });
});

describe('rebalance between answers', () => {
  it('moves a stage off a link measured slow, and the answer goes on with the single-device tokens', async () => {
    // Room for 3 of 5 layers each: two are needed. Admission says the links are equal and p1 the
    // fastest device, so the first plan gives p1 3 layers; its link turns out to add 60 ms to every call.
    const { coord, events } = await room([3, 3, 3], 'none', undefined, { p1: { delayMs: 60 } }, { p1: 1.5 });
    expect(coord.plan.stages.find((s) => s.participant === 'p1')).toMatchObject({ from: expect.any(Number), to: expect.any(Number) });
    expect(await coord.rebalance()).toBe(false); // nothing measured yet: nothing to go on
    let logits = await coord.forward(PROMPT, 0);
    const tokens: number[] = [];
    for (let i = 0; i < N; i++) {
      tokens.push(argmax(logits));
      if (i + 1 === N) break;
      if (i === 12) {
        expect(await coord.rebalance()).toBe(true);
        expect(coord.plan.stages.map((s) => s.participant)).not.toContain('p1');
        expect(await coord.rebalance()).toBe(false); // measured again, no better plan left
      }
      logits = await coord.forward([tokens[i]!], PROMPT.length + i);
    }
    expect(tokens).toEqual(reference);
    expect(losses(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'planned' && e.measured)).toHaveLength(1);
    expect(events.some((e) => e.type === 'rebuilt' && e.tokens === PROMPT.length + 12)).toBe(true);
  });

  it('leaves a user\'s pipeline alone', async () => {
    const { coord } = await room([3, 3, 3], 'none', THREE_WAY, { p1: { delayMs: 60 } });
    await greedy(coord);
    expect(await coord.rebalance()).toBe(false);
  });
});
