// Opens a room's transport in a page: tabs of this browser (BroadcastChannel, no server) or other
// devices (WebRTC through the relay whose address the join link carries; relay-room.ts picks the
// stack from the address). Either way the tab says goodbye when it is closed or navigated away.
import type { PeerRole, PeerSource } from '../transports/pipe.ts';
import { TabsRoom } from '../transports/tabs.ts';
import type { ShareTransport } from '../share-link.ts';

export async function openRoomSource(transport: ShareTransport, relay: string | undefined, room: string, self: string, role: PeerRole): Promise<PeerSource> {
  if (transport === 'tabs') {
    const tabs = new TabsRoom(room, self, role);
    tabs.bindPageLifecycle(window);
    return tabs;
  }
  const { joinRelayRoom } = await import('../transports/relay-room.ts');
  const j = await joinRelayRoom(relay ?? '', room, self, role);
  j.room.bindPageLifecycle(window);
  return j.room;
}

/** A short random peer id (the map shows it; it carries nothing secret). */
export function peerId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export function browserLabel(): string {
  const ua = navigator.userAgent;
  return /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'browser';
}
