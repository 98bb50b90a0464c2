// Both ends of a room over any transport's pipes: the coordinator admits the peers that prove the
// secret and turns them into CoordinatorMembers; a participant proves it, then serves its range.
import type { CoordinatorMember } from './coordinator.ts';
import { RoomError } from './errors.ts';
import { ShardHost, type BackendFactory, type ShardHostOptions } from './participant.ts';
import { admit, join, type Room } from './room.ts';
import type { PeerInfo, Pipe } from './transports/pipe.ts';
import { PipeLink, serveShardHost, type ServeOptions } from './transports/rpc-link.ts';

export interface AdmittedPeer extends CoordinatorMember {
  readonly link: PipeLink;
  readonly peer: PeerInfo;
}

export interface AdmissionsOptions {
  onAdmitted?: (peer: AdmittedPeer) => void;
  onRefused?: (peer: string) => void;
}

/** The coordinator's door: every offered pipe is challenged; admitted peers queue up in order. */
export class Admissions {
  readonly admitted: AdmittedPeer[] = [];
  /** Peer ids refused for a wrong or missing secret. */
  readonly refused: string[] = [];
  private readonly room: Room;
  private readonly o: AdmissionsOptions;
  private waiters: (() => void)[] = [];

  constructor(room: Room, o: AdmissionsOptions = {}) {
    this.room = room;
    this.o = o;
  }

  offer(pipe: Pipe): void {
    void this.admitOne(pipe).finally(() => this.wake());
  }

  private async admitOne(pipe: Pipe): Promise<void> {
    try {
      const { id, info } = await admit(pipe, this.room);
      const link = new PipeLink(pipe);
      // One ping measures the link for the planner (rtt; bandwidth is not probed: a nominal figure).
      const t0 = performance.now();
      await link.call({ op: 'ping' }, AbortSignal.timeout(5000));
      const rtt = (performance.now() - t0) / 1000;
      const peer: AdmittedPeer = { link, peer: info, info: { id, memoryBytes: info.memoryBytes, backend: info.backend, speed: info.speed, rttSeconds: rtt, bandwidthBytesPerSecond: 1e8 } };
      // A peer that comes back (a reloaded tab keeps its id) replaces its old entry.
      const old = this.admitted.findIndex((p) => p.info.id === id);
      if (old >= 0) this.admitted.splice(old, 1);
      this.admitted.push(peer);
      this.o.onAdmitted?.(peer);
    } catch (e) {
      if (e instanceof RoomError && e.problem === 'refused') {
        this.refused.push(pipe.remote);
        this.o.onRefused?.(pipe.remote);
      } else pipe.close(); // gone during the handshake: it may come back with a new pipe
    }
  }

  /** Resolves at the next admission or refusal, or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, timeoutMs);
      this.waiters.push(() => { clearTimeout(t); r(); });
    });
  }

  /** Resolves once `n` peers are admitted (RoomError 'timeout' otherwise). */
  async waitFor(n: number, timeoutMs: number): Promise<AdmittedPeer[]> {
    const end = performance.now() + timeoutMs;
    while (this.admitted.length < n) {
      const left = end - performance.now();
      if (left <= 0) throw new RoomError('timeout', `${this.admitted.length} of ${n} peers joined within ${timeoutMs} ms`);
      await this.changed(left);
    }
    return this.admitted.slice(0, n);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export interface Serving {
  readonly host: ShardHost;
  stop(): void;
}

/** Participant: proves the room secret to the coordinator on `pipe`, then serves its requests. */
export async function joinAndServe(pipe: Pipe, room: Room, self: string, info: PeerInfo, factory: BackendFactory, o: ServeOptions & ShardHostOptions = {}): Promise<Serving> {
  const host = new ShardHost(factory, o);
  const joined = join(pipe, room, self, info);
  const stop = serveShardHost(pipe, host, { ...o, ready: joined });
  pipe.onClose(() => host.dispose());
  try {
    await joined;
  } catch (e) {
    stop();
    throw e;
  }
  return { host, stop: () => { stop(); host.dispose(); pipe.close(); } };
}
