// Which relay a room's WebRTC peers meet through is decided by the relay address in the room's page
// link, so every peer of a room makes the same choice (a per-peer fallback would split the room in
// two): a libp2p multiaddr (`/ip4/…/ws/p2p/…`, printed by `tabshard relay --libp2p`) selects js-libp2p
// (libp2p.ts: circuit relay v2 + @libp2p/webrtc); a ws:// URL (plain `tabshard relay`) selects the
// minimal WebSocket signaling relay (webrtc.ts), kept for browsers or networks where libp2p fails.
// Each stack is loaded only when chosen (libp2p is ~450 kB of script).
import type { ListableBlockstore } from '../../store/helia-blockstore.ts';
import { TransportError } from '../errors.ts';
import type { Libp2pRoom, Libp2pRoomOptions } from './libp2p.ts';
import type { PeerRole } from './pipe.ts';
import type { WebRtcRoom } from './webrtc.ts';

export type RelayKind = 'libp2p' | 'websocket';

export function relayKind(relay: string): RelayKind {
  if (relay.startsWith('/')) return 'libp2p';
  if (/^wss?:\/\//.test(relay)) return 'websocket';
  throw new TransportError(`a relay is a libp2p multiaddr (/ip4/…/ws/p2p/…) or a ws:// URL, not ${JSON.stringify(relay)}`);
}

export type JoinedRoom = { readonly kind: 'libp2p'; readonly room: Libp2pRoom } | { readonly kind: 'websocket'; readonly room: WebRtcRoom };

export interface RelayRoomOptions {
  /**
   * This browser's block store: on a libp2p room, bitswap runs over it (the page serves the blocks
   * it holds, and room.blockGetter() reads from peers). The WebSocket stack has no libp2p node and
   * no block exchange, so there it is unused.
   */
  blocks?: ListableBlockstore;
  /** Passed to Libp2pRoom.join (ICE servers, connect timeout). */
  libp2p?: Omit<Libp2pRoomOptions, 'blocks'>;
}

export async function joinRelayRoom(relay: string, room: string, self: string, role: PeerRole, o: RelayRoomOptions = {}): Promise<JoinedRoom> {
  if (relayKind(relay) === 'libp2p') {
    const { Libp2pRoom } = await import('./libp2p.ts');
    return { kind: 'libp2p', room: await Libp2pRoom.join(relay, room, self, role, { ...o.libp2p, blocks: o.blocks }) };
  }
  const { WebRtcRoom } = await import('./webrtc.ts');
  return { kind: 'websocket', room: await WebRtcRoom.join(relay, room, self, role) };
}
