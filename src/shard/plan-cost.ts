// Cost model shared by the planner's search, its checks and the tests' brute force: one definition
// of what a stage weighs (memory) and costs (seconds per token). See planner.ts for the topology.
import type { ModelCosts, Participant, Stage } from './plan-types.ts';
import { CPU_PARTICIPANT_BUDGET } from './cpu-budget.ts';

/**
 * Memory a participant has for layers: its budget (capped by the WASM memory on a CPU participant),
 * less the embedding and head if it is the coordinator (they live in the same memory).
 */
export function layerBudget(costs: ModelCosts, p: Participant): number {
  const budget = p.backend === 'cpu' ? Math.min(p.memoryBytes, CPU_PARTICIPANT_BUDGET) : p.memoryBytes;
  return budget - (p.coordinator ? costs.embeddingBytes + costs.headBytes : 0);
}

/** Weights + KV (full context) of layers [from, to). */
export function rangeMemory(costs: ModelCosts, from: number, to: number): number {
  let m = 0;
  for (let l = from; l < to; l++) m += costs.layerWeightBytes[l]! + costs.kvBytesPerToken[l]! * costs.nCtx;
  return m;
}

export function layerTime(costs: ModelCosts, p: Participant, l: number): number {
  const t = p.layerSeconds;
  if (typeof t === 'number') return t;
  if (t) return t[l]!;
  return costs.layerSeconds[l]! / (p.speed ?? 1);
}

/** One hop there and back for one token (nothing for the coordinator's own link). */
export function hopSeconds(costs: ModelCosts, p: Participant): number {
  const bw = p.bandwidthBytesPerSecond;
  return p.rttSeconds + (bw === Infinity ? 0 : (2 * costs.hiddenBytesPerToken) / bw);
}

/** Compute + transfer per token of layers [from, to) on p. */
export function rangeSeconds(costs: ModelCosts, p: Participant, from: number, to: number): number {
  let s = hopSeconds(costs, p);
  for (let l = from; l < to; l++) s += layerTime(costs, p, l);
  return s;
}

export function makeStage(costs: ModelCosts, p: Participant, from: number, to: number): Stage {
  return { participant: p.id, from, to, memoryBytes: rangeMemory(costs, from, to), seconds: rangeSeconds(costs, p, from, to) };
}

export function planSeconds(costs: ModelCosts, stages: readonly Stage[]): number {
  return costs.embedSeconds + costs.headSeconds + stages.reduce((s, st) => s + st.seconds, 0);
}

