// The libp2p relay node that `tabshard relay --libp2p` runs (Node only): a WebSocket listener, a
// circuit relay v2 server and identify. Browsers dial it over ws://, reserve a relay slot, and use
// the relayed connection only to exchange WebRTC SDP/ICE (@libp2p/webrtc's signaling protocol);
// shard traffic then flows browser to browser. Like the WebSocket relay (signal-server.ts) it never
// sees the room secret (proven end to end over the WebRTC stream) nor activations.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { circuitRelayServer } from '@libp2p/circuit-relay-v2';
import { identify } from '@libp2p/identify';
import { webSockets } from '@libp2p/websockets';
import type { Stream } from '@libp2p/interface';
import { createLibp2p } from 'libp2p';
import { ID_PATTERN } from './signal-protocol.ts';
import { encodeMessage, onMessages, ROOM_PROTOCOL, type FromDirectory, type RoomMember, type ToDirectory } from './libp2p-protocol.ts';

export interface RunningLibp2pRelay {
  /** The relay's peer id (a fresh Ed25519 identity per run). */
  readonly peerId: string;
  /** Dialable multiaddrs, /p2p/<id> included (ws on the listen host). */
  readonly addrs: readonly string[];
  close(): Promise<void>;
}

export interface Libp2pRelayOptions {
  port?: number;
  host?: string;
  /** Most browsers holding a slot at once (default 64: a room is a handful of peers). */
  maxReservations?: number;
  log?: (line: string) => void;
}

function parseJoin(raw: string): ToDirectory | undefined {
  try {
    const m = JSON.parse(raw) as ToDirectory;
    if (m.type === 'join' && ID_PATTERN.test(m.room) && ID_PATTERN.test(m.peer) && (m.role === 'coordinator' || m.role === 'participant')) return m;
  } catch { /* not JSON */ }
  return undefined;
}

export async function startLibp2pRelay(o: Libp2pRelayOptions = {}): Promise<RunningLibp2pRelay> {
  const host = o.host ?? '127.0.0.1';
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/${host}/tcp/${o.port ?? 0}/ws`] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Loopback and private addresses are the point here (a room on one network): allow them.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      // The relayed connection carries only the WebRTC signaling exchange (a few KiB, seconds), so
      // the default per-connection limits (2 min, 128 KiB) are ample and stay on.
      relay: circuitRelayServer({ reservations: { maxReservations: o.maxReservations ?? 64 } }),
    },
  });
  await node.start();
  const log = o.log ?? (() => {});
  const rooms = new Map<string, Map<string, { stream: Stream; member: RoomMember }>>();
  const send = (s: Stream, m: FromDirectory): void => {
    try { if (s.writeStatus === 'writable') s.send(encodeMessage(JSON.stringify(m))); } catch { /* gone */ }
  };
  await node.handle(ROOM_PROTOCOL, (stream, connection) => {
    let me: { room: string; member: RoomMember } | undefined;
    onMessages(stream, (raw) => {
      const m = typeof raw === 'string' ? parseJoin(raw) : undefined;
      if (!m) return send(stream, { type: 'error', message: 'malformed message' });
      if (me) return send(stream, { type: 'error', message: 'already joined' });
      const room = rooms.get(m.room) ?? new Map<string, { stream: Stream; member: RoomMember }>();
      rooms.set(m.room, room);
      if (room.has(m.peer)) return send(stream, { type: 'error', message: `peer id ${m.peer} is taken in this room` });
      // The libp2p id is the one Noise authenticated on this connection, not a claim.
      const member: RoomMember = { peer: m.peer, role: m.role, id: connection.remotePeer.toString() };
      // Existing members hear of the newcomer before it hears of them, so its dial never outruns this.
      for (const x of room.values()) send(x.stream, { type: 'joined', ...member });
      send(stream, { type: 'peers', peers: [...room.values()].map((x) => x.member) });
      me = { room: m.room, member };
      room.set(m.peer, { stream, member });
      log(`room ${m.room}: ${m.peer} (${m.role}) joined, ${room.size} present`);
    });
    const leave = (): void => {
      if (!me) return;
      const { room: id, member } = me;
      me = undefined;
      const room = rooms.get(id);
      room?.delete(member.peer);
      for (const x of room?.values() ?? []) send(x.stream, { type: 'left', peer: member.peer });
      if (room && room.size === 0) rooms.delete(id);
      log(`room ${id}: ${member.peer} left`);
    };
    stream.addEventListener('close', leave);
    // A member that closes its end has left; close ours so the stream is released.
    stream.addEventListener('remoteCloseWrite', () => { leave(); void stream.close().catch(() => undefined); });
  });
  return {
    peerId: node.peerId.toString(),
    addrs: node.getMultiaddrs().map((a) => a.toString()),
    close: async () => { await node.stop(); },
  };
}
