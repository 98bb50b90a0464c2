// What the coordinator and a participant say to each other. Every message is structured-cloneable
// (plain objects, numbers, strings, ArrayBuffers), so a MessagePort / BroadcastChannel link posts
// them as they are and a data-channel link needs only to JSON the small ones and chunk the frames
// (frames.ts). Activations always travel as encoded frames, never as bare typed arrays.

export type ShardRequest =
  /** Hold layers [from, to) (weights loaded, KV empty); replaces whatever was held. */
  | { readonly op: 'load'; readonly from: number; readonly to: number }
  /** Run the frame's layers on its hidden states at its positions; answer with a frame (same seq). */
  | { readonly op: 'layers'; readonly frame: ArrayBuffer }
  /** Forget KV entries at positions >= pos. */
  | { readonly op: 'truncate'; readonly pos: number }
  | { readonly op: 'ping' }
  /**
   * Send the block this CID names, if you hold it (block exchange between room peers). The asker
   * verifies the bytes against the CID itself, so the answer needs no proof.
   */
  | { readonly op: 'block'; readonly cid: string };

export type ShardResponse =
  | { readonly op: 'loaded'; readonly from: number; readonly to: number; readonly memoryBytes: number }
  /** `ms`: the participant's own time for the call (queue + compute), so the coordinator can tell
   *  the link's share of the round trip from the work's (plan-links.ts). Absent from older peers. */
  | { readonly op: 'layers'; readonly frame: ArrayBuffer; readonly ms?: number }
  | { readonly op: 'truncated'; readonly pos: number }
  | { readonly op: 'pong' }
  /** The block's bytes in a buffer of their own (never a view into the host's store). */
  | { readonly op: 'block'; readonly cid: string; readonly bytes: ArrayBuffer }
  /** Not held: the asker tries the next peer or a gateway. (A malformed CID gets an 'error'.) */
  | { readonly op: 'no-block'; readonly cid: string }
  /** The participant's own error, name and message kept (e.g. ContextOverflowError). */
  | { readonly op: 'error'; readonly name: string; readonly message: string };

/** Why a link closed: the participant said goodbye, or the channel went away. */
export type CloseReason = 'bye' | 'closed';

/**
 * One participant as the coordinator sees it. `call` resolves with the participant's answer or
 * rejects when the channel fails or `signal` aborts (the coordinator aborts on its own timeouts);
 * answers to aborted calls are dropped by the link. `onClose` fires once, at most, and returns an
 * unsubscribe function.
 */
export interface ParticipantLink {
  readonly id: string;
  call(req: ShardRequest, signal: AbortSignal): Promise<ShardResponse>;
  onClose(cb: (reason: CloseReason) => void): () => void;
  close(): void;
}
