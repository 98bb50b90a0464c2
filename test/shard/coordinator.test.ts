// The coordinator, with participants behind in-process links with fault injection. Every test
// compares greedy tokens with one device of the same kind. The 3-way split runs on WebGPU (Dawn,
// one shared runtime); the failover cases run on the CPU backend, because SwiftShader takes
// ~0.2-0.6 s per layers call on this 2-core machine and they need hundreds of calls, while the
// coordinator's logic under test is the same whatever computes the layers.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend.ts';
import { generate } from '../../src/engine/generate.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { Coordinator, type CoordinatorEvent, type CoordinatorOptions } from '../../src/shard/coordinator.ts';
import { modelCosts } from '../../src/shard/costs.ts';
import { LocalLink, type LinkFaults } from '../../src/shard/local-link.ts';
import { ShardHost } from '../../src/shard/participant.ts';
import { rangeMemory } from '../../src/shard/planner.ts';
import type { StageSpec } from '../../src/shard/plan-types.ts';

const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
const file = parseGguf(bytes);
const src = bytesSource(bytes);
const costs = modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 });
const PROMPT = [1, 403, 407, 261, 378];
const N_CPU = 24;
const N_GPU = 4;
const THREE_WAY: StageSpec[] = [{ participant: 'p0', from: 0, to: 2 }, { participant: 'p1', from: 2, to: 4 }, { participant: 'p2', from: 4, to: 5 }];

type Kind = 'cpu' | 'gpu';
let rt: GpuRuntime;
const local = new Map<Kind, Backend>();
const reference = new Map<Kind, number[]>();
const cleanup: (() => void)[] = [];

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

/** Greedy decoding with forward + argmax; `before(i)` runs before decode step i; returns tokens and step times. */
function makeBackend(kind: Kind, from: number, to: number, ends = false): Promise<Backend> {
  return kind === 'gpu'
    ? createGpuBackend(file, src, { runtime: rt, layerRange: [from, to], embedding: ends, head: ends })
    : createCpuBackend(file, src, { layers: [from, to], embed: ends, head: ends });
}

async function greedy(be: Backend, before?: (i: number) => void, N = N_CPU): Promise<{ tokens: number[]; ms: number[] }> {
  be.truncate(0);
  let logits = await be.forward(PROMPT, 0);
  const tokens: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    tokens.push(argmax(logits));
    if (i + 1 === N) break;
    before?.(i);
    const t0 = performance.now();
    logits = await be.forward([tokens[i]!], PROMPT.length + i);
    ms.push(performance.now() - t0);
  }
  return { tokens, ms };
}

interface Bench {
  coord: Coordinator;
  links: Map<string, LocalLink>;
  events: CoordinatorEvent[];
}

/** Participants p0..pn-1 with room for `layers[i]` layers each; faults by id. */
async function bench(layers: number[], faults: Record<string, LinkFaults>, o: Partial<CoordinatorOptions> = {}, kind: Kind = 'cpu'): Promise<Bench> {
  const links = new Map<string, LocalLink>();
  const members = layers.map((n, i) => {
    const id = `p${i}`;
    const host = new ShardHost((from, to) => makeBackend(kind, from, to));
    cleanup.push(() => host.dispose());
    const link = new LocalLink(id, host, faults[id]);
    links.set(id, link);
    return { link, info: { id, memoryBytes: rangeMemory(costs, 0, n), rttSeconds: 0.02, bandwidthBytesPerSecond: 1e7 } };
  });
  const events: CoordinatorEvent[] = [];
  const coord = await Coordinator.create({ local: local.get(kind)!, costs, members, onEvent: (e) => events.push(e), ...o });
  cleanup.push(() => coord.dispose());
  return { coord, links, events };
}

const lost = (b: Bench): { participant: string; reason: string }[] =>
  b.events.flatMap((e) => (e.type === 'lost' ? [{ participant: e.participant, reason: e.reason }] : []));

function ranges(c: Coordinator): string {
  return c.plan.stages.map((s) => `${s.participant}:${s.from}-${s.to}`).join(' ');
}

beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
  for (const kind of ['cpu', 'gpu'] as const) {
    const whole = await makeBackend(kind, 0, 5, true);
    reference.set(kind, (await greedy(whole, undefined, kind === 'gpu' ? N_GPU : N_CPU)).tokens);
    whole.dispose();
    local.set(kind, await makeBackend(kind, 0, 0, true));
  }
});
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});
afterAll(() => {
  for (const be of local.values()) be.dispose();
  rt?.destroy();
});

describe('coordinator', () => {
  it('split 3 ways by the planner on WebGPU: same greedy tokens as one device', async () => {
    const b = await bench([2, 2, 2], {}, {}, 'gpu');
    expect(b.coord.plan.stages).toHaveLength(3);
    const got = await greedy(b.coord, undefined, N_GPU);
    expect(got.tokens).toEqual(reference.get('gpu'));
    expect(lost(b)).toEqual([]);
  });

  it('split 3 ways on the CPU backend; the ordinary generate() loop runs on the coordinator', async () => {
    const b = await bench([2, 2, 2], {});
    expect(b.coord.plan.stages).toHaveLength(3);
    const got = await greedy(b.coord);
    expect(got.tokens).toEqual(reference.get('cpu'));
    expect(b.coord.tokens).toEqual([...PROMPT, ...got.tokens.slice(0, N_CPU - 1)]);
    const res = await generate(b.coord, tokenizerFromGguf(file), { tokens: PROMPT, maxTokens: N_CPU, stopAtEog: false });
    expect(res.tokens).toEqual(reference.get('cpu'));
    expect(lost(b)).toEqual([]);
  });

  it('a participant dies mid-answer: re-plan, rebuild, same tokens, none lost or repeated', async () => {
    const b = await bench([3, 3, 3], { p1: { dieAfter: 9 } }, { plan: { strategy: 'custom', custom: THREE_WAY } });
    expect(ranges(b.coord)).toBe('p0:0-2 p1:2-4 p2:4-5');
    const seen: number[] = [];
    const got = await greedy(b.coord, () => seen.push(b.events.length));
    seen.push(b.events.length);
    expect(got.tokens).toEqual(reference.get('cpu'));
    expect(lost(b)).toEqual([{ participant: 'p1', reason: 'closed' }]);
    expect(b.coord.stats.replans).toBe(1);
    expect(b.coord.plan.stages.map((s) => s.participant)).not.toContain('p1');
    // Only the stages whose range changed re-prefilled (13 positions), from the recorded input of
    // their first layer; a stage that kept its range kept its cache. Which plan the re-plan picks
    // (p0 0-2 + p2 2-5, or p0 0-3 + p2 3-5: both fit) follows the speeds measured so far, so a
    // loaded machine may pick either; p2 always takes layers over.
    const before: Record<string, string> = { p0: '0-2', p2: '4-5' };
    const changed = b.coord.plan.stages.filter((s) => before[s.participant] !== `${s.from}-${s.to}`).map((s) => `${s.participant}:${s.from}-${s.to}@13`);
    const rebuilt = b.events.flatMap((e) => (e.type === 'rebuilt' ? [`${e.participant}:${e.from}-${e.to}@${e.tokens}`] : []));
    expect([...rebuilt].sort()).toEqual([...changed].sort());
    expect(changed.some((c) => c.startsWith('p2:'))).toBe(true);
    // The decode step during which p1 died (its 10th layers call: prefill + 9 decode steps).
    const step = seen.findIndex((n, i) => i + 1 < seen.length && seen[i + 1]! > n);
    expect(step).toBe(8);
    const sorted = [...got.ms].sort((x, y) => x - y);
    console.log(`loss → next token: ${got.ms[step]!.toFixed(1)} ms (median step ${sorted[sorted.length >> 1]!.toFixed(1)} ms); new plan ${ranges(b.coord)}; rebuilt ${b.coord.stats.rebuiltTokens} token-stages`);
  });

  it('a re-plan that moves upstream boundaries reloads and rebuilds those stages too', async () => {
    const b = await bench([3, 2, 2], { p2: { dieAfter: 5 } }, { plan: { strategy: 'custom', custom: THREE_WAY } });
    const got = await greedy(b.coord);
    expect(got.tokens).toEqual(reference.get('cpu'));
    // p0 (room for 3 layers) and p1 (2) must both change range: whichever order the planner picks
    // (the times tie), both reload and both re-prefill the 9 positions before the loss.
    expect(b.coord.plan.stages).toHaveLength(2);
    const rebuilt = b.events.flatMap((e) => (e.type === 'rebuilt' ? [`${e.participant}:${e.from}-${e.to}@${e.tokens}`] : []));
    expect(rebuilt).toEqual(b.coord.plan.stages.map((s) => `${s.participant}:${s.from}-${s.to}@9`));
  });

  it('promotes a spare that holds the lost range, without re-planning', async () => {
    const b = await bench([3, 3, 3, 3], {}, { plan: { strategy: 'custom', custom: THREE_WAY, spares: true } });
    expect(b.coord.plan.spares).toEqual([expect.objectContaining({ participant: 'p3', from: 0, to: 2 })]);
    const got = await greedy(b.coord, (i) => { if (i === 6) b.links.get('p0')!.bye(); });
    expect(got.tokens).toEqual(reference.get('cpu'));
    expect(lost(b)).toEqual([{ participant: 'p0', reason: 'bye' }]);
    expect(b.coord.stats).toMatchObject({ replans: 0, promotions: 1 });
    expect(b.events.filter((e) => e.type === 'promoted')).toEqual([{ type: 'promoted', participant: 'p3', from: 0, to: 2 }]);
    // Only the promoted spare re-prefilled the history (prompt + 6 tokens); the others kept their caches.
    expect(b.events.filter((e) => e.type === 'rebuilt').map((e) => [e.type === 'rebuilt' && e.participant, e.type === 'rebuilt' && e.tokens])).toEqual([['p3', 11]]);
  });

  it.each(['nan', 'wrong-size', 'garbage'] as const)('drops a participant sending %s activations; the text is still right', async (corrupt) => {
    const b = await bench([3, 3, 3], { p1: { corrupt, corruptAfter: 4 } }, { plan: { strategy: 'custom', custom: THREE_WAY } });
    const got = await greedy(b.coord);
    expect(got.tokens).toEqual(reference.get('cpu'));
    expect(lost(b)).toEqual([{ participant: 'p1', reason: 'frame' }]);
    expect(b.coord.stats.replans).toBe(1);
  });

  it('a participant that never answers is dropped on timeout; a silent one is caught by heartbeats', async () => {
    const t = await bench([3, 3, 3], { p2: { hangAfter: 3 } }, { plan: { strategy: 'custom', custom: THREE_WAY }, callTimeoutMs: 300 });
    expect((await greedy(t.coord)).tokens).toEqual(reference.get('cpu'));
    expect(lost(t)).toEqual([{ participant: 'p2', reason: 'timeout' }]);
    for (const f of cleanup.splice(0)) f();

    const h = await bench([3, 3, 3], { p1: { hangAfter: 2 } }, { plan: { strategy: 'custom', custom: THREE_WAY }, heartbeatMs: 40 });
    const got = await greedy(h.coord);
    expect(got.tokens).toEqual(reference.get('cpu'));
    expect(lost(h)).toEqual([{ participant: 'p1', reason: 'heartbeat' }]);
    expect(Math.max(...got.ms)).toBeLessThan(10_000); // well under the 30 s call timeout
  });

  it('gives up with ShardFailedError when the survivors cannot hold the model', async () => {
    const b = await bench([2, 2, 2], { p1: { dieAfter: 2 } });
    await expect(greedy(b.coord)).rejects.toMatchObject({ name: 'ShardFailedError' });
  });
});
