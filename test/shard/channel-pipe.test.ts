// The data-channel pipe over an in-memory channel pair (ordered, like an RTCDataChannel): frames
// cross as 16 KiB chunks and come out whole; malformed chunks reach the receiver as a frame that
// fails to decode (FrameError), never as trusted values. And the signaling relay forwards only
// within a room.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CHUNK_BYTES, decodeFrame, encodeFrame } from '../../src/shard/frames.ts';
import { ChannelPipe, type DataChannelLike } from '../../src/shard/transports/channel-pipe.ts';
import type { PeerMessage } from '../../src/shard/transports/pipe.ts';
import { startSignalRelay } from '../../src/shard/transports/signal-server.ts';
import type { FromRelay } from '../../src/shard/transports/signal-protocol.ts';

class FakeChannel implements DataChannelLike {
  readyState = 'open';
  binaryType = 'blob';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  other!: FakeChannel;
  readonly sizes: number[] = [];
  /** Rewrites binary messages on their way out (a lying peer). */
  tamper?: (b: ArrayBuffer) => ArrayBuffer;
  private readonly handlers = new Map<string, ((ev: MessageEvent) => void)[]>();

  addEventListener(type: string, cb: (ev: MessageEvent) => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), cb]);
  }
  send(data: string | ArrayBuffer): void {
    const d = typeof data === 'string' ? data : (this.tamper ?? ((b) => b))(data.slice(0));
    this.sizes.push(typeof d === 'string' ? d.length : d.byteLength);
    queueMicrotask(() => this.other.emit('message', { data: d } as MessageEvent));
  }
  close(): void {
    this.readyState = 'closed';
    this.emit('close');
    this.other.emit('close');
  }
  emit(type: string, ev = {} as MessageEvent): void {
    for (const cb of this.handlers.get(type) ?? []) cb(ev);
  }
}

function pair(): [FakeChannel, FakeChannel] {
  const a = new FakeChannel();
  const b = new FakeChannel();
  a.other = b;
  b.other = a;
  return [a, b];
}

const next = (p: ChannelPipe): Promise<PeerMessage> => new Promise((r) => { const off = p.onMessage((m) => { off(); r(m); }); });

describe('ChannelPipe', () => {
  it('carries control messages as JSON and frames as 16 KiB chunks, in order', async () => {
    const [a, b] = pair();
    const pa = new ChannelPipe(a, 'b');
    const pb = new ChannelPipe(b, 'a');
    const hidden = Float32Array.from({ length: 300 * 64 }, (_, i) => Math.sin(i));
    const frame = encodeFrame({ seq: 7, nTok: 300, nEmbd: 64, dtype: 'f32', pos: 3, from: 1, to: 4 }, hidden);
    const got = next(pb);
    pa.send({ t: 'req', id: 1, req: { op: 'layers', frame } });
    const m = await got;
    expect(m.t === 'req' && m.req.op === 'layers').toBe(true);
    const f = decodeFrame((m as { req: { frame: ArrayBuffer } }).req.frame, { seq: 7, nTok: 300 });
    expect(f.hidden).toEqual(hidden);
    expect(Math.max(...a.sizes)).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(a.sizes.length).toBeGreaterThan(5);
    const ping = next(pb);
    pa.send({ t: 'req', id: 2, req: { op: 'ping' } });
    expect(await ping).toEqual({ t: 'req', id: 2, req: { op: 'ping' } });
  });

  it('an answer frame keeps the participant\'s own time (the link meter needs it); a bogus one is dropped', async () => {
    const [a, b] = pair();
    const pa = new ChannelPipe(a, 'b');
    const pb = new ChannelPipe(b, 'a');
    const frame = encodeFrame({ seq: 2, nTok: 1, nEmbd: 64, dtype: 'f32', pos: 5, from: 0, to: 2 }, new Float32Array(64).fill(0.25));
    let got = next(pb);
    pa.send({ t: 'res', id: 3, res: { op: 'layers', frame: frame.slice(0), ms: 12.5 } });
    expect(await got).toMatchObject({ t: 'res', id: 3, res: { op: 'layers', ms: 12.5 } });
    got = next(pb);
    pa.send({ t: 'res', id: 4, res: { op: 'layers', frame: frame.slice(0), ms: -1 } });
    const m = (await got) as { res: Record<string, unknown> };
    expect('ms' in m.res).toBe(false);
    expect(decodeFrame(m.res.frame as ArrayBuffer).hidden).toEqual(new Float32Array(64).fill(0.25));
  });

  it('carries block-exchange answers as binary chunks with their CID (not as JSON)', async () => {
    const [a, b] = pair();
    const pa = new ChannelPipe(a, 'b');
    const pb = new ChannelPipe(b, 'a');
    const bytes = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 31 + 7) & 255);
    const got = next(pb);
    pa.send({ t: 'res', id: 9, res: { op: 'block', cid: 'bafkqaaa', bytes: bytes.buffer.slice(0) } });
    const m = (await got) as { t: string; id: number; res: { op: string; cid: string; bytes: ArrayBuffer } };
    expect(m.t).toBe('res');
    expect(m.res.op).toBe('block');
    expect(m.res.cid).toBe('bafkqaaa');
    expect(new Uint8Array(m.res.bytes)).toEqual(bytes);
    expect(Math.max(...a.sizes)).toBeLessThanOrEqual(CHUNK_BYTES);
  });

  it('a malformed chunk stream arrives as a frame that fails decoding; bye closes with reason bye', async () => {
    const [a, b] = pair();
    a.tamper = (buf) => buf.slice(0, buf.byteLength - 3); // every chunk short by 3 bytes
    const pa = new ChannelPipe(a, 'b');
    const pb = new ChannelPipe(b, 'a');
    const frame = encodeFrame({ seq: 1, nTok: 100, nEmbd: 64, dtype: 'f16', pos: 0, from: 0, to: 1 }, new Float32Array(6400).fill(0.5));
    const got = next(pb);
    pa.send({ t: 'res', id: 1, res: { op: 'layers', frame } });
    const m = (await got) as { res: { frame: ArrayBuffer } };
    expect(() => decodeFrame(m.res.frame)).toThrow(expect.objectContaining({ name: 'FrameError' }));
    const closed = new Promise((r) => pb.onClose(r));
    pa.send({ t: 'bye' });
    expect(await closed).toBe('bye');
  });
});

describe('signaling relay', () => {
  it('introduces peers of one room and forwards signals only within it', async () => {
    const relay = await startSignalRelay();
    const inbox = new Map<string, FromRelay[]>();
    const client = async (room: string, peer: string, role: 'coordinator' | 'participant'): Promise<WebSocket> => {
      const ws = new WebSocket(relay.url);
      inbox.set(peer, []);
      ws.on('message', (d) => inbox.get(peer)!.push(JSON.parse(String(d)) as FromRelay));
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'join', room, peer, role }));
      await new Promise((r) => setTimeout(r, 50));
      return ws;
    };
    const c = await client('r1', 'c', 'coordinator');
    const p = await client('r1', 'p', 'participant');
    const x = await client('r2', 'x', 'participant');
    p.send(JSON.stringify({ type: 'signal', to: 'c', data: { kind: 'offer', sdp: 'v=0' } }));
    x.send(JSON.stringify({ type: 'signal', to: 'c', data: { kind: 'offer', sdp: 'v=0' } }));
    await new Promise((r) => setTimeout(r, 100));
    expect(inbox.get('p')![0]).toEqual({ type: 'peers', peers: [{ peer: 'c', role: 'coordinator' }] });
    expect(inbox.get('c')).toEqual([
      { type: 'peers', peers: [] },
      { type: 'joined', peer: 'p', role: 'participant' },
      { type: 'signal', from: 'p', data: { kind: 'offer', sdp: 'v=0' } },
    ]);
    expect(inbox.get('x')!.at(-1)).toEqual({ type: 'error', message: 'no peer c in this room' });
    for (const ws of [c, p, x]) ws.close();
    await relay.close();
  });
});
