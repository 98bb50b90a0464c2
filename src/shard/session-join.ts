// A shard room as a product feature, participant side: what a helper tab (the app opened from a join
// link) and the e2e room page both drive. It waits for the room's coordinator on the transport,
// proves the room secret (and checks the coordinator's proof), then serves the ranges it is told to
// hold with the backend factory it was given, and says what it holds and what passed through it.
// leave() says goodbye, so the coordinator re-plans at once instead of waiting for a timeout.
import type { BackendFactory, BlockSource } from './participant.ts';
import { joinAndServe, type Serving } from './room-peers.ts';
import type { Room } from './room.ts';
import type { PeerInfo, PeerSource } from './transports/pipe.ts';
import type { ServeOptions } from './transports/rpc-link.ts';
import type { ShardRequest } from './wire.ts';

export type JoinState = 'waiting' | 'serving' | 'refused' | 'dropped' | 'error' | 'left';

export interface JoinSessionOptions {
  room: Room;
  /** This tab's peer id in the room. */
  self: string;
  /** The room's transport, opened by the caller with role 'participant'. */
  source: PeerSource;
  info: PeerInfo;
  factory: BackendFactory;
  /** Serve room peers' block requests from here (see block-exchange.ts). */
  blocks?: BlockSource;
  /** Tests: rewrite answers (a participant that corrupts its activations). */
  mapResponse?: ServeOptions['mapResponse'];
  onChange?: (s: JoinSession) => void;
}

export class JoinSession {
  state: JoinState = 'waiting';
  /** Why it is refused, dropped or failed, in words. */
  message = 'waiting for the coordinator';
  error: Error | undefined;
  coordinator: string | undefined;
  /** Layers held now, [from, to). */
  range: readonly [number, number] | undefined;
  /** Layers calls answered, and how long each took here, ms. */
  served = 0;
  readonly serveMs: number[] = [];
  /** Activation bytes received and sent. */
  bytes = 0;
  private serving: Serving | undefined;
  private readonly o: JoinSessionOptions;
  private readonly off: () => void;

  constructor(o: JoinSessionOptions) {
    this.o = o;
    this.off = o.source.onPeer((peer, pipe) => {
      // One coordinator at a time: a second one (a stale tab of the same room) is ignored.
      if (peer.role !== 'coordinator' || this.serving || this.state === 'left') return;
      this.coordinator = peer.id;
      joinAndServe(pipe, o.room, o.self, o.info, o.factory, {
        blocks: o.blocks,
        mapResponse: o.mapResponse,
        onRequest: (req, ms) => this.served1(req, ms),
      }).then((s) => {
        this.serving = s;
        this.set('serving', `serving coordinator ${peer.id}`);
        pipe.onClose((r) => {
          this.serving = undefined;
          this.range = undefined;
          if (this.state !== 'left') this.set('dropped', `the coordinator closed the link (${r})`);
        });
      }, (e: unknown) => {
        const refused = (e as { problem?: string }).problem === 'refused';
        this.error = e as Error;
        this.set(refused ? 'refused' : 'error', refused ? 'refused: this link does not hold the room secret' : `could not join: ${(e as Error).message}`);
      });
    });
  }

  /** Leaves the room: a goodbye to the coordinator, and the backend is freed. */
  leave(): void {
    if (this.state === 'left') return;
    this.state = 'left';
    this.off();
    this.serving?.stop();
    this.serving = undefined;
    this.range = undefined;
    this.o.source.leave();
    this.set('left', 'left the room');
  }

  private served1(req: ShardRequest, ms: number): void {
    if (req.op === 'load') this.range = [req.from, req.to];
    if (req.op === 'layers') {
      this.served++;
      this.serveMs.push(ms);
      this.bytes += 2 * req.frame.byteLength; // the answer is a frame of the same shape
    }
    this.o.onChange?.(this);
  }

  private set(state: JoinState, message: string): void {
    this.state = state;
    this.message = message;
    this.o.onChange?.(this);
  }
}
