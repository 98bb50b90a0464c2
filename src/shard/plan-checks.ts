// The parts of planning that are not search: validating a user's custom pipeline, and placing spare
// replicas on what the pipeline left unused.
import { PlanError } from './errors.ts';
import { layerBudget, makeStage, rangeMemory } from './plan-cost.ts';
import type { ModelCosts, Participant, Stage, StageSpec } from './plan-types.ts';

/** A custom pipeline is valid when it starts at 0, each range starts where the last ended, it ends at nLayer, and each fits. */
export function validateCustom(costs: ModelCosts, participants: readonly Participant[], custom: readonly StageSpec[]): Stage[] {
  if (custom.length === 0) throw new PlanError('incomplete', 'the custom plan has no stages');
  const byId = new Map(participants.map((p) => [p.id, p]));
  const seen = new Set<string>();
  const stages: Stage[] = [];
  let next = 0;
  for (const s of custom) {
    const p = byId.get(s.participant);
    if (!p) throw new PlanError('unknown-participant', `the custom plan names unknown participant '${s.participant}'`, { participant: s.participant });
    if (seen.has(s.participant)) throw new PlanError('duplicate-participant', `participant '${s.participant}' holds two ranges (a participant holds one contiguous range)`, { participant: s.participant });
    seen.add(s.participant);
    if (!Number.isInteger(s.from) || !Number.isInteger(s.to) || s.from < 0 || s.to > costs.nLayer) {
      throw new PlanError('bad-input', `range [${s.from}, ${s.to}) of '${s.participant}' is outside [0, ${costs.nLayer})`, { participant: s.participant });
    }
    if (s.to <= s.from) throw new PlanError('empty-range', `range [${s.from}, ${s.to}) of '${s.participant}' is empty`, { participant: s.participant });
    if (s.from > next) throw new PlanError('gap', `layers [${next}, ${s.from}) are not assigned (before '${s.participant}')`, { participant: s.participant });
    if (s.from < next) throw new PlanError('overlap', `layers [${s.from}, ${next}) of '${s.participant}' are already assigned`, { participant: s.participant });
    const need = rangeMemory(costs, s.from, s.to);
    const have = layerBudget(costs, p);
    if (need > have) {
      throw new PlanError('memory', `'${s.participant}' cannot hold layers [${s.from}, ${s.to}): ${need - have} bytes missing (needs ${need}, has ${have})`, { missingBytes: need - have, participant: s.participant });
    }
    stages.push(makeStage(costs, p, s.from, s.to));
    next = s.to;
  }
  if (next !== costs.nLayer) throw new PlanError('incomplete', `layers [${next}, ${costs.nLayer}) are not assigned`);
  return stages;
}

/**
 * Spares: each participant the pipeline does not use may stand by for one stage whose range it can
 * hold (weights loaded; its KV cache is rebuilt from the coordinator's record when it is promoted).
 * Round by round, the stage with the largest memory need that has the fewest spares gets the
 * smallest participant that still fits it (best fit keeps big participants for big stages).
 * A participant already in the pipeline is never a spare: one loss would take out both copies,
 * and a backend holds one contiguous range.
 */
export function placeSpares(costs: ModelCosts, participants: readonly Participant[], stages: readonly Stage[]): Stage[] {
  const used = new Set(stages.map((s) => s.participant));
  const free = participants.filter((p) => !used.has(p.id));
  const count = new Map(stages.map((s) => [s, 0]));
  const spares: Stage[] = [];
  const order = [...stages].sort((a, b) => b.memoryBytes - a.memoryBytes || a.from - b.from);
  for (let round = 0; free.length > 0; round++) {
    let placed = false;
    for (const st of order) {
      if (count.get(st)! > round) continue;
      let bestI = -1;
      for (let i = 0; i < free.length; i++) {
        const b = layerBudget(costs, free[i]!);
        if (b >= st.memoryBytes && (bestI < 0 || b < layerBudget(costs, free[bestI]!))) bestI = i;
      }
      if (bestI < 0) continue;
      const p = free.splice(bestI, 1)[0]!;
      spares.push(makeStage(costs, p, st.from, st.to));
      count.set(st, count.get(st)! + 1);
      placed = true;
    }
    if (!placed) break;
  }
  return spares;
}
