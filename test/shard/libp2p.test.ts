// The libp2p transport's Node-testable parts on real libp2p nodes over loopback WebSockets (no
// mocks): the message framing under arbitrary stream splits, the relay's room directory (members
// named by their Noise-authenticated peer ids), and ChannelPipe over a real yamux stream. The
// browser-to-browser WebRTC part runs in e2e/webrtc/shard-libp2p.spec.ts (Chromium + Firefox).
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import type { Libp2p, Stream } from '@libp2p/interface';
import { webSockets } from '@libp2p/websockets';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../src/shard/frames.ts';
import { ChannelPipe } from '../../src/shard/transports/channel-pipe.ts';
import { startLibp2pRelay, type RunningLibp2pRelay } from '../../src/shard/transports/libp2p-relay.ts';
import { encodeMessage, MAX_MESSAGE_BYTES, MessageDecoder, onMessages, ROOM_PROTOCOL, SHARD_PROTOCOL, StreamChannel, type FromDirectory } from '../../src/shard/transports/libp2p-protocol.ts';
import type { PeerMessage } from '../../src/shard/transports/pipe.ts';
import { relayKind } from '../../src/shard/transports/relay-room.ts';
import { rng } from '../../src/util/random.ts';

describe('libp2p message framing', () => {
  it('reassembles text and binary messages split at random points', () => {
    const seed = (Math.random() * 2 ** 31) | 0;
    console.log(`framing seed ${seed}`);
    const r = rng(seed);
    const sent: (string | Uint8Array)[] = [];
    for (let i = 0; i < 200; i++) {
      if (r() < 0.5) sent.push(`{"t":"x","i":${i},"s":"${'é'.repeat(Math.floor(r() * 50))}"}`);
      else sent.push(Uint8Array.from({ length: Math.floor(r() * 20_000) }, () => Math.floor(r() * 256)));
    }
    const wire = new Uint8Array(sent.reduce((n, m) => n + encodeMessage(m).byteLength, 0));
    let at = 0;
    for (const m of sent) { const e = encodeMessage(m); wire.set(e, at); at += e.byteLength; }
    const d = new MessageDecoder();
    const got: (string | ArrayBuffer)[] = [];
    for (let i = 0; i < wire.byteLength;) {
      const n = 1 + Math.floor(r() * 9000);
      got.push(...d.push(wire.subarray(i, i + n)));
      i += n;
    }
    expect(got.length).toBe(sent.length);
    got.forEach((g, i) => {
      const s = sent[i];
      if (typeof s === 'string') expect(g).toBe(s);
      else expect(new Uint8Array(g as ArrayBuffer)).toEqual(s);
    });
  });

  it('refuses an unknown kind and an oversized length instead of buffering it', () => {
    const bad = encodeMessage('hi');
    bad[0] = 7;
    expect(() => new MessageDecoder().push(bad)).toThrow(RangeError);
    const huge = new Uint8Array(5);
    huge[0] = 1;
    new DataView(huge.buffer).setUint32(1, MAX_MESSAGE_BYTES + 1, true);
    expect(() => new MessageDecoder().push(huge)).toThrow(RangeError);
    expect(() => encodeMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toThrow(RangeError);
  });
});

function client(): Promise<Libp2p> {
  return createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
  });
}

/** Joins `room` through the relay's directory; collects what the directory says. */
async function joinDirectory(node: Libp2p, relay: string, join: unknown): Promise<{ stream: Stream; got: FromDirectory[] }> {
  const stream = await node.dialProtocol(multiaddr(relay), ROOM_PROTOCOL);
  const got: FromDirectory[] = [];
  onMessages(stream, (m) => got.push(JSON.parse(String(m)) as FromDirectory));
  stream.send(encodeMessage(typeof join === 'string' ? join : JSON.stringify(join)));
  return { stream, got };
}

describe('libp2p relay', () => {
  let relay: RunningLibp2pRelay;
  const nodes: Libp2p[] = [];
  beforeAll(async () => { relay = await startLibp2pRelay({ port: 0 }); });
  afterAll(async () => { for (const n of nodes) await n.stop(); await relay.close(); });

  it('introduces the peers of one room by their authenticated libp2p ids, and only them', async () => {
    const [a, b, c] = await Promise.all([client(), client(), client()]);
    nodes.push(a, b, c);
    const addr = relay.addrs[0];
    const ja = await joinDirectory(a, addr, { type: 'join', room: 'r1', peer: 'coord', role: 'coordinator' });
    await expect.poll(() => ja.got.length).toBe(1);
    expect(ja.got[0]).toEqual({ type: 'peers', peers: [] });
    const jb = await joinDirectory(b, addr, { type: 'join', room: 'r1', peer: 'part', role: 'participant' });
    const jc = await joinDirectory(c, addr, { type: 'join', room: 'other', peer: 'x', role: 'participant' });
    await expect.poll(() => jb.got.length).toBe(1);
    expect(jb.got[0]).toEqual({ type: 'peers', peers: [{ peer: 'coord', role: 'coordinator', id: a.peerId.toString() }] });
    await expect.poll(() => ja.got.length).toBe(2);
    expect(ja.got[1]).toEqual({ type: 'joined', peer: 'part', role: 'participant', id: b.peerId.toString() });
    await expect.poll(() => jc.got.length).toBe(1);
    expect(jc.got[0]).toEqual({ type: 'peers', peers: [] }); // another room sees nobody
    await jb.stream.close();
    await expect.poll(() => ja.got.length).toBe(3);
    expect(ja.got[2]).toEqual({ type: 'left', peer: 'part' });
    expect(ja.got.some((m) => m.type === 'joined' && m.peer === 'x')).toBe(false);
  });

  it('answers a malformed join with an error and a taken peer id with another', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    nodes.push(a, b);
    const bad = await joinDirectory(a, relay.addrs[0], { type: 'join', room: 'r 2', peer: 'p', role: 'participant' });
    await expect.poll(() => bad.got.length).toBe(1);
    expect(bad.got[0]).toEqual({ type: 'error', message: 'malformed message' });
    const first = await joinDirectory(a, relay.addrs[0], { type: 'join', room: 'r2', peer: 'same', role: 'participant' });
    await expect.poll(() => first.got.length).toBe(1);
    const dup = await joinDirectory(b, relay.addrs[0], { type: 'join', room: 'r2', peer: 'same', role: 'participant' });
    await expect.poll(() => dup.got.length).toBe(1);
    expect(dup.got[0]).toEqual({ type: 'error', message: 'peer id same is taken in this room' });
  });
});

describe('ChannelPipe over a libp2p stream', () => {
  it('carries control messages and a chunked activation frame both ways, intact', async () => {
    // The "server" side is a second relay-like node listening on loopback WebSockets.
    const server = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
    });
    const c = await client();
    try {
      const serverPipe = new Promise<ChannelPipe>((resolve) => {
        void server.handle(SHARD_PROTOCOL, (s) => resolve(new ChannelPipe(new StreamChannel(s), 'client')));
      });
      const s = await c.dialProtocol(server.getMultiaddrs()[0], SHARD_PROTOCOL);
      const cp = new ChannelPipe(new StreamChannel(s), 'server');
      const sp = await serverPipe;
      const next = (p: ChannelPipe): Promise<PeerMessage> => new Promise((r) => { const off = p.onMessage((m) => { off(); r(m); }); });
      const seed = (Math.random() * 2 ** 31) | 0;
      console.log(`activation seed ${seed}`);
      const r = rng(seed);
      const x = Float32Array.from({ length: 7 * 4096 }, () => r() * 2 - 1); // 112 KiB: 8 chunks
      const frame = encodeFrame({ seq: 3, from: 0, to: 2, pos: 5, nTok: 7, nEmbd: 4096, dtype: 'f32' }, x);
      const atServer = next(sp);
      cp.send({ t: 'req', id: 1, req: { op: 'layers', frame } });
      const m = await atServer;
      expect(m.t === 'req' && m.req.op === 'layers').toBe(true);
      if (m.t !== 'req' || m.req.op !== 'layers') return;
      const back = decodeFrame(m.req.frame);
      expect(back.header.seq).toBe(3);
      expect(back.hidden).toEqual(x);
      const atClient = next(cp);
      sp.send({ t: 'res', id: 1, res: { op: 'pong' } });
      expect(await atClient).toEqual({ t: 'res', id: 1, res: { op: 'pong' } });
      const closed = new Promise((resolve) => cp.onClose(resolve));
      sp.send({ t: 'bye' });
      expect(await closed).toBe('bye');
    } finally {
      await c.stop();
      await server.stop();
    }
  });
});

describe('relay choice', () => {
  it('follows the relay address, so every peer of a room picks the same stack', () => {
    expect(relayKind('/ip4/127.0.0.1/tcp/4180/ws/p2p/12D3KooWLyj4tJHmWZdqv43NX5WjixJniMqK61MB8BkeQ8fjkgPy')).toBe('libp2p');
    expect(relayKind('ws://127.0.0.1:4180')).toBe('websocket');
    expect(relayKind('wss://relay.example')).toBe('websocket');
    expect(() => relayKind('http://127.0.0.1:4180')).toThrow(expect.objectContaining({ name: 'TransportError' }));
  });
});
