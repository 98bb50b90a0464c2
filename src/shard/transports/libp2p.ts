// Peers on other devices through js-libp2p: each page is a libp2p node with a fresh Ed25519 identity.
// It dials the relay (`tabshard relay --libp2p`) over WebSockets, reserves a circuit relay v2 slot,
// and listens for @libp2p/webrtc connections signaled through that slot. The relay's room directory
// (ROOM_PROTOCOL, libp2p-protocol.ts) tells a newcomer the libp2p ids of the room's peers; as on the
// WebSocket-relay path, the newcomer dials every peer of the other role (coordinator ↔ participants
// only), and the shard protocol then runs browser to browser on a SHARD_PROTOCOL stream through the
// same ChannelPipe (16 KiB chunks, frame checks) and room handshake (HMAC proofs) as webrtc.ts.
// No STUN/TURN by default: host candidates only, nothing outside the network is contacted.
// Given a block store, the node also runs Helia's bitswap over it (block-exchange.ts): it serves
// the blocks it holds to the room's peers, and blockGetter() asks the peers it has a direct link
// with before the gateways.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { identify } from '@libp2p/identify';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { webRTC } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { BlockGetter } from '../../store/blockstore.ts';
import type { ListableBlockstore } from '../../store/helia-blockstore.ts';
import { BlockExchange, type PeerBlockOptions } from '../block-exchange.ts';
import { TransportError } from '../errors.ts';
import { ChannelPipe } from './channel-pipe.ts';
import { encodeMessage, onMessages, ROOM_PROTOCOL, SHARD_PROTOCOL, StreamChannel, type FromDirectory, type RoomMember } from './libp2p-protocol.ts';
import type { PeerRole, PeerSource, Pipe } from './pipe.ts';

export interface Libp2pRoomOptions {
  /** ICE servers (default none: host candidates only). */
  iceServers?: RTCIceServer[];
  /** Give up on the relay, or on dialing a peer (all attempts together), after this long (default 15 s). */
  connectTimeoutMs?: number;
  /** Run bitswap over this store (this browser's IndexedDB store): serve its blocks to room peers. */
  blocks?: ListableBlockstore;
}

type Listener = (peer: { id: string; role: PeerRole }, pipe: Pipe) => void;

export class Libp2pRoom implements PeerSource {
  readonly self: string;
  readonly role: PeerRole;
  /** This page's libp2p peer id. */
  readonly peerId: string;
  private readonly node: Libp2p;
  private readonly relay: string;
  private readonly o: Libp2pRoomOptions;
  /** Room members by libp2p id, as the relay's directory introduced them. */
  private readonly members = new Map<string, RoomMember>();
  private readonly pipes = new Map<string, ChannelPipe>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private listeners: Listener[] = [];
  /** Failed dial attempts ("peer attempt n: error"), for diagnostics; a later attempt may have worked. */
  readonly dialFailures: string[] = [];
  private directory: Stream | undefined;
  private left = false;
  /** Bitswap on this node, when the room was joined with a block store. */
  readonly exchange: BlockExchange | undefined;

  private constructor(node: Libp2p, relay: string, self: string, role: PeerRole, o: Libp2pRoomOptions, exchange: BlockExchange | undefined) {
    this.node = node;
    this.exchange = exchange;
    this.relay = relay;
    this.self = self;
    this.role = role;
    this.o = o;
    this.peerId = node.peerId.toString();
  }

  /** Starts a libp2p node, reserves a slot on the relay at `relayAddr` (a /ws multiaddr with /p2p/), and joins `room`. */
  static async join(relayAddr: string, room: string, self: string, role: PeerRole, o: Libp2pRoomOptions = {}): Promise<Libp2pRoom> {
    if (typeof RTCPeerConnection === 'undefined') throw new TransportError('this browser has no RTCPeerConnection');
    let relay;
    try {
      relay = multiaddr(relayAddr);
    } catch (e) {
      throw new TransportError(`not a relay multiaddr: ${relayAddr}`, { cause: e });
    }
    if (!relay.getComponents().some((c) => c.name === 'p2p')) throw new TransportError(`the relay multiaddr needs its /p2p/<peer id>: ${relayAddr}`);
    const node = await createLibp2p({
      // '<relay>/p2p-circuit' reserves a slot on that relay; '/webrtc' accepts connections signaled through it.
      addresses: { listen: [`${relayAddr}/p2p-circuit`, '/webrtc'] },
      transports: [webSockets(), webRTC({ rtcConfiguration: { iceServers: o.iceServers ?? [] } }), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // The browser default refuses ws:// and private addresses; a room's relay is on the local
      // network (loopback in the tests), so dial what we are told to.
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() },
    });
    let exchange: BlockExchange | undefined;
    try {
      exchange = o.blocks ? await BlockExchange.start(node, o.blocks) : undefined;
    } catch (e) {
      await Promise.resolve(node.stop()).catch(() => undefined);
      throw new TransportError(`cannot start bitswap on the room's libp2p node: ${(e as Error).message}`, { cause: e });
    }
    const r = new Libp2pRoom(node, relayAddr, self, role, o, exchange);
    try {
      await node.start();
      await r.reserved(o.connectTimeoutMs ?? 15_000);
      await node.handle(SHARD_PROTOCOL, (stream, conn) => r.inbound(stream, conn));
      await r.openDirectory(room);
    } catch (e) {
      await exchange?.stop().catch(() => undefined);
      await Promise.resolve(node.stop()).catch(() => undefined);
      throw e instanceof TransportError ? e : new TransportError(`cannot join through the libp2p relay at ${relayAddr}: ${(e as Error).message}`, { cause: e });
    }
    return r;
  }

  onPeer(cb: Listener): () => void {
    this.listeners.push(cb);
    return () => { this.listeners = this.listeners.filter((c) => c !== cb); };
  }

  bindPageLifecycle(target: Pick<Window, 'addEventListener'>): void {
    target.addEventListener('pagehide', () => this.leave());
  }

  /** Goodbye on every open pipe, then stops the node. */
  leave(): void {
    if (this.left) return;
    this.left = true;
    for (const p of this.pipes.values()) {
      try { if (!p.closed) p.send({ t: 'bye' }); } catch { /* already gone */ }
      p.fireClose('closed');
    }
    this.pipes.clear();
    void (this.exchange?.stop() ?? Promise.resolve()).catch(() => undefined).then(() => this.node.stop());
  }

  /**
   * The libp2p ids of the room peers this node has an open shard pipe with (a participant: the
   * coordinator; the coordinator: its participants): the ones bitswap can reach over a direct link.
   */
  linkedPeers(): PeerId[] {
    const out = new Map<string, PeerId>();
    for (const c of this.node.getConnections()) {
      const m = this.members.get(c.remotePeer.toString());
      if (m && this.pipes.has(m.peer) && c.limits === undefined) out.set(c.remotePeer.toString(), c.remotePeer);
    }
    return [...out.values()];
  }

  /**
   * Blocks from linked room peers over bitswap (each verified), then `fallback` (the gateways). Use
   * it under storeFirst(this browser's store, ...): tabs of one browser find their blocks there.
   */
  blockGetter(fallback: BlockGetter, opts?: PeerBlockOptions): BlockGetter {
    if (!this.exchange) throw new TransportError('this room was joined without a block store: no block exchange');
    return this.exchange.getter(() => this.linkedPeers(), fallback, opts);
  }

  /**
   * The libp2p connections under each open pipe: a shard stream may only ride an unlimited
   * (direct WebRTC) connection, never the relayed one, and this lets a test or the shard map show it.
   */
  links(): { peer: string; addrs: string[]; limited: boolean[] }[] {
    const out: { peer: string; addrs: string[]; limited: boolean[] }[] = [];
    for (const [libp2pId, m] of this.members) {
      if (!this.pipes.has(m.peer)) continue;
      const conns = this.node.getConnections().filter((c) => c.remotePeer.toString() === libp2pId && c.streams.some((s) => s.protocol === SHARD_PROTOCOL));
      out.push({ peer: m.peer, addrs: conns.map((c) => c.remoteAddr.toString()), limited: conns.map((c) => c.limits !== undefined) });
    }
    return out;
  }

  /** Resolves once the relay granted a slot: our addresses then include a '/p2p-circuit/webrtc' one. */
  private reserved(timeoutMs: number): Promise<void> {
    const has = (): boolean => this.node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit/webrtc'));
    if (has()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => { if (has()) { done(); resolve(); } };
      const done = (): void => { clearTimeout(t); this.node.removeEventListener('self:peer:update', check); };
      const t = setTimeout(() => { done(); reject(new TransportError(`no relay reservation from ${this.relay} within ${timeoutMs} ms`)); }, timeoutMs);
      this.node.addEventListener('self:peer:update', check);
    });
  }

  private async openDirectory(room: string): Promise<void> {
    const s = await this.node.dialProtocol(multiaddr(this.relay), ROOM_PROTOCOL, { signal: AbortSignal.timeout(this.o.connectTimeoutMs ?? 15_000) });
    this.directory = s;
    onMessages(s, (raw) => {
      if (typeof raw !== 'string') return;
      try {
        this.onDirectory(JSON.parse(raw) as FromDirectory);
      } catch { /* not ours: ignore */ }
    });
    s.send(encodeMessage(JSON.stringify({ type: 'join', room, peer: this.self, role: this.role })));
  }

  private onDirectory(m: FromDirectory): void {
    if (this.left) return;
    switch (m.type) {
      case 'peers':
        for (const p of m.peers) {
          this.known(p);
          if (p.role !== this.role) void this.dial(p);
        }
        return;
      case 'joined':
        this.known(m); // it will dial us
        return;
      case 'left':
        // The relay's view only: a direct WebRTC connection outlives the peer's relay stream.
        return;
      case 'error':
        return;
    }
  }

  private known(m: RoomMember): void {
    this.members.set(m.id, m);
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    for (const f of w ?? []) f();
  }

  private async dial(m: RoomMember): Promise<void> {
    // Through the relay for signaling only; the stream itself rides the direct WebRTC connection.
    const addr = multiaddr(`${this.relay}/p2p-circuit/webrtc/p2p/${m.id}`);
    const end = performance.now() + (this.o.connectTimeoutMs ?? 15_000);
    // Seen here, Chromium dialing Firefox, ~1 attempt in 8: ICE and DTLS complete (both sides report
    // 'connected') but the initiator's 'init' data channel never fires 'open', so @libp2p/webrtc
    // gives up after its 6 s per-address timeout. A fresh RTCPeerConnection then works, so retry
    // while the connect budget lasts.
    for (let attempt = 1; !this.left && performance.now() < end; attempt++) {
      try {
        const s = await this.node.dialProtocol(addr, SHARD_PROTOCOL, { signal: AbortSignal.timeout(Math.max(1, end - performance.now())) });
        this.opened(m, s);
        return;
      } catch (e) {
        this.dialFailures.push(`${m.peer} attempt ${attempt}: ${(e as Error).name}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 500)); // a peer that refuses at once is not hammered
      }
    }
  }

  /** A peer dialed us: accept it only if the relay's directory introduced its (authenticated) libp2p id. */
  private async inbound(stream: Stream, conn: Connection): Promise<void> {
    const id = conn.remotePeer.toString();
    if (!this.members.has(id)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.connectTimeoutMs ?? 15_000);
        this.waiting.set(id, [...(this.waiting.get(id) ?? []), () => { clearTimeout(t); resolve(); }]);
      });
    }
    const m = this.members.get(id);
    if (!m || m.role === this.role || this.left) {
      stream.abort(new Error('not introduced by the room directory'));
      return;
    }
    this.opened(m, stream);
  }

  private opened(m: RoomMember, stream: Stream): void {
    if (this.left) { stream.abort(new Error('left the room')); return; }
    const old = this.pipes.get(m.peer);
    if (old && !old.closed) old.close(); // a newer connection replaces a stale one
    const pipe = new ChannelPipe(new StreamChannel(stream), m.peer);
    this.pipes.set(m.peer, pipe);
    pipe.onClose(() => { if (this.pipes.get(m.peer) === pipe) this.pipes.delete(m.peer); });
    for (const cb of [...this.listeners]) cb({ id: m.peer, role: m.role }, pipe);
  }
}
