// A Pipe over an RTCDataChannel (ordered, reliable). Control messages travel as JSON text;
// binary payloads (activation frames, and block bytes for block exchange) as binary chunks of at most 16 KiB (frames.ts: every browser delivers that
// unfragmented), sent just before the JSON message that refers to them by chunk-frame id, so on an
// ordered channel the frame is complete when its message arrives. Chunks are checked on arrival
// (magic, order, sizes, a size cap); a frame whose chunks were malformed is handed on as an empty
// buffer, so the receiver's decodeFrame raises FrameError and the coordinator drops that peer.
import { chunkFrame, FrameAssembler } from '../frames.ts';
import type { ShardRequest, ShardResponse } from '../wire.ts';
import { PipeBase, type PeerMessage, type Pipe } from './pipe.ts';

/** The part of RTCDataChannel used here. */
export interface DataChannelLike {
  readonly readyState: string;
  binaryType: string;
  bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: string | ArrayBuffer): void;
  close(): void;
  addEventListener(type: 'message', cb: (ev: MessageEvent) => void): void;
  addEventListener(type: 'close' | 'bufferedamountlow' | 'error', cb: () => void): void;
}

/** Above this many queued bytes, sending waits for the channel to drain (browsers close a data channel whose buffer overflows). */
const HIGH_WATER = 4 * 1024 * 1024;

type Wire = Record<string, unknown> & { t: string; frameRef?: number };

/** The message's binary payload, if any, and its JSON form with the payload replaced by a reference. */
function split(m: PeerMessage, ref: () => number): { payload: ArrayBuffer; wire: Wire } | undefined {
  if (m.t === 'req' && m.req.op === 'layers') return { payload: m.req.frame, wire: { t: 'req', id: m.id, req: { op: 'layers' }, frameRef: ref() } };
  if (m.t === 'res' && m.res.op === 'layers') return { payload: m.res.frame, wire: { t: 'res', id: m.id, res: { op: 'layers', ms: m.res.ms }, frameRef: ref() } };
  if (m.t === 'res' && m.res.op === 'block') return { payload: m.res.bytes, wire: { t: 'res', id: m.id, res: { op: 'block', cid: m.res.cid }, frameRef: ref() } };
  return undefined;
}

export class ChannelPipe extends PipeBase implements Pipe {
  readonly remote: string;
  private readonly dc: DataChannelLike;
  private readonly asm = new FrameAssembler({ maxFrameBytes: 64 * 1024 * 1024 });
  private readonly frames = new Map<number, ArrayBuffer>();
  private nextFrame = 1;
  private readonly queue: (string | ArrayBuffer)[] = [];
  /** Frame id whose chunks failed to reassemble, if any. */
  private broken: number | undefined;

  constructor(dc: DataChannelLike, remote: string) {
    super();
    this.dc = dc;
    this.remote = remote;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = HIGH_WATER / 4;
    dc.addEventListener('message', (ev) => this.receive(ev.data as string | ArrayBuffer));
    dc.addEventListener('close', () => this.fireClose('closed'));
    dc.addEventListener('error', () => this.fireClose('closed'));
    dc.addEventListener('bufferedamountlow', () => this.flush());
  }

  send(msg: PeerMessage): void {
    if (this.closed) throw new Error(`channel to ${this.remote} is closed`);
    const id = this.nextFrame;
    const parts = split(msg, () => this.nextFrame++);
    if (!parts) {
      this.push(JSON.stringify(msg));
      return;
    }
    for (const c of chunkFrame(parts.payload, id)) this.push(c);
    this.push(JSON.stringify(parts.wire));
  }

  close(): void {
    this.fireClose('closed');
    this.dc.close();
  }

  private push(x: string | ArrayBuffer): void {
    this.queue.push(x);
    this.flush();
  }

  private flush(): void {
    while (this.queue.length && this.dc.readyState === 'open' && this.dc.bufferedAmount < HIGH_WATER) this.dc.send(this.queue.shift()!);
  }

  private receive(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') {
      try {
        const f = this.asm.push(data);
        if (f) this.frames.set(new DataView(data).getUint32(4, true), f);
      } catch {
        this.broken = data.byteLength >= 8 ? new DataView(data).getUint32(4, true) : -1;
      }
      return;
    }
    let m: Wire;
    try {
      m = JSON.parse(data) as Wire;
    } catch {
      return; // not ours: ignore rather than trust
    }
    if (typeof m.frameRef === 'number') {
      const frame = this.frames.get(m.frameRef) ?? new ArrayBuffer(0); // missing or broken: FrameError downstream
      this.frames.delete(m.frameRef);
      if (this.broken === m.frameRef) this.broken = undefined;
      const res = m.res as { op?: string; cid?: string; ms?: unknown } | undefined;
      if (m.t === 'req') m = { ...m, req: { op: 'layers', frame } satisfies ShardRequest };
      else if (res?.op === 'block') m = { ...m, res: { op: 'block', cid: String(res.cid), bytes: frame } satisfies ShardResponse };
      else {
        // The participant's own time, if it sent a sane one (plan-links.ts); anything else is dropped.
        const ms = typeof res?.ms === 'number' && Number.isFinite(res.ms) && res.ms >= 0 ? res.ms : undefined;
        m = { ...m, res: { op: 'layers', frame, ...(ms === undefined ? {} : { ms }) } satisfies ShardResponse };
      }
      delete m.frameRef;
    }
    this.deliver(m as unknown as PeerMessage);
  }
}
