// The coordinator: the chatting tab's view of a sharded model, as a Backend, so the ordinary
// generate loop runs on it unchanged. It keeps the token history, the plan, and a local Backend with
// the embedding and the head; every forward() goes embed → stage 1 → ... → stage n → head, the
// hidden state relayed through the coordinator as frames (star topology, see planner.ts).
//
// Failure handling. A participant is lost when a call times out, fails, returns an error or a bad
// frame (FrameError: malformed, wrongly sized, non-finite), when its link closes (a `bye` or a
// dropped channel), or when a heartbeat ping goes unanswered. The forward pass in flight is then
// discarded on the survivors (truncate to its start position) and the coordinator recovers:
//   1. a spare holding exactly the lost range is promoted (no re-plan), or else
//   2. the planner runs again over the participants still alive, and each participant whose range
//      changed loads its new range.
// Then every stage whose holder's KV cache does not cover the history is rebuilt by re-prefilling
// the history through it, from the recorded hidden states entering its first layer (BoundaryLog):
// upstream and downstream stages are not recomputed. The interrupted forward is then run again, so
// no token is lost or repeated, and (with f32 frames) greedy decoding gives the same tokens as one
// device.
//
// Measured links. Every layers call and heartbeat is timed into the member's LinkMeter
// (plan-links.ts); every plan and re-plan uses the measured round trip, bandwidth and step time in
// place of the figures given at admission. A member whose decode steps become several times what
// they were when it was first measured is dropped like one that left (reason 'slow'), provided the
// others can still hold the model: the next forward re-plans without it.
import type { Backend, LlamaConfig, MemoryReport } from '../engine/backend.ts';
import { ContextOverflowError } from '../engine/errors.ts';
import { BoundaryLog } from './boundary-log.ts';
import { FrameError, ParticipantLostError, ShardFailedError, type LossReason } from './errors.ts';
import { decodeFrame, encodeFrame, type WireDtype } from './frames.ts';
import { makeStage, plan as makePlan, planSeconds } from './planner.ts';
import { isSlow, LinkMeter, plannerView, type SlowCheck } from './plan-links.ts';
import type { ModelCosts, Participant, Plan, PlanOptions, StageSpec } from './plan-types.ts';
import type { ParticipantLink, ShardRequest, ShardResponse } from './wire.ts';

export interface CoordinatorMember {
  readonly link: ParticipantLink;
  /** What the planner knows about it (id must equal link.id). */
  readonly info: Participant;
  /** Where its link's measurements go (a session keeps one per peer across coordinators). */
  readonly meter?: LinkMeter;
}

export type CoordinatorEvent =
  /** `measured`: a re-plan between answers because the measured links favour another plan (rebalance). */
  | { type: 'planned'; plan: Plan; replan: boolean; measured?: boolean }
  | { type: 'lost'; participant: string; reason: LossReason; message: string }
  | { type: 'promoted'; participant: string; from: number; to: number }
  | { type: 'rebuilt'; participant: string; from: number; to: number; tokens: number; ms: number };

export interface CoordinatorOptions {
  /** Holds the embedding and the head (layer range may be empty). */
  local: Backend;
  costs: ModelCosts;
  members: readonly CoordinatorMember[];
  /** Default: strategy 'layers', no spares. */
  plan?: PlanOptions;
  /** Activations on the wire (default 'f32': bit-exact with one device). */
  wire?: WireDtype;
  /** A call that takes longer loses its participant (default 30 s; loads get 10×). */
  callTimeoutMs?: number;
  /** Ping every participant this often; 0 (default) turns heartbeats off. */
  heartbeatMs?: number;
  /** Tokens per layers call (prefill and KV rebuild); default 64. */
  batch?: number;
  /** When a member counts as slow (plan-links.ts isSlow); false: never dropped for being slow. */
  slow?: SlowCheck | false;
  onEvent?: (e: CoordinatorEvent) => void;
  signal?: AbortSignal;
}

interface Member {
  readonly link: ParticipantLink;
  readonly info: Participant;
  alive: boolean;
  /** Aborted when the member is lost, failing its calls in flight at once. */
  readonly lost: AbortController;
  loaded: readonly [number, number] | undefined;
  /** Positions its KV cache holds for its loaded range. */
  kv: number;
  unsubscribe: () => void;
  readonly meter: LinkMeter;
  /** Its per-layer step time when first measured: what "slow" is relative to. */
  expected: number | undefined;
}

interface Slot {
  member: Member;
  readonly from: number;
  readonly to: number;
}

export class Coordinator implements Backend {
  readonly kind: 'cpu' | 'webgpu';
  readonly config: LlamaConfig;
  readonly layerRange: readonly [number, number];
  readonly stats = { replans: 0, promotions: 0, rebuiltTokens: 0, losses: 0 };
  private readonly o: CoordinatorOptions;
  private readonly members: Member[];
  private stages: Slot[] = [];
  private spares: Slot[] = [];
  private current: Plan | undefined;
  private readonly history: number[] = [];
  private readonly logs = new Map<number, BoundaryLog>();
  private pendingTruncate: number | undefined;
  private seq = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private disposed = false;

  private constructor(o: CoordinatorOptions) {
    this.o = o;
    this.kind = o.local.kind;
    this.config = o.local.config;
    this.layerRange = [0, o.local.config.nLayer];
    this.members = o.members.map((m) => {
      if (m.link.id !== m.info.id) throw new Error(`link id '${m.link.id}' differs from participant id '${m.info.id}'`);
      const meter = m.meter ?? new LinkMeter();
      const mem: Member = { link: m.link, info: m.info, alive: true, lost: new AbortController(), loaded: undefined, kv: 0, unsubscribe: () => {}, meter, expected: meter.layerSeconds() };
      mem.unsubscribe = m.link.onClose((reason) => this.markLost(mem, reason, 'link closed'));
      return mem;
    });
  }

  /** Plans, loads every stage and spare, and starts heartbeats. */
  static async create(o: CoordinatorOptions): Promise<Coordinator> {
    const c = new Coordinator(o);
    await c.replan(false);
    await c.recover(0);
    if (o.heartbeatMs) c.startHeartbeat(o.heartbeatMs);
    return c;
  }

  get plan(): Plan {
    return this.current!;
  }

  /** Token history the stages' caches hold (the conversation so far). */
  get tokens(): readonly number[] {
    return this.history;
  }

  embed(tokens: ArrayLike<number>): Promise<Float32Array> {
    return this.o.local.embed(tokens);
  }

  head(hidden: Float32Array, nTok: number, all?: boolean): Promise<Float32Array> {
    return this.o.local.head(hidden, nTok, all);
  }

  /** Not offered: recovery re-prefills from the token history, which only forward() knows. */
  layers(): Promise<Float32Array> {
    return Promise.reject(new ShardFailedError('a coordinator runs whole tokens: use forward()'));
  }

  truncate(pos: number): void {
    if (pos >= this.history.length) return;
    this.history.length = pos;
    this.pendingTruncate = Math.min(this.pendingTruncate ?? pos, pos);
  }

  memory(): MemoryReport {
    return this.o.local.memory();
  }

  async forward(tokens: ArrayLike<number>, pos: number, all = false): Promise<Float32Array> {
    if (this.disposed) throw new ShardFailedError('coordinator disposed');
    const toks = Array.from(tokens);
    if (pos > this.history.length) throw new RangeError(`forward at ${pos} but the history has ${this.history.length} tokens`);
    if (pos + toks.length > this.config.nCtx) throw new ContextOverflowError(pos + toks.length, this.config.nCtx);
    this.truncate(pos);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.recover(pos);
        const logits = await this.run(toks, pos, all);
        this.history.push(...toks);
        this.dropSlow();
        return logits;
      } catch (e) {
        if (!(e instanceof ParticipantLostError)) throw e;
        this.markLost(this.members.find((m) => m.info.id === e.participant)!, e.reason, e.message);
        if (attempt >= this.members.length) throw new ShardFailedError(`gave up after ${attempt + 1} losses`, { cause: e });
        // The survivors computed part of this chunk: forget it, it will be run again.
        this.pendingTruncate = Math.min(this.pendingTruncate ?? pos, pos);
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const m of this.members) {
      m.unsubscribe();
      m.lost.abort(new ShardFailedError('coordinator disposed'));
      m.link.close();
    }
  }

  // --- the pipeline ---------------------------------------------------------------------------

  private async run(tokens: number[], pos: number, all: boolean): Promise<Float32Array> {
    let h = await this.o.local.embed(tokens);
    for (const s of this.stages) {
      if (s.from > 0) this.record(s.from, pos, h);
      h = await this.runRange(s, h, tokens.length, pos);
      s.member.kv = pos + tokens.length;
    }
    return this.o.local.head(h, tokens.length, all);
  }

  private record(layer: number, pos: number, h: Float32Array): void {
    let log = this.logs.get(layer);
    if (!log && pos === 0) this.logs.set(layer, (log = new BoundaryLog(this.config.nEmbd)));
    if (log && !log.write(pos, h)) this.logs.delete(layer); // a gap: this record is useless now
  }

  /** Runs a stage on hidden [nTok] at pos.., in batches. */
  private async runRange(s: Slot, h: Float32Array, nTok: number, pos: number): Promise<Float32Array> {
    const E = this.config.nEmbd;
    const B = this.o.batch ?? 64;
    const out = new Float32Array(nTok * E);
    for (let i = 0; i < nTok; i += B) {
      const n = Math.min(B, nTok - i);
      out.set(await this.callLayers(s, h.subarray(i * E, (i + n) * E), n, pos + i), i * E);
    }
    return out;
  }

  private async callLayers(s: Slot, h: Float32Array, nTok: number, pos: number): Promise<Float32Array> {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const head = { seq, nTok, nEmbd: this.config.nEmbd, pos, from: s.from, to: s.to };
    const frame = encodeFrame({ ...head, dtype: this.o.wire ?? 'f32' }, h);
    const t0 = performance.now();
    const res = await this.call(s.member, { op: 'layers', frame });
    if (res.op !== 'layers') throw new ParticipantLostError(s.member.info.id, 'error', `answered '${res.op}' to layers`);
    s.member.meter.addLayers({
      bytes: frame.byteLength + res.frame.byteLength, seconds: (performance.now() - t0) / 1000,
      computeSeconds: res.ms === undefined ? undefined : res.ms / 1000, nTok, layers: s.to - s.from,
    });
    try {
      return decodeFrame(res.frame, head).hidden;
    } catch (e) {
      if (e instanceof FrameError) throw new ParticipantLostError(s.member.info.id, 'frame', e.message, { cause: e });
      throw e;
    }
  }

  /** One request; every failure becomes ParticipantLostError naming the member. */
  private async call(m: Member, req: ShardRequest, timeoutMs = this.o.callTimeoutMs ?? 30_000): Promise<ShardResponse> {
    const id = m.info.id;
    if (!m.alive) throw new ParticipantLostError(id, 'closed', 'already lost');
    const timeout = AbortSignal.timeout(timeoutMs);
    const signals = [m.lost.signal, timeout, ...(this.o.signal ? [this.o.signal] : [])];
    let res: ShardResponse;
    try {
      res = await m.link.call(req, AbortSignal.any(signals));
    } catch (e) {
      this.o.signal?.throwIfAborted();
      if (timeout.aborted) throw new ParticipantLostError(id, 'timeout', `${req.op} took over ${timeoutMs} ms`, { cause: e });
      throw new ParticipantLostError(id, m.alive ? 'error' : 'closed', e instanceof Error ? e.message : String(e), { cause: e });
    }
    if (res.op === 'error') throw new ParticipantLostError(id, 'error', `${res.name}: ${res.message}`);
    return res;
  }

  // --- recovery -------------------------------------------------------------------------------

  private markLost(m: Member, reason: LossReason, message: string): void {
    if (!m.alive) return;
    m.alive = false;
    this.stats.losses++;
    m.unsubscribe();
    m.lost.abort(new ParticipantLostError(m.info.id, reason, message));
    m.link.close();
    this.o.onEvent?.({ type: 'lost', participant: m.info.id, reason, message });
  }

  private async replan(replan: boolean): Promise<void> {
    const alive = this.members.filter((m) => m.alive);
    let p: Plan;
    try {
      // A custom plan names participants; once one is gone it cannot hold, so recovery searches.
      const opts = this.o.plan ?? { strategy: 'layers' };
      p = makePlan(this.o.costs, this.view(alive), replan && opts.strategy === 'custom' ? { ...opts, strategy: 'layers' } : opts);
    } catch (e) {
      throw new ShardFailedError(`cannot place the model on the ${alive.length} participants left: ${(e as Error).message}`, { cause: e });
    }
    this.adopt(p, replan);
  }

  private adopt(p: Plan, replan: boolean, measured = false): void {
    const byId = new Map(this.members.filter((m) => m.alive).map((m) => [m.info.id, m]));
    this.stages = p.stages.map((s) => ({ member: byId.get(s.participant)!, from: s.from, to: s.to }));
    this.spares = p.spares.map((s) => ({ member: byId.get(s.participant)!, from: s.from, to: s.to }));
    this.current = p;
    if (replan) this.stats.replans++;
    const starts = new Set(this.stages.map((s) => s.from));
    for (const k of [...this.logs.keys()]) if (!starts.has(k)) this.logs.delete(k);
    this.o.onEvent?.({ type: 'planned', plan: p, replan, ...(measured ? { measured } : {}) });
  }

  /**
   * Between answers (never during a forward): plans again over the same members with what has been
   * measured since, and moves to that plan if it is at least `margin` faster per token than the
   * current one under the same figures. Stages that move reload their ranges and rebuild their
   * caches from the history, as after a loss, so the conversation goes on. The planner's own plans
   * move ('layers'); a user's pipeline (custom, replicate) stays unless the caller gives the
   * pipeline to compare with (`custom`: the session's spread, re-weighted by measured speed).
   * Resolves whether it moved.
   */
  async rebalance(margin = 0.1, custom?: readonly StageSpec[]): Promise<boolean> {
    const opts: PlanOptions = custom ? { strategy: 'custom', custom } : this.o.plan ?? { strategy: 'layers' };
    if (this.disposed || (!custom && opts.strategy !== 'layers') || this.stages.some((s) => !s.member.alive)) return false;
    const ps = this.view(this.members.filter((m) => m.alive));
    let next: Plan;
    try {
      next = makePlan(this.o.costs, ps, opts);
    } catch {
      return false;
    }
    const byId = new Map(ps.map((p) => [p.id, p]));
    const now = planSeconds(this.o.costs, this.stages.map((s) => makeStage(this.o.costs, byId.get(s.member.info.id)!, s.from, s.to)));
    if (!(next.secondsPerToken < (1 - margin) * now)) return false;
    this.adopt(next, true, true);
    await this.recover(this.history.length);
    return true;
  }

  /** The members alive as the planner sees them now (measured figures, noise evened out). */
  participants(): Participant[] {
    return this.view(this.members.filter((m) => m.alive));
  }

  /** Makes every stage alive, loaded, and its KV cache cover positions [0, pos). */
  private async recover(pos: number): Promise<void> {
    let needPlan = false;
    for (const s of this.stages) {
      if (s.member.alive) continue;
      const i = this.spares.findIndex((x) => x.member.alive && x.from === s.from && x.to === s.to);
      if (i < 0) { needPlan = true; continue; }
      s.member = this.spares.splice(i, 1)[0]!.member;
      this.stats.promotions++;
      this.o.onEvent?.({ type: 'promoted', participant: s.member.info.id, from: s.from, to: s.to });
    }
    this.spares = this.spares.filter((x) => x.member.alive);
    if (needPlan) await this.replan(true);
    await Promise.all([...this.stages, ...this.spares].map((s) => this.ensureLoaded(s)));
    if (this.pendingTruncate !== undefined) {
      // Forget what survivors computed past `t` (a discarded chunk, or the caller's truncate).
      const t = this.pendingTruncate;
      for (const log of this.logs.values()) log.truncate(t);
      for (const s of this.stages) {
        if (s.member.kv <= t) continue;
        await this.call(s.member, { op: 'truncate', pos: t });
        s.member.kv = t;
      }
      this.pendingTruncate = undefined;
    }
    const memo = new Map<number, Float32Array>();
    for (let i = 0; i < this.stages.length; i++) {
      const s = this.stages[i]!;
      if (s.member.kv >= pos) continue;
      const t0 = performance.now();
      const out = await this.prefillStage(s, await this.inputAt(i, pos, memo), pos);
      if (i + 1 < this.stages.length) memo.set(s.to, out);
      this.stats.rebuiltTokens += pos;
      this.o.onEvent?.({ type: 'rebuilt', participant: s.member.info.id, from: s.from, to: s.to, tokens: pos, ms: performance.now() - t0 });
    }
  }

  private async ensureLoaded(s: Slot): Promise<void> {
    const m = s.member;
    if (m.loaded && m.loaded[0] === s.from && m.loaded[1] === s.to) return;
    m.loaded = undefined;
    m.kv = 0;
    await this.call(m, { op: 'load', from: s.from, to: s.to }, 10 * (this.o.callTimeoutMs ?? 30_000));
    m.loaded = [s.from, s.to];
  }

  /** Re-prefills positions [0, pos) through a stage from its input; returns its output (and logs it). */
  private async prefillStage(s: Slot, input: Float32Array, pos: number): Promise<Float32Array> {
    s.member.kv = 0;
    if (pos === 0) return input;
    await this.call(s.member, { op: 'truncate', pos: 0 });
    const out = await this.runRange(s, input, pos, 0);
    s.member.kv = pos;
    return out;
  }

  /** Hidden states entering stage i for positions [0, pos): the record, the embedding, or recomputed. */
  private async inputAt(i: number, pos: number, memo: Map<number, Float32Array>): Promise<Float32Array> {
    const a = this.stages[i]!.from;
    const known = memo.get(a) ?? this.logs.get(a)?.read(pos)?.slice();
    let h: Float32Array;
    if (known) h = known;
    else if (a === 0) h = pos === 0 ? new Float32Array(0) : await this.o.local.embed(this.history.slice(0, pos));
    // No record (a boundary the re-plan created): recompute through the previous stage, whose
    // cache this rewrites with the same values.
    else h = await this.prefillStage(this.stages[i - 1]!, await this.inputAt(i - 1, pos, memo), pos);
    memo.set(a, h);
    if (a > 0) {
      const log = new BoundaryLog(this.config.nEmbd, pos);
      log.write(0, h);
      this.logs.set(a, log);
    }
    return h;
  }

  /** What the planner should assume of `ms` (plan-links.ts plannerView: measured, noise evened out). */
  private view(ms: readonly Member[]): Participant[] {
    return plannerView(ms.map((x) => ({ info: x.info, figures: x.meter.figures() })));
  }

  /**
   * Drops the first serving member that became slow, if the others can hold the model without it
   * (a slow member beats no member). Called between forwards, so nothing in flight is wasted.
   */
  private dropSlow(): void {
    if (this.o.slow === false) return;
    for (const s of this.stages) {
      const m = s.member;
      if (m.expected === undefined && m.meter.decodeSteps >= m.meter.recentSteps) m.expected = m.meter.layerSeconds();
      if (!isSlow(m.meter, m.expected, s.to - s.from, this.o.slow)) continue;
      const others = this.view(this.members.filter((x) => x.alive)).filter((p) => p.id !== m.info.id);
      if (others.length === 0) continue;
      try {
        makePlan(this.o.costs, others, { strategy: 'layers' });
      } catch {
        continue; // nobody else can hold its layers: keep the slow one
      }
      const now = m.meter.layerSeconds(m.meter.recentSteps)!;
      this.markLost(m, 'slow', `${(now * 1e3).toFixed(2)} ms per layer per token, ${(now / m.expected!).toFixed(1)}× the ${(m.expected! * 1e3).toFixed(2)} ms first measured`);
      return;
    }
  }

  private startHeartbeat(ms: number): void {
    this.heartbeat = setInterval(() => {
      for (const m of this.members) {
        if (!m.alive) continue;
        const t0 = performance.now();
        this.call(m, { op: 'ping' }, 3 * ms).then(() => m.meter.addPing((performance.now() - t0) / 1000), (e: unknown) => {
          if (e instanceof ParticipantLostError) this.markLost(m, e.reason === 'timeout' ? 'heartbeat' : e.reason, e.message);
        });
      }
    }, ms);
    (this.heartbeat as { unref?: () => void }).unref?.();
  }
}
