// Our block stores seen through interface-blockstore's Blockstore contract (v7), so Helia's bitswap
// serves and checks blocks from the one store the app already has (IndexedDB in the browser, memory
// or files in Node) instead of a second copy. The adapter adds no storage and no trust of its own:
// put() goes through the wrapped store's put, which hashes the bytes against the CID first (an
// IntegrityError otherwise), so nothing unverified is kept whoever calls it.
// interface-blockstore streams a block as chunks; ours are whole blocks (≤ 2 MiB), so get() yields
// one chunk and put() joins the chunks it is given before verifying.
import type { Blockstore as HeliaBlockstoreContract, InputPair, Pair } from 'interface-blockstore';
import type { CID } from 'multiformats/cid';
import type { AbortOptions, Blockstore } from './blockstore.ts';
import { throwIfAborted, UnsupportedStoreOperationError } from './errors.ts';

/** A store that can also list what it holds (for getAll); IdbBlockstore and MemoryBlockstore can. */
export interface ListableBlockstore extends Blockstore {
  cids?(options?: AbortOptions): AsyncIterable<CID>;
}

type Chunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

async function joinChunks(value: Chunks, signal: AbortSignal | undefined): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const p of value) {
    throwIfAborted(signal);
    parts.push(p);
    n += p.byteLength;
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}

export class HeliaBlockstore implements HeliaBlockstoreContract {
  readonly inner: ListableBlockstore;

  constructor(inner: ListableBlockstore) {
    this.inner = inner;
  }

  has(cid: CID, options?: AbortOptions): Promise<boolean> {
    return this.inner.has(cid, options);
  }

  async put(cid: CID, value: Chunks, options?: AbortOptions): Promise<CID> {
    await this.inner.put(cid, await joinChunks(value, options?.signal), options);
    return cid;
  }

  async *putMany(source: Iterable<InputPair> | AsyncIterable<InputPair>, options?: AbortOptions): AsyncGenerator<CID> {
    for await (const { cid, bytes } of source) yield await this.put(cid, bytes, options);
  }

  /** One chunk: the whole block. A missing block throws the store's NotFoundError (name 'NotFoundError', as interface-store's). */
  async *get(cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    yield await this.inner.get(cid, options);
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) {
      const bytes = await this.inner.get(cid, options);
      yield { cid, bytes: (function* () { yield bytes; })() };
    }
  }

  async *getAll(options?: AbortOptions): AsyncGenerator<Pair> {
    if (!this.inner.cids) throw new UnsupportedStoreOperationError('this store cannot list its blocks');
    for await (const cid of this.inner.cids(options)) {
      const bytes = await this.inner.get(cid, options);
      yield { cid, bytes: (function* () { yield bytes; })() };
    }
  }

  async delete(cid: CID, options?: AbortOptions): Promise<void> {
    if (!this.inner.delete) throw new UnsupportedStoreOperationError('this store cannot delete blocks');
    await this.inner.delete(cid, options);
  }

  async *deleteMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<CID> {
    for await (const cid of source) {
      await this.delete(cid, options);
      yield cid;
    }
  }
}
