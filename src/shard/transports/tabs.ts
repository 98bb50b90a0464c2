// Tabs of one origin, with no server: one BroadcastChannel per room carries discovery (hello, bye,
// heartbeats) and, addressed by peer id, every peer-to-peer message too (handshake, requests and
// activation frames). Why not a MessageChannel per pair: BroadcastChannel cannot transfer ports, so
// handing one over needs a SharedWorker relay, which Chrome on Android and some embedded browsers
// lack and which adds a hop of its own. Addressed broadcast costs each other tab of the room one
// ignored structured clone per message; a hidden state is n_embd floats per token (a few KiB for
// the models tabs can split), so for the handful of tabs a room has that is cheaper than a relay.
// The room id names the channel; the secret never travels on it (room.ts proves it by HMAC), and a
// tab that cannot prove it is refused even though it can hear the channel.
import type { PeerMessage, PeerRole, PeerSource, Pipe } from './pipe.ts';
import { PipeBase } from './pipe.ts';
import { TransportError } from '../errors.ts';

export type TabRole = PeerRole;

export interface TabPeer {
  readonly id: string;
  readonly role: TabRole;
}

type TabWire =
  | { readonly k: 'hello'; readonly from: string; readonly role: TabRole }
  | { readonly k: 'hb'; readonly from: string }
  | { readonly k: 'bye'; readonly from: string }
  | { readonly k: 'msg'; readonly from: string; readonly to: string; readonly body: PeerMessage };

/** The part of BroadcastChannel used here (Node's and the browsers' agree on it). */
export interface ChannelLike {
  postMessage(data: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(): void;
}

export interface TabsRoomOptions {
  /** Heartbeat period (default 500 ms). */
  heartbeatMs?: number;
  /** A peer not heard from for this long is gone (default 4000 ms: survives 1 s timer throttling). */
  timeoutMs?: number;
  /** For tests: the channel to use instead of a BroadcastChannel. */
  channel?: ChannelLike;
}

class TabPipe extends PipeBase implements Pipe {
  readonly remote: string;
  lastSeen = performance.now();
  private readonly room: TabsRoom;

  constructor(room: TabsRoom, remote: string) {
    super();
    this.room = room;
    this.remote = remote;
  }

  send(msg: PeerMessage): void {
    if (this.closed) throw new TransportError(`tab ${this.remote} is gone`);
    this.room.post({ k: 'msg', from: this.room.self, to: this.remote, body: msg });
  }

  close(): void {
    this.fireClose('closed');
  }
}

export class TabsRoom implements PeerSource {
  readonly roomId: string;
  readonly self: string;
  readonly role: TabRole;
  private readonly ch: ChannelLike;
  private readonly pipes = new Map<string, { pipe: TabPipe; role: TabRole }>();
  private listeners: ((peer: TabPeer, pipe: Pipe) => void)[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly timeoutMs: number;
  private left = false;

  static channelName(roomId: string): string {
    return `tabshard-room:${roomId}`;
  }

  constructor(roomId: string, self: string, role: TabRole, o: TabsRoomOptions = {}) {
    if (!o.channel && typeof BroadcastChannel === 'undefined') throw new TransportError('this browser has no BroadcastChannel');
    this.roomId = roomId;
    this.self = self;
    this.role = role;
    this.timeoutMs = o.timeoutMs ?? 4000;
    this.ch = o.channel ?? (new BroadcastChannel(TabsRoom.channelName(roomId)) as ChannelLike);
    this.ch.onmessage = (ev) => this.receive(ev.data as TabWire);
    this.timer = setInterval(() => this.beat(), o.heartbeatMs ?? 500);
    (this.timer as { unref?: () => void }).unref?.();
    this.post({ k: 'hello', from: self, role });
  }

  /** Calls `cb` for every peer heard from (once each), with the pipe to it. */
  onPeer(cb: (peer: TabPeer, pipe: Pipe) => void): () => void {
    this.listeners.push(cb);
    return () => { this.listeners = this.listeners.filter((c) => c !== cb); };
  }

  /** Peers currently present. */
  peers(): TabPeer[] {
    return [...this.pipes].filter(([, p]) => !p.pipe.closed).map(([id, p]) => ({ id, role: p.role }));
  }

  /** Says goodbye on `pagehide` (a closed or navigated tab), so peers need not wait for a timeout. */
  bindPageLifecycle(target: Pick<Window, 'addEventListener'>): void {
    target.addEventListener('pagehide', () => this.leave());
  }

  /** Goodbye to everyone; closes every pipe and the channel. */
  leave(): void {
    if (this.left) return;
    this.post({ k: 'bye', from: this.self });
    this.left = true;
    clearInterval(this.timer);
    for (const { pipe } of this.pipes.values()) pipe.fireClose('closed');
    this.ch.close();
  }

  /** Internal: used by the pipes. */
  post(m: TabWire): void {
    if (!this.left) this.ch.postMessage(m);
  }

  private receive(m: TabWire): void {
    if (this.left || !m || typeof m !== 'object' || typeof m.from !== 'string' || m.from === this.self) return;
    const known = this.pipes.get(m.from);
    if (known) known.pipe.lastSeen = performance.now();
    switch (m.k) {
      case 'hello':
        if (!known) this.meet(m.from, m.role);
        return;
      case 'bye':
        known?.pipe.fireClose('bye');
        return;
      case 'msg':
        if (m.to === this.self) known?.pipe.deliver(m.body);
        return;
      default:
        return;
    }
  }

  private meet(id: string, role: TabRole): void {
    if (role !== 'coordinator' && role !== 'participant') return;
    const pipe = new TabPipe(this, id);
    this.pipes.set(id, { pipe, role });
    this.post({ k: 'hello', from: this.self, role: this.role }); // so a tab that came later meets us too
    for (const cb of [...this.listeners]) cb({ id, role }, pipe);
  }

  private beat(): void {
    this.post({ k: 'hb', from: this.self });
    const now = performance.now();
    for (const { pipe } of this.pipes.values()) {
      if (!pipe.closed && now - pipe.lastSeen > this.timeoutMs) pipe.fireClose('closed');
    }
  }
}
