// The shard planner: a pure function of (model costs, participants) → which participant runs which
// contiguous range of layers. No I/O, no clocks, no randomness: tested against brute force.
//
// Topology. The coordinator (the chatting tab) holds the token history, the embedding and the head,
// and relays every activation: coordinator → stage 1 → coordinator → stage 2 → ... (a star, so a
// lost participant's neighbours never need to know each other). A stage on participant p therefore
// costs, per decoded token,
//     compute(p, [a, b)) + rtt(p) + 2 × hiddenBytes / bandwidth(p)
// and the order of the stages does not change the transfer cost; it matters only for which
// participant gets which (differently sized) range.
//
// Why the fewest participants. For one answer the stages run one after another, never in
// parallel, so splitting a model does not shorten compute; it only adds hops. TinyLlama-1.1B Q4_K_M
// (~0.67 GB, 22 layers) decodes in ~25 ms/token on one laptop GPU (~1.1 ms per layer). Split over two
// equal devices the compute is still 25 ms, plus one hop of RTT 20-50 ms + 2 × 8 KiB / 1.25 MB/s
// (10 Mbit/s) ≈ 13 ms: 58-88 ms per token, 2.3-3.5× slower. So a second device is used only when
// the first cannot hold the model (objective 'fewest', the default); 'fastest' is offered for the
// rare case where a much faster remote device beats a slow local one despite the hop.
//
// Why no tensor parallelism across browsers. Splitting each layer's matrices over n devices needs
// two all-reduces of n_embd floats per layer per token (after attention and after the FFN). The
// bytes are small (2048 × 4 = 8 KiB for TinyLlama) but each all-reduce costs at least one RTT:
// 22 layers × 2 = 44 synchronisations × 20-50 ms WebRTC RTT ≈ 0.9-2.2 s per token, against one hop
// per participant (~20-50 ms) for a pipeline. It could at best save the ~25 ms of compute per token.
//
// Search. 'layers' is a DP over (layers covered, set of participants used): best[l][S] is the
// lowest time to run layers [0, l) with exactly the participants in S, each holding one non-empty
// contiguous range. Exact for n ≤ 8 (2^8 × L² × 8 ≈ 13 M steps for an 80-layer model). Above 8
// participants the set is replaced by a fixed order (fastest per layer first, then most memory)
// and the DP is over (participants considered, layers covered, participants used): exact for that
// order, a heuristic overall (homogeneous layers make the order nearly irrelevant).
import { PlanError } from './errors.ts';
import type { ModelCosts, Participant, Plan, PlanOptions, Stage, StageSpec } from './plan-types.ts';
import { placeSpares, validateCustom } from './plan-checks.ts';
import { hopSeconds, layerBudget, layerTime, makeStage, planSeconds, rangeMemory, rangeSeconds } from './plan-cost.ts';

export type { ModelCosts, Participant, Plan, PlanOptions, Stage, StageSpec } from './plan-types.ts';
export { hopSeconds, layerBudget, makeStage, planSeconds, rangeMemory, rangeSeconds } from './plan-cost.ts';

const EXACT_LIMIT = 8;

function checkInputs(costs: ModelCosts, participants: readonly Participant[]): void {
  if (!(costs.nLayer >= 1)) throw new PlanError('bad-input', `the model has ${costs.nLayer} layers`);
  for (const k of ['layerWeightBytes', 'kvBytesPerToken', 'layerSeconds'] as const) {
    if (costs[k].length !== costs.nLayer) throw new PlanError('bad-input', `costs.${k} has ${costs[k].length} entries for ${costs.nLayer} layers`);
  }
  if (participants.length === 0) throw new PlanError('no-participants', 'no participants to place the model on');
  const ids = new Set<string>();
  for (const p of participants) {
    if (ids.has(p.id)) throw new PlanError('duplicate-participant', `participant '${p.id}' is listed twice`, { participant: p.id });
    ids.add(p.id);
  }
  const coord = participants.find((p) => p.coordinator);
  if (coord && layerBudget(costs, coord) < 0) {
    const missing = -layerBudget(costs, coord);
    throw new PlanError('infeasible', `the coordinator '${coord.id}' cannot hold the embedding and head: ${missing} bytes missing`, { missingBytes: missing, participant: coord.id });
  }
}

/** The infeasibility error, with a lower bound on the memory that is missing. */
function infeasible(costs: ModelCosts, participants: readonly Participant[]): PlanError {
  const need = rangeMemory(costs, 0, costs.nLayer);
  const avail = participants.reduce((s, p) => s + Math.max(0, layerBudget(costs, p)), 0);
  let biggestLayer = 0;
  for (let l = 0; l < costs.nLayer; l++) biggestLayer = Math.max(biggestLayer, rangeMemory(costs, l, l + 1));
  const biggestBudget = Math.max(...participants.map((p) => layerBudget(costs, p)));
  const missing = Math.max(need - avail, biggestLayer - biggestBudget);
  if (missing > 0) {
    return new PlanError('infeasible', `the model does not fit: at least ${missing} bytes of memory are missing (layers + KV need ${need}, participants offer ${avail}, largest layer ${biggestLayer}, largest participant ${biggestBudget})`, { missingBytes: missing });
  }
  // Enough in total, but not in contiguous pieces: one more layer's worth somewhere is the estimate.
  return new PlanError('infeasible', `the model does not fit in contiguous ranges (memory is fragmented); about ${biggestLayer} more bytes on one participant are needed`, { missingBytes: biggestLayer });
}

interface Candidate {
  stages: Stage[];
  seconds: number;
}

function better(a: Candidate, b: Candidate | undefined, objective: 'fewest' | 'fastest'): boolean {
  if (!b) return true;
  if (objective === 'fewest' && a.stages.length !== b.stages.length) return a.stages.length < b.stages.length;
  return a.seconds < b.seconds - 1e-12;
}

/** Exact: DP over (layers covered, subset used). */
function searchSubsets(costs: ModelCosts, ps: readonly Participant[], objective: 'fewest' | 'fastest'): Candidate | undefined {
  const L = costs.nLayer;
  const n = ps.length;
  const full = 1 << n;
  const best = new Float64Array((L + 1) * full).fill(Infinity);
  const from = new Int32Array((L + 1) * full).fill(-1); // previous l
  const who = new Int8Array((L + 1) * full).fill(-1); // participant added
  best[0] = 0;
  const budgets = ps.map((p) => layerBudget(costs, p));
  for (let l = 0; l < L; l++) {
    for (let S = 0; S < full; S++) {
      const t0 = best[l * full + S]!;
      if (t0 === Infinity) continue;
      for (let i = 0; i < n; i++) {
        if (S & (1 << i)) continue;
        const p = ps[i]!;
        let mem = 0;
        let t = t0 + hopSeconds(costs, p);
        const S2 = S | (1 << i);
        for (let l2 = l + 1; l2 <= L; l2++) {
          mem += costs.layerWeightBytes[l2 - 1]! + costs.kvBytesPerToken[l2 - 1]! * costs.nCtx;
          if (mem > budgets[i]!) break; // memory only grows with the range
          t += layerTime(costs, p, l2 - 1);
          const k = l2 * full + S2;
          if (t < best[k]!) {
            best[k] = t;
            from[k] = l;
            who[k] = i;
          }
        }
      }
    }
  }
  let out: Candidate | undefined;
  for (let S = 1; S < full; S++) {
    if (best[L * full + S] === Infinity) continue;
    const stages: Stage[] = [];
    let l = L;
    let s = S;
    while (l > 0) {
      const k = l * full + s;
      const i = who[k]!;
      const l0 = from[k]!;
      stages.push(makeStage(costs, ps[i]!, l0, l));
      s &= ~(1 << i);
      l = l0;
    }
    stages.reverse();
    const cand = { stages, seconds: planSeconds(costs, stages) };
    if (better(cand, out, objective)) out = cand;
  }
  return out;
}

/** Heuristic for many participants: DP over (participant in a fixed order, layers covered, count used). */
function searchOrdered(costs: ModelCosts, all: readonly Participant[], objective: 'fewest' | 'fastest'): Candidate | undefined {
  const L = costs.nLayer;
  const perLayer = (p: Participant): number => rangeSeconds(costs, p, 0, L) - hopSeconds(costs, p);
  const ps = [...all].sort((a, b) => perLayer(a) - perLayer(b) || layerBudget(costs, b) - layerBudget(costs, a));
  const n = ps.length;
  // state (l, k) after considering a prefix of ps; keep the stage lists (n and L are small enough).
  let cur = new Map<number, Candidate>([[0, { stages: [], seconds: 0 }]]);
  const key = (l: number, k: number): number => l * (n + 1) + k;
  for (const p of ps) {
    const next = new Map(cur); // skipping p keeps every state
    for (const [kk, c] of cur) {
      const l = Math.floor(kk / (n + 1));
      const k = kk % (n + 1);
      for (let l2 = l + 1; l2 <= L; l2++) {
        if (rangeMemory(costs, l, l2) > layerBudget(costs, p)) break;
        const st = makeStage(costs, p, l, l2);
        const cand = { stages: [...c.stages, st], seconds: c.seconds + st.seconds };
        const k2 = key(l2, k + 1);
        const old = next.get(k2);
        if (!old || cand.seconds < old.seconds) next.set(k2, cand);
      }
    }
    cur = next;
  }
  let out: Candidate | undefined;
  for (let k = 1; k <= n; k++) {
    const c = cur.get(key(L, k));
    if (!c) continue;
    const cand = { stages: c.stages, seconds: planSeconds(costs, c.stages) };
    if (better(cand, out, objective)) out = cand;
  }
  return out;
}

function replicate(costs: ModelCosts, ps: readonly Participant[]): Plan {
  const need = rangeMemory(costs, 0, costs.nLayer);
  const holders = ps.filter((p) => layerBudget(costs, p) >= need)
    .map((p) => makeStage(costs, p, 0, costs.nLayer))
    .sort((a, b) => a.seconds - b.seconds);
  if (holders.length === 0) {
    const most = Math.max(...ps.map((p) => layerBudget(costs, p)));
    throw new PlanError('infeasible', `no participant can hold the whole model: ${need - most} bytes missing on the largest`, { missingBytes: need - most });
  }
  const stages = holders.slice(0, 1);
  return { strategy: 'replicate', stages, spares: [], replicas: holders.slice(1), secondsPerToken: planSeconds(costs, stages) };
}

/**
 * Places the model's layers on participants. Throws PlanError when the participants cannot hold the
 * model (with the missing bytes) or when a custom plan is invalid (naming the problem).
 */
export function plan(costs: ModelCosts, participants: readonly Participant[], opts: PlanOptions): Plan {
  checkInputs(costs, participants);
  if (opts.strategy === 'replicate') return replicate(costs, participants);
  let stages: Stage[];
  if (opts.strategy === 'custom') {
    stages = validateCustom(costs, participants, opts.custom ?? []);
  } else {
    const objective = opts.objective ?? 'fewest';
    const found = participants.length <= EXACT_LIMIT
      ? searchSubsets(costs, participants, objective)
      : searchOrdered(costs, participants, objective);
    if (!found) throw infeasible(costs, participants);
    stages = found.stages;
  }
  const spares = opts.spares ? placeSpares(costs, participants, stages) : [];
  return { strategy: opts.strategy, stages, spares, replicas: [], secondsPerToken: planSeconds(costs, stages) };
}
