// `npm run bench -- links [--tokens 40] [--delays 5,20,50]`: what planning with measured links buys.
// The demo model (stories260K, f32, 5 layers) on CPU backends behind in-process links, three
// participants with room for 3 of the 5 layers each (two are needed). p1 declares itself the
// fastest device, so the plan made with the admission's figures gives it a stage, but its link
// adds `delay` ms to every call (LocalLink delayMs: time on the link, not in the participant's own
// reported time). Side by side, for each delay:
//   - decode ms/token with the admission's plan (answer 1),
//   - the same after Coordinator.rebalance() moved to the plan the measured links favour (answer 2,
//     the same conversation continued), and with a plan that never used p1 (the best case),
//   - what the meter made of p1's link (round trip + frame bytes / bandwidth per call) against the
//     extra time p1's stage was seen to cost per token (admission plan − plan without p1): the
//     injected sleep itself overshoots on a loaded machine, so that is the figure to compare with,
// and a participant that becomes slow mid-answer: decode steps from the slowdown to its drop.
import { readFileSync } from 'node:fs';
import type { Backend } from '../src/engine/backend.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import { Coordinator, type CoordinatorEvent } from '../src/shard/coordinator.ts';
import { modelCosts } from '../src/shard/costs.ts';
import { LocalLink, type LinkFaults } from '../src/shard/local-link.ts';
import { ShardHost } from '../src/shard/participant.ts';
import { LinkMeter } from '../src/shard/plan-links.ts';
import { rangeMemory } from '../src/shard/planner.ts';
import type { PlanOptions } from '../src/shard/plan-types.ts';

const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-f32.gguf'));
const file = parseGguf(bytes);
const src = bytesSource(bytes);
const costs = modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 });
const PROMPT = [1, 403, 407, 261, 378];

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
}

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Room {
  coord: Coordinator;
  meters: Map<string, LinkMeter>;
  events: CoordinatorEvent[];
  hosts: ShardHost[];
}

async function room(local: Backend, faults: Record<string, LinkFaults>, plan?: PlanOptions, slowAfter?: number): Promise<Room> {
  const meters = new Map<string, LinkMeter>();
  const hosts: ShardHost[] = [];
  const members = ['p0', 'p1', 'p2'].map((id) => {
    const host = new ShardHost(async (from, to) => {
      const be = await createCpuBackend(file, src, { layers: [from, to], embed: false, head: false });
      if (slowAfter !== undefined && id === 'p1') {
        const layers = be.layers.bind(be);
        let calls = 0;
        be.layers = async (...a) => { if (calls++ >= slowAfter) await new Promise((r) => setTimeout(r, 50)); return layers(...a); };
      }
      return be;
    });
    hosts.push(host);
    const meter = new LinkMeter();
    meter.addPing(0.001);
    meters.set(id, meter);
    return { link: new LocalLink(id, host, faults[id]), meter, info: { id, memoryBytes: rangeMemory(costs, 0, 3), speed: id === 'p1' ? 1.5 : 1, rttSeconds: 0.001, bandwidthBytesPerSecond: 1e8 } };
  });
  const events: CoordinatorEvent[] = [];
  const coord = await Coordinator.create({ local, costs, members, plan, onEvent: (e) => events.push(e) });
  return { coord, meters, events, hosts };
}

/** Decodes `n` tokens after `pos` (prefilling the prompt at 0); ms per decode step. */
async function decode(coord: Coordinator, tokens: number[], n: number): Promise<number[]> {
  let logits = await coord.forward(tokens.length ? [tokens.at(-1)!] : PROMPT, tokens.length ? PROMPT.length + tokens.length - 1 : 0);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    tokens.push(argmax(logits));
    const t0 = performance.now();
    logits = await coord.forward([tokens.at(-1)!], PROMPT.length + tokens.length - 1);
    ms.push(performance.now() - t0);
  }
  return ms;
}

const stages = (c: Coordinator): string => c.plan.stages.map((s) => `${s.participant}:${s.from}-${s.to}`).join(' ');

export async function run(args: string[]): Promise<unknown> {
  const n = Number(arg(args, '--tokens', '40'));
  const delays = arg(args, '--delays', '5,20,50').split(',').map(Number);
  const local = await createCpuBackend(file, src, { layers: [0, 0], embed: true, head: true });
  const rows = [];
  for (const delay of delays) {
    const faults = { p1: { delayMs: delay } };
    const r = await room(local, faults);
    const first = stages(r.coord);
    const tokens: number[] = [];
    const before = median(await decode(r.coord, tokens, n));
    const moved = await r.coord.rebalance();
    const after = median(await decode(r.coord, tokens, n));
    const p1 = r.meters.get('p1')!.figures();
    const second = stages(r.coord);
    r.coord.dispose();
    for (const h of r.hosts) h.dispose();
    const best = await room(local, faults, { strategy: 'custom', custom: [{ participant: 'p0', from: 0, to: 3 }, { participant: 'p2', from: 3, to: 5 }] });
    const ideal = median(await decode(best.coord, [], n));
    best.coord.dispose();
    for (const h of best.hosts) h.dispose();
    // What the meter attributes to p1's link per call: round trip + frame bytes / bandwidth.
    const frameBytes = 2 * (32 + 4 * costs.hiddenBytesPerToken / 4);
    const linkMs = 1000 * ((p1.rttSeconds ?? 0) + (p1.bandwidthBytesPerSecond ? frameBytes / p1.bandwidthBytesPerSecond : 0));
    const row = { delayMs: delay, firstPlan: first, moved, measuredPlan: second, msPerTokenAdmission: before, msPerTokenMeasured: after, msPerTokenWithoutSlowLink: ideal, speedup: before / after, p1RttMs: (p1.rttSeconds ?? 0) * 1000, p1BandwidthBytesPerSecond: p1.bandwidthBytesPerSecond, p1LinkMsPerCall: linkMs, observedExtraMsPerToken: before - ideal };
    rows.push(row);
    console.log(`link +${delay} ms: admission plan [${first}] ${before.toFixed(2)} ms/token | measured plan [${second}] ${after.toFixed(2)} ms/token (${(before / after).toFixed(2)}x) | never using p1 ${ideal.toFixed(2)} ms/token | meter: p1 link ${linkMs.toFixed(1)} ms per call vs ${(before - ideal).toFixed(1)} ms seen per token (${(linkMs / (before - ideal)).toFixed(2)}x)`);
  }
  // A participant that becomes slow mid-answer (+50 ms per call from its 10th call).
  const s = await room(local, {}, { strategy: 'custom', custom: [{ participant: 'p0', from: 0, to: 2 }, { participant: 'p1', from: 2, to: 4 }, { participant: 'p2', from: 4, to: 5 }] }, 10);
  const ms = await decode(s.coord, [], n);
  const lostAt = s.events.findIndex((e) => e.type === 'lost');
  const slowSteps = ms.filter((x) => x > 40).length;
  s.coord.dispose();
  for (const h of s.hosts) h.dispose();
  local.dispose();
  const lost = lostAt >= 0 ? s.events[lostAt] : undefined;
  console.log(`slow participant: dropped after ${slowSteps} slow decode steps (${lost?.type === 'lost' ? lost.message : 'never dropped'}); median step ${median(ms).toFixed(2)} ms`);
  return { tokens: n, rows, slow: { slowStepsBeforeDrop: slowSteps, dropped: lost?.type === 'lost' ? lost.message : null, medianStepMs: median(ms) } };
}
