// Measured links for the planner: round trip, bandwidth and step time of one participant, from the
// calls the coordinator makes anyway (heartbeat pings and the activation frames of every answer).
// Pure: every sample carries its own times (no clock here), so tests feed exact numbers.
//
// What is measured, and from what.
// - Round trip: pings (answered at once, never queued behind the backend): the median of recent
//   ones, so one slow event-loop turn does not move the plan.
// - Bandwidth: a layers call takes `seconds` at the coordinator and `computeSeconds` at the
//   participant (it reports that in the answer); the rest is the link: rtt + bytes / bandwidth. Over
//   the recent frames, bandwidth = Σ bytes / Σ (seconds − compute − rtt). When the frames are too
//   small to show above the round trip (Σ excess under a millisecond), the link is faster than we
//   can see: Infinity, which the planner reads as "transfer costs nothing".
// - Step time: decode calls (one token) only, per layer: compute / layers. Prefill batches many
//   tokens per call and would understate the per-token cost the planner models.
import type { Participant } from './plan-types.ts';

/** One answered layers call, as the coordinator timed it. */
export interface LayersSample {
  /** Frame bytes both ways (request + answer). */
  readonly bytes: number;
  /** Call time seen by the coordinator, seconds. */
  readonly seconds: number;
  /** Time the participant says it spent answering (queue + compute), seconds; absent if not reported. */
  readonly computeSeconds?: number;
  readonly nTok: number;
  /** Layers the call ran. */
  readonly layers: number;
}

export interface LinkFigures {
  readonly rttSeconds?: number;
  readonly bandwidthBytesPerSecond?: number;
  /** Compute per layer per decoded token, seconds. */
  readonly layerSeconds?: number;
}

const WINDOW = 16;
/** Below this much excess over the round trip, summed over the window, bandwidth is not visible. */
const MIN_EXCESS_SECONDS = 1e-3;

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function push<T>(xs: T[], x: T, n: number): void {
  xs.push(x);
  if (xs.length > n) xs.shift();
}

export class LinkMeter {
  private readonly pings: number[] = [];
  private readonly frames: LayersSample[] = [];
  private readonly steps: number[] = [];
  /** Decode steps the slow check looks at (the most recent ones; the median, so a hiccup is not a verdict). */
  readonly recentSteps = 6;

  addPing(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) push(this.pings, seconds, WINDOW);
  }

  addLayers(s: LayersSample): void {
    if (!(s.seconds >= 0) || !(s.layers > 0) || !(s.nTok > 0)) return;
    push(this.frames, s, WINDOW);
    if (s.nTok === 1) {
      // Without the participant's own figure, all but the round trip is counted as compute.
      const compute = s.computeSeconds ?? Math.max(0, s.seconds - (this.rtt() ?? 0));
      push(this.steps, compute / s.layers, WINDOW);
    }
  }

  /** Median of recent pings; undefined before the first. */
  rtt(): number | undefined {
    return median(this.pings);
  }

  bandwidth(): number | undefined {
    const rtt = this.rtt() ?? 0;
    let bytes = 0;
    let excess = 0;
    for (const f of this.frames) {
      if (f.computeSeconds === undefined) continue; // compute and transfer cannot be told apart
      bytes += f.bytes;
      excess += Math.max(0, f.seconds - f.computeSeconds - rtt);
    }
    if (bytes === 0) return undefined;
    return excess < MIN_EXCESS_SECONDS ? Infinity : bytes / excess;
  }

  /** Median compute per layer over the recent decode steps (the last `n`, default all kept). */
  layerSeconds(n = WINDOW): number | undefined {
    return median(this.steps.slice(-n));
  }

  get decodeSteps(): number {
    return this.steps.length;
  }

  figures(): LinkFigures {
    return { rttSeconds: this.rtt(), bandwidthBytesPerSecond: this.bandwidth(), layerSeconds: this.layerSeconds() };
  }
}

/** `p` with what was measured in place of what was assumed (fields not measured yet are kept). */
export function measuredParticipant(p: Participant, f: LinkFigures): Participant {
  if (p.coordinator) return p; // its own link is free; its speed is the reference
  return {
    ...p,
    rttSeconds: f.rttSeconds ?? p.rttSeconds,
    bandwidthBytesPerSecond: f.bandwidthBytesPerSecond ?? p.bandwidthBytesPerSecond,
    ...(f.layerSeconds !== undefined ? { layerSeconds: f.layerSeconds } : {}),
  };
}

/** Measured device speeds this close (relative) are taken as equal (see plannerView). */
export const SAME_SPEED = 0.25;

/**
 * What the planner should assume of each participant: its measured figures over its admission's.
 * Step times are compared as device speeds (per-layer time × the speed each declared). One not
 * measured yet is assumed as fast as the median of the measured ones: the nominal per-layer time is a
 * placeholder far below any real device's, and would make the planner prefer whoever has not been
 * timed. One within SAME_SPEED of that median is taken as equal to it: that much is noise between
 * like devices, and a re-plan must not move stages (a reload and a cache rebuild) to chase it.
 * A participant with a given layerSeconds, and the coordinator, are taken as they are.
 */
export function plannerView(ps: readonly { info: Participant; figures: LinkFigures }[]): Participant[] {
  const free = (p: Participant): boolean => !p.coordinator && p.layerSeconds === undefined;
  const speed = (p: Participant): number => p.speed ?? 1;
  const devices = ps.filter((x) => free(x.info) && x.figures.layerSeconds! > 0).map((x) => x.figures.layerSeconds! * speed(x.info));
  const mid = median(devices);
  return ps.map(({ info, figures }) => {
    if (!free(info) || mid === undefined) return measuredParticipant(info, figures);
    const own = figures.layerSeconds === undefined ? undefined : figures.layerSeconds * speed(info);
    const device = own === undefined || Math.abs(own / mid - 1) < SAME_SPEED ? mid : own;
    return measuredParticipant(info, { ...figures, layerSeconds: device / speed(info) });
  });
}

export interface SlowCheck {
  /** A step this many times the expected one is slow (default 4). */
  readonly factor?: number;
  /** ...and at least this many seconds slower per decoded token on its range (event-loop and GC
   *  noise on a loaded machine, and tiny layers, where 4× of almost nothing is nothing; default 25 ms). */
  readonly minExcessSeconds?: number;
}

/**
 * Whether a participant holding `layers` layers has become slow: the median of its last few decode
 * steps is `factor` times the per-layer time expected of it. `expected` must itself be measured (a
 * nominal figure says nothing about a real device); undefined means no verdict yet.
 */
export function isSlow(meter: LinkMeter, expectedLayerSeconds: number | undefined, layers: number, o: SlowCheck = {}): boolean {
  if (expectedLayerSeconds === undefined || meter.decodeSteps < meter.recentSteps) return false;
  const now = meter.layerSeconds(meter.recentSteps)!;
  return now > (o.factor ?? 4) * expectedLayerSeconds && (now - expectedLayerSeconds) * layers > (o.minExcessSeconds ?? 25e-3);
}
