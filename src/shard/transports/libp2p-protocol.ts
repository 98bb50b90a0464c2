// What the libp2p transport puts on its streams, shared by the browser peers (libp2p.ts) and the
// Node relay (libp2p-relay.ts). Two protocols:
// - ROOM_PROTOCOL, browser → relay: the room directory. libp2p itself has no notion of a room, so
//   the relay (ours, `tabshard relay --libp2p`) introduces the peers of one room to each other,
//   like the WebSocket relay's join/peers/joined. It names each member by the libp2p peer id that
//   its connection authenticated (Noise), not one the member claims.
// - SHARD_PROTOCOL, browser ↔ browser over @libp2p/webrtc: the room handshake and shard RPC, as
//   framed text/binary messages fed to the same ChannelPipe the plain WebRTC transport uses.
// Framing: [kind u8: 0 text, 1 binary][length u32 LE][payload]. Written by hand: a libp2p stream is
// a byte stream, ChannelPipe wants whole messages tagged text or binary, and this 5-byte header is
// all it takes (a generic length-prefix library would still need the kind byte).
import type { Stream } from '@libp2p/interface';
import type { DataChannelLike } from './channel-pipe.ts';
import type { PeerRole } from './pipe.ts';

export const ROOM_PROTOCOL = '/tabshard/room/1.0.0';
export const SHARD_PROTOCOL = '/tabshard/shard/1.0.0';

/** Largest single message: ChannelPipe sends ≤ 16 KiB chunks and small JSON; anything bigger is abuse. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface RoomMember {
  readonly peer: string;
  readonly role: PeerRole;
  /** The member's libp2p peer id (as its connection to the relay authenticated it). */
  readonly id: string;
}

export type ToDirectory = { readonly type: 'join'; readonly room: string; readonly peer: string; readonly role: PeerRole };

export type FromDirectory =
  | { readonly type: 'peers'; readonly peers: readonly RoomMember[] }
  | ({ readonly type: 'joined' } & RoomMember)
  | { readonly type: 'left'; readonly peer: string }
  | { readonly type: 'error'; readonly message: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeMessage(data: string | ArrayBuffer | Uint8Array): Uint8Array {
  const text = typeof data === 'string';
  const body = text ? enc.encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
  if (body.byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`message of ${body.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  const out = new Uint8Array(5 + body.byteLength);
  out[0] = text ? 0 : 1;
  new DataView(out.buffer).setUint32(1, body.byteLength, true);
  out.set(body, 5);
  return out;
}

/** Reassembles framed messages from a stream's chunks (which split and join frames arbitrarily). */
export class MessageDecoder {
  private buf = new Uint8Array(0);

  /** Returns the messages completed by `chunk`; throws RangeError on a bad kind or an oversized length. */
  push(chunk: Uint8Array): (string | ArrayBuffer)[] {
    const joined = new Uint8Array(this.buf.byteLength + chunk.byteLength);
    joined.set(this.buf);
    joined.set(chunk, this.buf.byteLength);
    const out: (string | ArrayBuffer)[] = [];
    let at = 0;
    while (joined.byteLength - at >= 5) {
      const kind = joined[at];
      const len = new DataView(joined.buffer, joined.byteOffset + at + 1, 4).getUint32(0, true);
      if (kind > 1 || len > MAX_MESSAGE_BYTES) throw new RangeError(`malformed frame (kind ${kind}, ${len} bytes)`);
      if (joined.byteLength - at - 5 < len) break;
      const body = joined.slice(at + 5, at + 5 + len);
      out.push(kind === 0 ? dec.decode(body) : body.buffer);
      at += 5 + len;
    }
    this.buf = joined.slice(at);
    return out;
  }
}

/** Whole messages from a stream, one callback each; a malformed frame aborts the stream. */
export function onMessages(stream: Stream, cb: (m: string | ArrayBuffer) => void): void {
  const d = new MessageDecoder();
  stream.addEventListener('message', (ev) => {
    let msgs: (string | ArrayBuffer)[];
    try {
      msgs = d.push(ev.data.subarray());
    } catch (e) {
      stream.abort(e as Error);
      return;
    }
    for (const m of msgs) cb(m);
  });
}

/** A libp2p stream seen as the RTCDataChannel that ChannelPipe drives (whole messages, drain events). */
export class StreamChannel implements DataChannelLike {
  binaryType = 'arraybuffer';
  bufferedAmountLowThreshold = 0;
  private readonly stream: Stream;
  private readonly messages: ((ev: MessageEvent) => void)[] = [];

  constructor(stream: Stream) {
    this.stream = stream;
    onMessages(stream, (data) => { for (const cb of this.messages) cb({ data } as MessageEvent); });
  }

  get readyState(): string {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable' ? 'open' : 'closed';
  }

  /** While the stream asks for a drain, report "full" so ChannelPipe queues until 'drain'. */
  get bufferedAmount(): number {
    return this.stream.writableNeedsDrain ? Number.MAX_SAFE_INTEGER : this.stream.writeBufferLength;
  }

  send(data: string | ArrayBuffer): void {
    this.stream.send(encodeMessage(data));
  }

  close(): void {
    this.stream.close().catch((e: unknown) => this.stream.abort(e as Error));
  }

  addEventListener(type: 'message', cb: (ev: MessageEvent) => void): void;
  addEventListener(type: 'close' | 'bufferedamountlow' | 'error', cb: () => void): void;
  addEventListener(type: string, cb: ((ev: MessageEvent) => void) | (() => void)): void {
    if (type === 'message') this.messages.push(cb);
    else if (type === 'close') {
      this.stream.addEventListener('close', () => (cb as () => void)());
      // The remote closed its writing end: it left; nothing more will come on this pipe.
      this.stream.addEventListener('remoteCloseWrite', () => (cb as () => void)());
    } else if (type === 'bufferedamountlow') this.stream.addEventListener('drain', () => (cb as () => void)());
    // 'error': a libp2p stream reports errors through its 'close' event (StreamCloseEvent.error).
  }
}
