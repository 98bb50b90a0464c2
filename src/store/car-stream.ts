// Blocks out of a streamed CAR (an HTTP body): @ipld/car's decoder does the format (header,
// sections, CIDs), over a byte reader of our own. Why our own reader: the one @ipld/car gives an
// async iterable (chunkReader) copies what is left of its current chunk together with every new
// chunk into a fresh buffer on each refill, and hands out blocks as views into those buffers. In
// headless Chromium that made parsing cost a quarter of the speed of reading the same bytes, and
// each block then had to be copied again before IndexedDB would store only its own bytes. This
// reader copies each block's bytes exactly once, into a buffer of exactly the block's size, and
// copies nothing else but the few bytes of a section header that straddles two chunks.
import { createDecoder } from '@ipld/car/decoder';
import type { CID } from 'multiformats/cid';

/** What @ipld/car's decoder reads from (its BytesReader, which its typings do not export). */
export interface BytesReader {
  upTo(length: number): Promise<Uint8Array>;
  exactly(length: number, seek?: boolean): Promise<Uint8Array>;
  seek(length: number): void;
  readonly pos: number;
}

export interface CarStreamBlock {
  cid: CID;
  /** The block's bytes, in a buffer of their own (byteOffset 0, nothing else in it). */
  bytes: Uint8Array;
}

/** Reads at or past this size return a buffer of their own; shorter ones may be views. */
const OWN_COPY_BYTES = 1024;

/** A BytesReader (upTo/exactly/seek/pos) over an async iterable of chunks. */
export function streamReader(chunks: AsyncIterable<Uint8Array>): BytesReader {
  const it = chunks[Symbol.asyncIterator]();
  const queue: Uint8Array[] = [];
  let head = 0; // read offset into queue[0]
  let buffered = 0; // bytes in the queue after `head`
  let done = false;
  let pos = 0;

  /** Pull chunks until `n` bytes are buffered or the stream ends. */
  const fill = async (n: number): Promise<void> => {
    while (buffered < n && !done) {
      const next = await it.next();
      if (next.done) done = true;
      else if (next.value.length > 0) {
        queue.push(next.value);
        buffered += next.value.length;
      }
    }
  };

  /** The next `n` buffered bytes (n <= buffered): a view when one chunk holds them and they are short. */
  const peek = (n: number, own: boolean): Uint8Array => {
    const first = queue[0];
    if (first && first.length - head >= n && !own) return first.subarray(head, head + n);
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = 0; at < n; i++) {
      const c = queue[i]!;
      const from = i === 0 ? head : 0;
      const take = Math.min(n - at, c.length - from);
      out.set(c.subarray(from, from + take), at);
      at += take;
    }
    return out;
  };

  const advance = (n: number): void => {
    pos += n;
    buffered -= n;
    while (n > 0) {
      const left = queue[0]!.length - head;
      if (n < left) {
        head += n;
        return;
      }
      n -= left;
      queue.shift();
      head = 0;
    }
  };

  return {
    async upTo(length: number): Promise<Uint8Array> {
      await fill(length);
      return peek(Math.min(length, buffered), false);
    },
    async exactly(length: number, seek = false): Promise<Uint8Array> {
      await fill(length);
      if (buffered < length) throw new Error('Unexpected end of data');
      const out = peek(length, seek && length >= OWN_COPY_BYTES);
      if (seek) advance(length);
      return out;
    },
    seek(length: number): void {
      // A CARv1 decoder only seeks over bytes it has just peeked; a CARv2 header may ask to skip
      // ahead, and a gateway answers CARv1 only (`version=1`): refuse rather than guess.
      if (length > buffered) throw new Error('CAR: seek past the buffered data (a CARv2 stream?)');
      advance(length);
    },
    get pos(): number {
      return pos;
    },
  };
}

/**
 * The roots and blocks of a CARv1 (or v2) stream. The header is read (and checked) before this
 * resolves; blocks come as the stream delivers them. Nothing here is verified: the caller hashes.
 */
export async function carStreamBlocks(chunks: AsyncIterable<Uint8Array>): Promise<{ roots: CID[]; blocks: AsyncIterable<CarStreamBlock> }> {
  const decoder = createDecoder(streamReader(chunks));
  const header = await decoder.header();
  if (header.version !== 1) throw new Error(`CAR: version ${header.version}, expected 1`);
  return { roots: header.roots, blocks: decoder.blocks() };
}
