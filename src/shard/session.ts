// A shard room as a product feature, coordinator side: what the app's Share panel and the e2e room
// page both drive. It owns the room (id + secret), admits the peers that prove the secret (room.ts),
// keeps what the shard map shows about each (state, range, memory, speed, round trip, bytes), and
// hands out a Coordinator (a Backend: the ordinary generate loop runs on it) over the peers admitted
// so far. The Coordinator re-plans by itself when a peer is lost mid-answer; when peers join between
// answers the session builds a new Coordinator so the next answer is planned over all of them.
//
// Links are measured (plan-links.ts): the session keeps one LinkMeter per peer, fed by the
// admission ping, the heartbeats and every activation frame of every Coordinator it builds, so each
// plan uses the round trip, bandwidth and step time measured so far, and the map shows them.
//
// Links are lent to each Coordinator, not given: a Coordinator closes every link when it is
// disposed, but a peer that was only re-planned must stay admitted, so a lent link's close() only
// detaches it; the session closes the peer's real link when the Coordinator reports it lost.
import type { Backend } from '../engine/backend.ts';
import { Coordinator, type CoordinatorEvent } from './coordinator.ts';
import { PlanError, RoomError } from './errors.ts';
import type { WireDtype } from './frames.ts';
import { LocalLink } from './local-link.ts';
import { ShardHost, type BackendFactory } from './participant.ts';
import type { ModelCosts, Participant, PlanOptions, StageSpec } from './plan-types.ts';
import { validateCustom } from './plan-checks.ts';
import { LinkMeter, plannerView, type LinkFigures } from './plan-links.ts';
import { Admissions, type AdmittedPeer } from './room-peers.ts';
import { createRoom, type Room } from './room.ts';
import type { PeerSource } from './transports/pipe.ts';
import type { ShardMapPeer } from './ui/shard-map.ts';
import type { CloseReason, ParticipantLink, ShardRequest, ShardResponse } from './wire.ts';

export type SessionEvent =
  /** Something the shard map shows changed (a peer's state, range, or link figures). */
  | { type: 'peers' }
  /** A line for the room's log: joins, refusals, losses, plans. */
  | { type: 'log'; text: string }
  | { type: 'coordinator'; event: CoordinatorEvent };

export interface ShareSessionOptions {
  /** This tab's peer id in the room. */
  self: string;
  /** The room's transport (tabs or a relay), opened by the caller with role 'coordinator'. */
  source: PeerSource;
  room?: Room;
  costs: ModelCosts;
  /** Holds the embedding and the head (its layer range may be empty). */
  local: Backend;
  /** The model's root CID: peers that say they hold another model are not admitted. */
  model?: string;
  /** This tab may hold a range too (through an in-process link). */
  selfHost?: { factory: BackendFactory; memoryBytes: number; label?: string };
  wire?: WireDtype;
  callTimeoutMs?: number;
  heartbeatMs?: number;
  onEvent?: (e: SessionEvent) => void;
}

export interface PlanChoice {
  /** 'fewest': the planner's choice; 'spread': every peer gets an even share (when each fits). */
  split?: 'fewest' | 'spread';
  /** Use only these peers (ids), in this order; default every admitted peer still present, by id. */
  peers?: readonly string[];
  /** Include this tab's own range (needs selfHost). */
  self?: boolean;
  /** Activations on the wire; default the session's (f32: bit-exact with one device). */
  wire?: WireDtype;
  signal?: AbortSignal;
}

/** A ParticipantLink lent to one Coordinator: close() detaches it without closing the peer's link. */
class LentLink implements ParticipantLink {
  readonly id: string;
  private readonly link: ParticipantLink;
  private detached = false;
  private offs: (() => void)[] = [];

  constructor(link: ParticipantLink) {
    this.id = link.id;
    this.link = link;
  }

  call(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse> {
    if (this.detached) return Promise.reject(new Error(`link ${this.id} was handed back`));
    return this.link.call(req, signal);
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    const off = this.link.onClose(cb);
    this.offs.push(off);
    return off;
  }

  close(): void {
    this.detached = true;
    for (const off of this.offs) off();
    this.offs = [];
  }
}

const SELF_STATES = new Set(['lost', 'slow', 'refused']);

export class ShareSession {
  readonly room: Room;
  readonly self: string;
  readonly costs: ModelCosts;
  private readonly o: ShareSessionOptions;
  private readonly admissions: Admissions;
  private readonly map = new Map<string, ShardMapPeer>();
  private readonly gone = new Set<string>();
  private readonly meters = new Map<string, LinkMeter>();
  /** The coordinator, the peers it still holds (losses removed as it re-plans), and how it was planned. */
  private current: { coord: Coordinator; members: Set<string>; mode: string; selfHost?: ShardHost } | undefined;
  private readonly offPeer: () => void;
  private readonly timer: ReturnType<typeof setInterval>;
  private ended = false;
  /** Tokens through the pipeline since the room started (the map's counter). */
  tokens = 0;

  constructor(o: ShareSessionOptions) {
    this.o = o;
    this.room = o.room ?? createRoom();
    this.self = o.self;
    this.costs = o.costs;
    this.admissions = new Admissions(this.room, { onAdmitted: (p) => this.admitted(p), onRefused: (id) => this.refusedPeer(id) });
    this.offPeer = o.source.onPeer((peer, pipe) => {
      if (peer.role !== 'participant' || this.ended) return;
      this.set({ id: peer.id, label: '', state: 'joining' });
      this.admissions.offer(pipe);
    });
    // Round trips and bytes change with every call: the map is refreshed a few times a second.
    this.timer = setInterval(() => this.refreshLinks(), 500);
    (this.timer as { unref?: () => void }).unref?.();
    if (o.selfHost) this.set({ id: o.self, label: o.selfHost.label ?? 'this tab', state: 'ready', memoryBytes: o.selfHost.memoryBytes, speed: 1, rttMs: 0 });
  }

  /** What the shard map shows, one row per peer. */
  peers(): ShardMapPeer[] {
    return [...this.map.values()];
  }

  /** Admitted peers still present, in id order. */
  present(): AdmittedPeer[] {
    return this.admissions.admitted.filter((p) => !this.gone.has(p.info.id)).sort((a, b) => a.info.id.localeCompare(b.info.id));
  }

  get refused(): readonly string[] {
    return this.admissions.refused;
  }

  /** Resolves once `n` peers are present (RoomError 'timeout' otherwise). */
  async waitFor(n: number, timeoutMs: number, signal?: AbortSignal): Promise<AdmittedPeer[]> {
    const end = performance.now() + timeoutMs;
    while (this.present().length < n) {
      signal?.throwIfAborted();
      if (performance.now() > end) throw new RoomError('timeout', `${this.present().length} of ${n} peers joined within ${timeoutMs} ms`);
      await this.admissions.changed(Math.max(1, end - performance.now()));
    }
    return this.present().slice(0, n);
  }

  /**
   * The Coordinator for the next answer: the current one while the peers it was planned over are
   * the peers present, otherwise a new one planned over them (its links load their ranges now).
   */
  async coordinator(choice: PlanChoice = {}): Promise<Coordinator> {
    if (this.ended) throw new RoomError('closed', 'the room has ended');
    const peers = choice.peers ? choice.peers.map((id) => this.present().find((p) => p.info.id === id)).filter((p): p is AdmittedPeer => !!p) : this.present();
    const withSelf = !!choice.self && !!this.o.selfHost;
    const wire = choice.wire ?? this.o.wire ?? 'f32';
    const ids = [...(withSelf ? [this.self] : []), ...peers.map((p) => p.info.id)];
    const mode = `${choice.split ?? 'fewest'} ${wire}`;
    const cur = this.current;
    if (cur && cur.mode === mode && cur.members.size === ids.length && ids.every((id) => cur.members.has(id))) {
      // The same peers: the plan may still move to what their measured links favour.
      if (choice.split !== 'spread') await cur.coord.rebalance();
      else {
        const custom = spreadPlan(this.costs, cur.coord.participants());
        if (custom) await cur.coord.rebalance(0.1, custom);
      }
      return cur.coord;
    }
    this.disposeCoordinator();
    const selfHost = withSelf ? new ShardHost(this.o.selfHost!.factory) : undefined;
    const members = [
      ...(selfHost ? [{ link: new LocalLink(this.self, selfHost), info: { id: this.self, memoryBytes: this.o.selfHost!.memoryBytes, rttSeconds: 0, bandwidthBytesPerSecond: Infinity } }] : []),
      ...peers.map((p) => ({ link: new LentLink(p.link), info: p.info, meter: this.meter(p.info.id) })),
    ];
    if (members.length === 0) throw new PlanError('no-participants', 'nobody has joined the room yet');
    const view = plannerView(members.map((m) => ({ info: m.info, figures: this.meters.get(m.info.id)?.figures() ?? {} })));
    const plan = choice.split === 'spread' ? spreadPlan(this.costs, view) : undefined;
    const coord = await Coordinator.create({
      local: this.o.local, costs: this.costs, members, wire, signal: choice.signal,
      callTimeoutMs: this.o.callTimeoutMs ?? 30_000, heartbeatMs: this.o.heartbeatMs ?? 1000,
      plan: plan ? { strategy: 'custom', custom: plan } : { strategy: 'layers' },
      onEvent: (e) => this.coordinatorEvent(e),
    }).catch((e: unknown) => { selfHost?.dispose(); throw e; });
    this.current = { coord, members: new Set(ids), mode, selfHost };
    return coord;
  }

  /** Counts a token through the pipeline (the map's counter). */
  countToken(): void {
    this.tokens++;
    this.emit({ type: 'peers' });
  }

  /** Says goodbye to every peer, stops the coordinator and leaves the transport. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.offPeer();
    this.disposeCoordinator();
    for (const p of this.admissions.admitted) p.link.close();
    this.o.source.leave();
    this.log('room ended');
  }

  get isEnded(): boolean {
    return this.ended;
  }

  // --- bookkeeping ----------------------------------------------------------------------------

  private disposeCoordinator(): void {
    if (!this.current) return;
    this.current.coord.dispose();
    this.current.selfHost?.dispose();
    this.current = undefined;
  }

  private admitted(p: AdmittedPeer): void {
    const id = p.info.id;
    if (this.o.model && p.peer.model && p.peer.model !== this.o.model) {
      // It proved the secret but holds another model: its layers would compute garbage.
      this.gone.add(id);
      p.link.close();
      this.set({ id, label: p.peer.label, state: 'refused' });
      this.log(`${id} refused: it holds model ${p.peer.model}, the room shares ${this.o.model}`);
      return;
    }
    this.gone.delete(id);
    // A peer that comes back is measured afresh: its old figures were of another connection.
    const meter = new LinkMeter();
    meter.addPing(p.info.rttSeconds);
    this.meters.set(id, meter);
    this.set({ id, label: p.peer.label, state: 'ready', memoryBytes: p.peer.memoryBytes, speed: p.peer.speed, rttMs: p.info.rttSeconds * 1000, bandwidth: undefined, layerMs: undefined });
    this.log(`${id} joined (${p.peer.label}, ${p.peer.backend})`);
    p.link.onClose((reason) => {
      this.gone.add(id);
      this.set({ id, state: 'lost' });
      this.log(`${id} left (${reason})`);
    });
  }

  private refusedPeer(id: string): void {
    this.set({ id, label: '', state: 'refused' });
    this.log(`${id} refused: it does not hold the room secret`);
  }

  private coordinatorEvent(e: CoordinatorEvent): void {
    if (e.type === 'lost') {
      // (A peer that left was logged as it left.) A slow one is still there: say why it is dropped.
      if (e.reason === 'slow') this.log(`${e.participant} dropped as too slow: ${e.message}`);
      else if (!this.gone.has(e.participant)) this.log(`${e.participant} lost (${e.reason})`);
      this.gone.add(e.participant);
      this.current?.members.delete(e.participant);
      this.set({ id: e.participant, state: e.reason === 'slow' ? 'slow' : 'lost' });
      // The coordinator dropped it (timeout, bad frames): it is out of the room, not just this plan.
      this.admissions.admitted.find((p) => p.info.id === e.participant)?.link.close();
    } else if (e.type === 'planned') {
      const used = new Set([...e.plan.stages, ...e.plan.spares].map((s) => s.participant));
      for (const [id, p] of this.map) if (!used.has(id) && !SELF_STATES.has(p.state)) this.set({ id, state: 'ready', range: undefined });
      for (const s of e.plan.stages) this.set({ id: s.participant, state: 'serving', range: [s.from, s.to] });
      for (const s of e.plan.spares) this.set({ id: s.participant, state: 'spare', range: [s.from, s.to] });
      const desc = e.plan.stages.map((s) => `${s.participant} ${s.from}–${s.to - 1}`).join(', ');
      this.log(`${e.replan ? `re-planned${e.measured ? ' (measured links)' : ''}` : 'planned'}: ${desc}`);
    } else if (e.type === 'promoted') {
      this.set({ id: e.participant, state: 'serving', range: [e.from, e.to] });
      this.log(`${e.participant} promoted to layers ${e.from}–${e.to - 1}`);
    } else if (e.type === 'rebuilt') {
      this.log(`${e.participant} rebuilt its cache (${e.tokens} tokens, ${e.ms.toFixed(0)} ms)`);
    }
    this.emit({ type: 'coordinator', event: e });
  }

  /** The peer's meter (made on first use). */
  private meter(id: string): LinkMeter {
    let m = this.meters.get(id);
    if (!m) this.meters.set(id, (m = new LinkMeter()));
    return m;
  }

  /** Measured link figures as the planner sees them (undefined: not measured yet). */
  linkFigures(id: string): LinkFigures | undefined {
    return this.meters.get(id)?.figures();
  }

  private refreshLinks(): void {
    let changed = false;
    for (const p of this.present()) {
      const row = this.map.get(p.info.id);
      if (!row) continue;
      const f = this.meter(p.info.id).figures();
      const next = {
        bytes: p.link.bytes.sent + p.link.bytes.received,
        rttMs: f.rttSeconds === undefined ? row.rttMs : f.rttSeconds * 1000,
        bandwidth: f.bandwidthBytesPerSecond,
        layerMs: f.layerSeconds === undefined ? undefined : f.layerSeconds * 1000,
      };
      if (row.bytes !== next.bytes || row.rttMs !== next.rttMs || row.bandwidth !== next.bandwidth || row.layerMs !== next.layerMs) {
        this.map.set(p.info.id, { ...row, ...next });
        changed = true;
      }
    }
    if (changed) this.emit({ type: 'peers' });
  }

  private set(p: Partial<ShardMapPeer> & { id: string }): void {
    const old = this.map.get(p.id) ?? { id: p.id, label: '', state: 'joining' as const };
    this.map.set(p.id, { ...old, ...p, label: p.label || old.label });
    this.emit({ type: 'peers' });
  }

  private log(text: string): void {
    this.emit({ type: 'log', text });
  }

  private emit(e: SessionEvent): void {
    this.o.onEvent?.(e);
  }
}

/**
 * The layers split over `members` in order, each at least one layer, or undefined when one of them
 * cannot hold its share: the planner then chooses. Shares are even, or by measured speed when
 * every member has been timed (`layerSeconds`: a device three times slower gets a third of the
 * share). For a user who wants every device they opened to take part, even where fewer would be
 * faster (planner.ts: a hop per stage).
 */
export function spreadPlan(costs: ModelCosts, members: readonly Participant[]): StageSpec[] | undefined {
  const L = costs.nLayer;
  const used = members.slice(0, Math.min(members.length, L));
  const n = used.length;
  const timed = used.map((m) => (typeof m.layerSeconds === 'number' && m.layerSeconds > 0 ? 1 / m.layerSeconds : NaN));
  const w = timed.every((x) => x > 0) ? timed : used.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  const custom: StageSpec[] = [];
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += w[i]!;
    const from = i === 0 ? 0 : custom[i - 1]!.to;
    // At least one layer each, and one left for every member after this one.
    const to = i === n - 1 ? L : Math.min(L - (n - 1 - i), Math.max(from + 1, Math.round((L * acc) / total)));
    custom.push({ participant: used[i]!.id, from, to });
  }
  try {
    validateCustom(costs, members, custom);
    return custom;
  } catch (e) {
    if (e instanceof PlanError) return undefined;
    throw e;
  }
}
