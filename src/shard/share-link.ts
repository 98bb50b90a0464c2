// The join link of a shared model: the app's own address with everything a helper needs in the
// fragment (browsers never send a fragment to a server, so the page host, the gateway and the relay
// never see the secret): the room id and secret (room.ts), the model's root CID, name and size, the
// context length the coordinator's cache has (every stage must allocate the same), the transport,
// and for WebRTC the relay's address.
import { RoomError } from './errors.ts';
import { parseRoomLink, roomLink, type Room } from './room.ts';

export type ShareTransport = 'tabs' | 'webrtc';

export interface ShareInvite {
  readonly room: Room;
  /** Root CID of the model's GGUF file. */
  readonly model: string;
  readonly label: string;
  /** Bytes of the GGUF file. */
  readonly size: number;
  readonly nCtx: number;
  readonly transport: ShareTransport;
  /** WebRTC: the relay's ws:// URL or libp2p multiaddr. */
  readonly relay?: string;
}

/** The join link: `base` (its query kept, its fragment replaced) with the invite in the fragment. */
export function shareLink(base: string, invite: ShareInvite): string {
  const u = new URL(roomLink(base, invite.room));
  const p = new URLSearchParams(u.hash.slice(1));
  p.set('model', invite.model);
  p.set('name', invite.label);
  p.set('size', String(invite.size));
  p.set('ctx', String(invite.nCtx));
  p.set('transport', invite.transport);
  if (invite.relay) p.set('relay', invite.relay);
  u.hash = p.toString();
  return u.toString();
}

/** True when the URL's fragment names a room (the app then opens as a helper). */
export function isShareLink(urlOrHash: string): boolean {
  const hash = urlOrHash.includes('#') ? urlOrHash.slice(urlOrHash.indexOf('#') + 1) : urlOrHash;
  return new URLSearchParams(hash).has('room');
}

/** Reads an invite; RoomError('bad-link') when something a helper needs is missing. */
export function parseShareLink(urlOrHash: string): ShareInvite {
  const room = parseRoomLink(urlOrHash);
  const hash = urlOrHash.includes('#') ? urlOrHash.slice(urlOrHash.indexOf('#') + 1) : urlOrHash;
  const p = new URLSearchParams(hash);
  const model = p.get('model') ?? '';
  const size = Number(p.get('size'));
  const nCtx = Number(p.get('ctx'));
  const transport = p.get('transport') === 'webrtc' ? 'webrtc' : 'tabs';
  const relay = p.get('relay') ?? undefined;
  if (!/^[a-z0-9]{8,}$/i.test(model)) throw new RoomError('bad-link', `room ${room.id}: the link names no model`);
  if (!Number.isSafeInteger(nCtx) || nCtx <= 0) throw new RoomError('bad-link', `room ${room.id}: the link has no context length`);
  if (transport === 'webrtc' && !relay) throw new RoomError('bad-link', `room ${room.id}: a WebRTC room needs a relay address`);
  return { room, model, label: p.get('name') ?? model, size: Number.isFinite(size) ? size : 0, nCtx, transport, relay };
}
