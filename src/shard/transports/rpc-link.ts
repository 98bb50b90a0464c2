// The shard protocol over a Pipe: PipeLink is the coordinator's ParticipantLink for one admitted
// peer; serveShardHost is the participant's loop answering it with a ShardHost. Requests carry ids
// so answers to calls the coordinator aborted (timeouts) are recognised and dropped.
import type { ShardHost } from '../participant.ts';
import type { CloseReason, ParticipantLink, ShardRequest, ShardResponse } from '../wire.ts';
import type { Pipe } from './pipe.ts';

interface Pending {
  resolve(res: ShardResponse): void;
  reject(err: Error): void;
}

export class PipeLink implements ParticipantLink {
  readonly id: string;
  private readonly pipe: Pipe;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: CloseReason | undefined;
  private closers: ((reason: CloseReason) => void)[] = [];
  /** Round trip of the last answered call, ms (for the shard map). */
  lastRttMs = 0;
  /** Activation bytes sent and received (frames only). */
  readonly bytes = { sent: 0, received: 0 };

  constructor(pipe: Pipe) {
    this.id = pipe.remote;
    this.pipe = pipe;
    pipe.onMessage((m) => {
      if (m.t !== 'res') return;
      const p = this.pending.get(m.id);
      if (!p) return; // an answer to an aborted call
      this.pending.delete(m.id);
      if (m.res.op === 'layers') this.bytes.received += m.res.frame.byteLength;
      p.resolve(m.res);
    });
    pipe.onClose((reason) => this.shut(reason));
  }

  call(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse> {
    if (this.closed) return Promise.reject(new Error(`link ${this.id} is closed (${this.closed})`));
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    const t0 = performance.now();
    return new Promise<ShardResponse>((resolve, reject) => {
      const onAbort = (): void => { this.pending.delete(id); reject(signal.reason); };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (res) => { signal.removeEventListener('abort', onAbort); this.lastRttMs = performance.now() - t0; resolve(res); },
        reject: (err) => { signal.removeEventListener('abort', onAbort); reject(err); },
      });
      if (req.op === 'layers') this.bytes.sent += req.frame.byteLength;
      this.pipe.send({ t: 'req', id, req });
    });
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    this.closers.push(cb);
    return () => { this.closers = this.closers.filter((c) => c !== cb); };
  }

  /** Drops the participant: it is told so ('bye'), then the channel is closed. */
  close(): void {
    if (this.closed) return;
    try { this.pipe.send({ t: 'bye' }); } catch { /* the channel is already gone */ }
    this.closers = []; // a close we chose is not a loss to report
    this.shut('closed');
    this.pipe.close();
  }

  private shut(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = reason;
    for (const p of this.pending.values()) p.reject(new Error(`link ${this.id} closed (${reason}) mid-call`));
    this.pending.clear();
    const cbs = this.closers;
    this.closers = [];
    for (const cb of cbs) cb(reason);
  }
}

export interface ServeOptions {
  /** Rewrites each answer before it is sent (tests: a participant that corrupts its activations). */
  mapResponse?: (res: ShardResponse, req: ShardRequest) => ShardResponse;
  /** Observes each request as it is answered (the participant page's counters). */
  onRequest?: (req: ShardRequest, ms: number) => void;
  /**
   * Requests wait for this before they run: the listener must be attached as soon as the proof is
   * sent (the coordinator's first request may follow its 'admitted' at once), but nothing is served
   * until the coordinator has proven the secret too. If it rejects, nothing is ever served.
   */
  ready?: Promise<void>;
}

/** Answers the coordinator's requests on `pipe` until it closes; returns a stop function. */
export function serveShardHost(pipe: Pipe, host: ShardHost, o: ServeOptions = {}): () => void {
  const stop = new AbortController();
  const off = pipe.onMessage((m) => {
    if (m.t !== 'req') return;
    void (o.ready ?? Promise.resolve()).then(async () => {
      const t0 = performance.now();
      const handled = await host.handle(m.req, stop.signal);
      if (stop.signal.aborted) return;
      const ms = performance.now() - t0;
      o.onRequest?.(m.req, ms);
      const res: ShardResponse = handled.op === 'layers' ? { ...handled, ms } : handled;
      pipe.send({ t: 'res', id: m.id, res: o.mapResponse ? o.mapResponse(res, m.req) : res });
    }).catch(() => undefined); // not admitted, or the pipe closed under us: nothing to answer
  });
  const offClose = pipe.onClose(() => stop.abort());
  return () => { off(); offClose(); stop.abort(); };
}
