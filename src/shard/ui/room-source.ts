// Opens a room's transport in a page: tabs of this browser (BroadcastChannel, no server) or other
// devices (WebRTC through the relay whose address the join link carries; relay-room.ts picks the
// stack from the address). Either way the tab says goodbye when it is closed or navigated away.
// Given this browser's block store, a libp2p room also runs bitswap over it, and `peerBlocks` reads
// blocks from the room's peers before the gateways. Tabs share the browser's IndexedDB and the
// WebSocket stack has no libp2p node: neither exchanges blocks (peerBlocks is undefined).
import type { ListableBlockstore } from '../../store/helia-blockstore.ts';
import type { BlockGetter } from '../../store/blockstore.ts';
import type { PeerBlockOptions } from '../block-exchange.ts';
import type { PeerRole, PeerSource } from '../transports/pipe.ts';
import { TabsRoom } from '../transports/tabs.ts';
import type { ShareTransport } from '../share-link.ts';

export interface RoomSource {
  source: PeerSource;
  /** Blocks from room peers (bitswap) in front of the gateways; only on a libp2p room with a store. */
  peerBlocks?: (gateway: BlockGetter, opts?: PeerBlockOptions) => BlockGetter;
}

export async function openRoomSource(transport: ShareTransport, relay: string | undefined, room: string, self: string, role: PeerRole, o: { blocks?: ListableBlockstore } = {}): Promise<RoomSource> {
  if (transport === 'tabs') {
    const tabs = new TabsRoom(room, self, role);
    tabs.bindPageLifecycle(window);
    return { source: tabs };
  }
  const { joinRelayRoom } = await import('../transports/relay-room.ts');
  const j = await joinRelayRoom(relay ?? '', room, self, role, { blocks: o.blocks });
  j.room.bindPageLifecycle(window);
  if (j.kind === 'libp2p' && j.room.exchange) {
    const r = j.room;
    return { source: r, peerBlocks: (gateway, opts) => r.blockGetter(gateway, opts) };
  }
  return { source: j.room };
}

/** A short random peer id (the map shows it; it carries nothing secret). */
export function peerId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export function browserLabel(): string {
  const ua = navigator.userAgent;
  return /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'browser';
}
