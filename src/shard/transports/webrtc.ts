// Peers on other devices: RTCPeerConnection data channels, introduced by the signaling relay
// (signal-server.ts, `tabshard relay`). A newcomer offers to every peer of the other role already in
// the room (participants never connect to each other: the coordinator relays every hidden state);
// candidates trickle through the relay. No STUN/TURN server is configured: peers on one network
// (or one namespace, in the tests) connect by host candidates, and nothing outside is contacted.
import { TransportError } from '../errors.ts';
import { ChannelPipe, type DataChannelLike } from './channel-pipe.ts';
import type { PeerRole, PeerSource, Pipe } from './pipe.ts';
import type { FromRelay, SignalPayload, ToRelay } from './signal-protocol.ts';

export interface WebRtcRoomOptions {
  /** ICE servers (default none: host candidates only). */
  iceServers?: RTCIceServer[];
  /** Give up on a peer whose channel is not open after this long (default 15 s). */
  connectTimeoutMs?: number;
}

interface Link {
  readonly pc: RTCPeerConnection;
  readonly role: PeerRole;
  pipe?: ChannelPipe;
  timer: ReturnType<typeof setTimeout>;
}

export class WebRtcRoom implements PeerSource {
  readonly self: string;
  readonly role: PeerRole;
  private readonly ws: WebSocket;
  private readonly o: WebRtcRoomOptions;
  private readonly links = new Map<string, Link>();
  private listeners: ((peer: { id: string; role: PeerRole }, pipe: Pipe) => void)[] = [];
  private left = false;

  private constructor(ws: WebSocket, self: string, role: PeerRole, o: WebRtcRoomOptions) {
    this.ws = ws;
    this.self = self;
    this.role = role;
    this.o = o;
  }

  /** Connects to the relay and joins `room` as `self`. */
  static async join(relayUrl: string, room: string, self: string, role: PeerRole, o: WebRtcRoomOptions = {}): Promise<WebRtcRoom> {
    if (typeof RTCPeerConnection === 'undefined') throw new TransportError('this browser has no RTCPeerConnection');
    const ws = new WebSocket(relayUrl);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new TransportError(`cannot reach the signaling relay at ${relayUrl}`));
    });
    const r = new WebRtcRoom(ws, self, role, o);
    ws.onmessage = (ev) => r.onRelay(JSON.parse(String(ev.data)) as FromRelay);
    ws.onclose = () => { ws.onmessage = null; };
    r.toRelay({ type: 'join', room, peer: self, role });
    return r;
  }

  onPeer(cb: (peer: { id: string; role: PeerRole }, pipe: Pipe) => void): () => void {
    this.listeners.push(cb);
    return () => { this.listeners = this.listeners.filter((c) => c !== cb); };
  }

  bindPageLifecycle(target: Pick<Window, 'addEventListener'>): void {
    target.addEventListener('pagehide', () => this.leave());
  }

  /** Goodbye on every open channel, then closes everything. */
  leave(): void {
    if (this.left) return;
    this.left = true;
    for (const l of this.links.values()) {
      try { if (l.pipe && !l.pipe.closed) l.pipe.send({ t: 'bye' }); } catch { /* already gone */ }
      this.drop(l);
    }
    this.ws.close();
  }

  private toRelay(m: ToRelay): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  private onRelay(m: FromRelay): void {
    if (this.left) return;
    switch (m.type) {
      case 'peers':
        for (const p of m.peers) if (p.role !== this.role) void this.offer(p.peer, p.role);
        return;
      case 'joined':
        if (m.role !== this.role) this.connection(m.peer, m.role); // it will offer to us
        return;
      case 'signal':
        void this.signal(m.from, m.data);
        return;
      case 'left': {
        // The relay's view only: an open data channel outlives a relay socket, so keep it.
        const l = this.links.get(m.peer);
        if (l && !l.pipe) this.drop(l);
        return;
      }
      case 'error':
        return;
    }
  }

  private connection(peer: string, role: PeerRole): Link {
    const old = this.links.get(peer);
    if (old) return old;
    const pc = new RTCPeerConnection({ iceServers: this.o.iceServers ?? [] });
    const link: Link = { pc, role, timer: setTimeout(() => { if (!link.pipe) this.drop(link); }, this.o.connectTimeoutMs ?? 15_000) };
    this.links.set(peer, link);
    pc.onicecandidate = (ev) => this.toRelay({ type: 'signal', to: peer, data: { kind: 'candidate', candidate: ev.candidate ? ev.candidate.toJSON() : null } });
    pc.ondatachannel = (ev) => this.opened(peer, link, ev.channel);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.drop(link);
    };
    return link;
  }

  private async offer(peer: string, role: PeerRole): Promise<void> {
    const link = this.connection(peer, role);
    const dc = link.pc.createDataChannel('tabshard', { ordered: true });
    dc.onopen = () => this.opened(peer, link, dc);
    await link.pc.setLocalDescription(await link.pc.createOffer());
    this.toRelay({ type: 'signal', to: peer, data: { kind: 'offer', sdp: link.pc.localDescription!.sdp } });
  }

  private async signal(from: string, data: SignalPayload): Promise<void> {
    const link = this.links.get(from);
    try {
      if (data.kind === 'offer') {
        const l = link ?? this.connection(from, this.role === 'coordinator' ? 'participant' : 'coordinator');
        await l.pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
        await l.pc.setLocalDescription(await l.pc.createAnswer());
        this.toRelay({ type: 'signal', to: from, data: { kind: 'answer', sdp: l.pc.localDescription!.sdp } });
      } else if (data.kind === 'answer') {
        await link?.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
      } else if (data.kind === 'candidate' && data.candidate) {
        await link?.pc.addIceCandidate(data.candidate);
      }
    } catch {
      if (link) this.drop(link); // a malformed or stale description: this peer may try again
    }
  }

  private opened(peer: string, link: Link, dc: RTCDataChannel): void {
    const go = (): void => {
      if (link.pipe || this.left) return;
      clearTimeout(link.timer);
      const pipe = new ChannelPipe(dc as unknown as DataChannelLike, peer);
      link.pipe = pipe;
      pipe.onClose(() => this.drop(link));
      for (const cb of [...this.listeners]) cb({ id: peer, role: link.role }, pipe);
    };
    if (dc.readyState === 'open') go();
    else dc.addEventListener('open', go);
  }

  private drop(link: Link): void {
    clearTimeout(link.timer);
    for (const [id, l] of this.links) if (l === link) this.links.delete(id);
    link.pipe?.fireClose('closed');
    link.pc.close();
  }
}
