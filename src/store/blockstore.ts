// The blockstore interface every part of the store talks to, and an in-memory implementation.
// We keep our own small interface instead of interface-blockstore's: that one's get() returns a
// stream of chunks and put() must echo the key, which every caller here would have to adapt to.
// Where a library wants that contract (Helia's bitswap), helia-blockstore.ts adapts any store here.
import type { CID } from 'multiformats/cid';
import { NotFoundError, throwIfAborted } from './errors.ts';
import { blockKey, verifyBlock } from './verify.ts';

export { verifyBlock } from './verify.ts';

export interface AbortOptions {
  signal?: AbortSignal;
}

/**
 * Content-addressed block storage. put() verifies the bytes against the CID before storing (an
 * IntegrityError otherwise), so a store only ever holds verified blocks. get() throws NotFoundError.
 */
export interface Blockstore {
  has(cid: CID, options?: AbortOptions): Promise<boolean>;
  get(cid: CID, options?: AbortOptions): Promise<Uint8Array>;
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>;
  delete?(cid: CID, options?: AbortOptions): Promise<void>;
}

/** Reads one block; the shape the range reader and the CAR writer need (store, client or both). */
export type BlockGetter = (cid: CID, options?: AbortOptions) => Promise<Uint8Array>;

export class MemoryBlockstore implements Blockstore {
  private readonly blocks = new Map<string, Uint8Array>();
  /** The CID each block was first stored under (for cids(); the key drops version and codec). */
  private readonly names = new Map<string, CID>();

  get size(): number {
    return this.blocks.size;
  }

  async has(cid: CID): Promise<boolean> {
    return this.blocks.has(blockKey(cid));
  }

  async get(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    const bytes = this.blocks.get(blockKey(cid));
    if (!bytes) throw new NotFoundError(`block ${cid} not in store`);
    return bytes;
  }

  async put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const key = blockKey(cid);
    if (this.blocks.has(key)) return;
    await verifyBlock(cid, bytes, 'put');
    // Copy: the caller may reuse its buffer (a chunker's subarray of a larger read).
    this.blocks.set(key, bytes.slice());
    this.names.set(key, cid);
  }

  async delete(cid: CID): Promise<void> {
    this.blocks.delete(blockKey(cid));
    this.names.delete(blockKey(cid));
  }

  async *cids(): AsyncGenerator<CID> {
    yield* [...this.names.values()];
  }
}
