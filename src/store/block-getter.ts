// Compose where blocks come from: the local store first, then the network. A block from the
// network is verified by the client and again by the store's put(), and only then kept.
import type { CID } from 'multiformats/cid';
import type { AbortOptions, BlockGetter, Blockstore } from './blockstore.ts';

export interface StoreFirstOptions {
  /** Keep fetched blocks in the store (default true). */
  cache?: boolean;
}

export function storeFirst(store: Blockstore, fetchBlock?: BlockGetter, opts: StoreFirstOptions = {}): BlockGetter {
  const cache = opts.cache ?? true;
  return async (cid: CID, options?: AbortOptions): Promise<Uint8Array> => {
    if (!fetchBlock || (await store.has(cid, options))) return store.get(cid, options);
    const bytes = await fetchBlock(cid, options);
    if (cache) await store.put(cid, bytes, options);
    return bytes;
  };
}
