// The one IndexedDB database of the app: blocks, their metadata, model records and small documents
// (the registry). Block bytes and metadata live in separate object stores so that touching a block
// (LRU) or counting blocks never reads or rewrites its 256 KiB of bytes.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ModelRecord } from './model-store.ts';

export interface BlockMeta {
  /** blockKey(cid): the multihash in base32, so CIDv0/v1 of the same bytes share one entry. */
  key: string;
  /** The CID it was first stored under (to re-verify the bytes later). */
  cid: string;
  size: number;
  lastAccess: number;
}

export interface TabshardDB extends DBSchema {
  /** A block's bytes: a Uint8Array, or a Blob of them (IdbBlockstoreOptions.values; readers take both). */
  blocks: { key: string; value: Uint8Array | Blob };
  blockMeta: { key: string; value: BlockMeta; indexes: { lastAccess: number } };
  models: { key: string; value: ModelRecord };
  docs: { key: string; value: unknown };
}

export type TabshardDatabase = IDBPDatabase<TabshardDB>;

export const DEFAULT_DB_NAME = 'tabshard';
const VERSION = 1;

export function openTabshardDb(name = DEFAULT_DB_NAME): Promise<TabshardDatabase> {
  return openDB<TabshardDB>(name, VERSION, {
    upgrade(db) {
      db.createObjectStore('blocks');
      db.createObjectStore('blockMeta', { keyPath: 'key' }).createIndex('lastAccess', 'lastAccess');
      db.createObjectStore('models', { keyPath: 'root' });
      db.createObjectStore('docs');
    },
    // Another tab wants a newer schema: let it, this connection is done.
    blocking(_current, _wanted, event) {
      (event.target as IDBDatabase).close();
    },
  });
}
