// A Pipe is one ordered, reliable, bidirectional channel between two room peers, whatever carries
// it (a BroadcastChannel addressed by peer id, a WebRTC data channel). The room handshake (room.ts)
// and the shard RPC (rpc-link.ts) both run over it, so a transport only has to provide this.
import type { CloseReason, ShardRequest, ShardResponse } from '../wire.ts';

/** What a participant tells the coordinator about itself when it joins. */
export interface PeerInfo {
  /** Bytes it may use for weights + KV of its range. */
  readonly memoryBytes: number;
  /** Relative speed (1 = the reference device). */
  readonly speed: number;
  /** Wire dtypes it can decode and encode. */
  readonly wire: readonly ('f32' | 'f16')[];
  readonly backend: 'cpu' | 'webgpu';
  /** A human label for the shard map (browser name); never a secret. */
  readonly label: string;
  /** Root CID of the model it loads its layers from (the coordinator refuses another model). */
  readonly model?: string;
}

export type PeerMessage =
  /** coordinator → peer: prove you hold the room secret (nonce chosen by the coordinator, not a server). */
  | { readonly t: 'challenge'; readonly room: string; readonly nonce: string }
  /** peer → coordinator: HMAC over the challenge and its own id; its own nonce for the mutual proof. */
  | { readonly t: 'proof'; readonly peer: string; readonly mac: string; readonly nonce: string; readonly info: PeerInfo }
  /** coordinator → peer: accepted, with the coordinator's own proof over the peer's nonce. */
  | { readonly t: 'admitted'; readonly mac: string }
  | { readonly t: 'refused'; readonly reason: string }
  | { readonly t: 'req'; readonly id: number; readonly req: ShardRequest }
  | { readonly t: 'res'; readonly id: number; readonly res: ShardResponse }
  /** Either side leaves (tab closing, participant dropped by the coordinator). */
  | { readonly t: 'bye' };

export interface Pipe {
  /** The remote peer's id as the transport knows it. */
  readonly remote: string;
  /** True once the pipe closed (either side). */
  readonly closed: boolean;
  send(msg: PeerMessage): void;
  /** Returns an unsubscribe function. */
  onMessage(cb: (msg: PeerMessage) => void): () => void;
  /** Fires once, at most; returns an unsubscribe function. */
  onClose(cb: (reason: CloseReason) => void): () => void;
  close(): void;
}

/** Shared bookkeeping for Pipe implementations: listener lists and the fire-once close. */
export class PipeBase {
  private listeners: ((msg: PeerMessage) => void)[] = [];
  private closers: ((reason: CloseReason) => void)[] = [];
  closed = false;

  onMessage(cb: (msg: PeerMessage) => void): () => void {
    this.listeners.push(cb);
    return () => { this.listeners = this.listeners.filter((c) => c !== cb); };
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    if (this.closed) {
      queueMicrotask(() => cb('closed'));
      return () => {};
    }
    this.closers.push(cb);
    return () => { this.closers = this.closers.filter((c) => c !== cb); };
  }

  /** Delivers an incoming message (a 'bye' closes the pipe with reason 'bye'). */
  deliver(msg: PeerMessage): void {
    if (this.closed) return;
    if (msg.t === 'bye') {
      this.fireClose('bye');
      return;
    }
    for (const cb of [...this.listeners]) cb(msg);
  }

  fireClose(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    const cbs = this.closers;
    this.closers = [];
    this.listeners = [];
    for (const cb of cbs) cb(reason);
  }
}

/** Resolves with the first message `accept` maps to a value; rejects on close, abort or timeout. */
export function nextMessage<T>(pipe: Pipe, accept: (m: PeerMessage) => T | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => { offMsg(); offClose(); clearTimeout(timer); signal?.removeEventListener('abort', onAbort); };
    const offMsg = pipe.onMessage((m) => {
      const v = accept(m);
      if (v !== undefined) { done(); resolve(v); }
    });
    const offClose = pipe.onClose((r) => { done(); reject(new Error(`channel closed (${r})`)); });
    const timer = setTimeout(() => { done(); reject(new Error(`no answer within ${timeoutMs} ms`)); }, timeoutMs);
    const onAbort = (): void => { done(); reject(signal!.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type PeerRole = 'coordinator' | 'participant';

/** A room's transport as the pages see it: peers appear with a pipe each; leave() says goodbye. */
export interface PeerSource {
  onPeer(cb: (peer: { readonly id: string; readonly role: PeerRole }, pipe: Pipe) => void): () => void;
  leave(): void;
}
