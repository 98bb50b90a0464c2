// An in-process ParticipantLink around a ShardHost: the single-device case, and the test bench for
// failover. Frames go through chunking and reassembly both ways, and buffers are copied, as they
// would be over a data channel. Faults are counted in 'layers' calls, so "dies mid-answer" is
// deterministic: after `dieAfter` layers calls, the next one closes the link instead of answering.
import { chunkFrame, encodeFrame, FrameAssembler } from './frames.ts';
import type { ShardHost } from './participant.ts';
import type { CloseReason, ParticipantLink, ShardRequest, ShardResponse } from './wire.ts';

export type Corruption = 'nan' | 'wrong-size' | 'garbage';

export interface LinkFaults {
  /** Answer this many layers calls, then close the channel on the next (a crash: no bye). */
  dieAfter?: number;
  /** Answer this many layers calls, then send corrupted activations. */
  corruptAfter?: number;
  corrupt?: Corruption;
  /** Answer this many layers calls, then never answer anything again (pings included). */
  hangAfter?: number;
  /** Delay every answer by this many milliseconds (on the link: not in the answer's reported time). */
  delayMs?: number;
}

/** Passes a frame through chunk → reassemble, as a data channel transport does. */
function overTheWire(frame: ArrayBuffer, id: number): ArrayBuffer {
  const asm = new FrameAssembler();
  let out: ArrayBuffer | undefined;
  for (const c of chunkFrame(frame, id)) out = asm.push(c.slice(0));
  return out!;
}

function corruptFrame(frame: ArrayBuffer, how: 'wrong-size' | 'garbage'): ArrayBuffer {
  const b = frame.slice(0);
  if (how === 'garbage') {
    const u = new Uint8Array(b);
    for (let i = 0; i < u.length; i++) u[i] = (i * 131 + 7) & 0xff;
    return b;
  }
  return b.slice(0, b.byteLength - 4); // 'wrong-size'
}

export class LocalLink implements ParticipantLink {
  readonly id: string;
  private readonly host: ShardHost;
  readonly faults: LinkFaults;
  private layersCalls = 0;
  private closed = false;
  private closers: ((reason: CloseReason) => void)[] = [];
  private frameIds = 0;
  /** Every request this link answered or refused, for tests. */
  readonly log: ShardRequest['op'][] = [];

  constructor(id: string, host: ShardHost, faults: LinkFaults = {}) {
    this.id = id;
    this.host = host;
    this.faults = faults;
  }

  async call(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse> {
    this.log.push(req.op);
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    const f = this.faults;
    const n = req.op === 'layers' ? this.layersCalls++ : -1;
    if (f.hangAfter !== undefined && (n >= f.hangAfter || (n < 0 && this.layersCalls > f.hangAfter))) return this.hang(signal);
    if (req.op === 'layers' && f.dieAfter !== undefined && n >= f.dieAfter) {
      this.fire('closed');
      throw new Error(`link ${this.id} closed mid-call`);
    }
    const sent: ShardRequest = req.op === 'layers' ? { op: 'layers', frame: overTheWire(req.frame, this.frameIds++) } : req;
    const t0 = performance.now();
    let res = await this.host.handle(sent, signal);
    const ms = performance.now() - t0; // the participant's own time; delayMs below is the link's
    if (f.delayMs) await sleep(f.delayMs, signal);
    signal.throwIfAborted();
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    if (res.op === 'layers') {
      let frame = res.frame;
      if (f.corrupt && n >= (f.corruptAfter ?? 0)) frame = f.corrupt === 'nan' ? nanFrame(frame) : corruptFrame(frame, f.corrupt);
      res = { op: 'layers', frame: overTheWire(frame, this.frameIds++), ms };
    }
    return res;
  }

  /** The participant leaves politely (tab closed with a goodbye). */
  bye(): void {
    this.fire('bye');
  }

  /** The channel drops (crash, network). */
  kill(): void {
    this.fire('closed');
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    this.closers.push(cb);
    return () => { this.closers = this.closers.filter((c) => c !== cb); };
  }

  close(): void {
    this.closed = true;
    this.closers = [];
  }

  private fire(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    const cbs = this.closers;
    this.closers = [];
    for (const cb of cbs) cb(reason);
  }

  private hang(signal: AbortSignal): Promise<never> {
    return new Promise((_, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A well-formed frame (valid checksum) whose values are NaN: what a participant with a broken GPU
 * would send, so only the finiteness check catches it.
 */
function nanFrame(frame: ArrayBuffer): ArrayBuffer {
  const dv = new DataView(frame);
  const g = (o: number): number => dv.getUint32(o, true);
  const nTok = g(12);
  const nEmbd = g(16);
  return encodeFrame({ seq: g(8), nTok, nEmbd, dtype: 'f32', pos: g(20), from: g(24), to: g(28) }, new Float32Array(nTok * nEmbd).fill(NaN));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}
