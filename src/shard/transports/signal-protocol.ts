// The signaling relay's protocol (JSON text over one WebSocket per peer). The relay only introduces
// peers of a room and forwards opaque SDP/ICE payloads between them; it learns room ids and peer ids,
// never the room secret (that stays in the page's URL fragment and is proven end to end by HMAC
// over the data channel), and never sees activations (they go peer to peer).
import type { PeerRole } from './pipe.ts';

export type SignalPayload =
  | { readonly kind: 'offer' | 'answer'; readonly sdp: string }
  | { readonly kind: 'candidate'; readonly candidate: RTCIceCandidateInit | null };

export type ToRelay =
  | { readonly type: 'join'; readonly room: string; readonly peer: string; readonly role: PeerRole }
  | { readonly type: 'signal'; readonly to: string; readonly data: SignalPayload };

export type FromRelay =
  /** Answer to join: who is already in the room (the newcomer makes the offers). */
  | { readonly type: 'peers'; readonly peers: readonly { readonly peer: string; readonly role: PeerRole }[] }
  | { readonly type: 'joined'; readonly peer: string; readonly role: PeerRole }
  | { readonly type: 'left'; readonly peer: string }
  | { readonly type: 'signal'; readonly from: string; readonly data: SignalPayload }
  | { readonly type: 'error'; readonly message: string };

/** Largest signaling message the relay accepts (an SDP is a few KiB). */
export const MAX_SIGNAL_BYTES = 64 * 1024;
export const ID_PATTERN = /^[\w-]{1,64}$/;
