// Blocks in IndexedDB (browser main thread or worker). Rules kept here:
// - only verified blocks: put() hashes first, then opens a short transaction; nothing but IDB
//   requests is awaited inside a transaction (no hashing, no network: those would let it commit);
// - one copy per multihash whatever the CID version/codec (key = blockKey, as the Fs store);
// - a model's blocks are pinned while its record exists; unpinned blocks go least recently used
//   first, on evict() or when a model is deleted;
// - QuotaExceededError (from a request, or as a transaction's abort reason) becomes a QuotaError
//   that names what to free; the failed block is simply absent and no model is marked available;
// - block writes are group-committed: puts that arrive while write transactions are in flight go
//   together in the next one (up to 32 blocks), with relaxed durability, and two transactions may
//   be in flight at once (one commits while the next is filled). A transaction per block (and a
//   read transaction before it to see whether the block is there) made the browser's store the
//   slowest part of a load; a batch is still all-or-nothing, and a block is reported stored only
//   once its transaction has completed. Model records keep the default durability.
import type { IDBPTransaction } from 'idb';
import type { CID } from 'multiformats/cid';
import type { AbortOptions } from './blockstore.ts';
import { NotFoundError, throwIfAborted } from './errors.ts';
import { openTabshardDb, type BlockMeta, type TabshardDB, type TabshardDatabase } from './idb-schema.ts';
import {
  isQuotaExceeded, planEviction, quotaError, type EvictOptions, type EvictResult, type ModelRecord, type ModelStore, type StoreStats,
} from './model-store.ts';
import { blockKey, isValidBlock, parseCid, verifyBlock } from './verify.ts';

export interface IdbBlockstoreOptions {
  dbName?: string;
  /**
   * Simulate the browser's quota: a put that would take the stored block bytes past this many
   * bytes throws the same QuotaError as a real QuotaExceededError. Tests need it because the real
   * quota of a test profile is gigabytes. Counted per connection (another tab's puts are not seen).
   */
  quotaBytes?: number;
  /** LRU access times are batched in memory and written at most this often (default 2 s). */
  accessFlushMs?: number;
  /**
   * How block bytes are stored: 'bytes' (a Uint8Array) or 'blob' (a Blob of them); reads accept
   * both, so a database may hold a mix. Default: 'blob' in Firefox, 'bytes' elsewhere. Puts of
   * 256 KiB values, 32 per transaction, measured in the headless browsers here: Firefox ESR 116
   * MiB/s as bytes, 259 as Blobs (it writes a Blob to a file as it is, and runs a Uint8Array
   * through its structured-clone and compression path); Chromium 385 as bytes, 255 as Blobs.
   */
  values?: 'bytes' | 'blob';
}

function defaultValues(): 'bytes' | 'blob' {
  return /\bFirefox\//.test(globalThis.navigator?.userAgent ?? '') ? 'blob' : 'bytes';
}

/** A stored value's bytes, whichever way it was stored. */
async function valueBytes(value: Uint8Array | Blob): Promise<Uint8Array> {
  return value instanceof Uint8Array ? value : new Uint8Array(await value.arrayBuffer());
}

async function estimate(): Promise<{ usage?: number; quota?: number }> {
  try {
    return (await globalThis.navigator?.storage?.estimate?.()) ?? {};
  } catch {
    return {};
  }
}

type EvictTx = IDBPTransaction<TabshardDB, ['models', 'blocks', 'blockMeta'], 'readwrite'>;

interface PendingWrite {
  key: string;
  bytes: Uint8Array | Blob;
  size: number;
  meta: BlockMeta;
  done: () => void;
  fail: (err: unknown) => void;
}

/** Blocks per write transaction at most (8 MiB of 256 KiB blocks)... */
const WRITE_BATCH = 32;
/** ...and write transactions in flight at once. Raw puts of 256 KiB values in headless Chromium
 * here: 16 per transaction one at a time ~120-240 MiB/s; 32 per transaction, two in flight ~300. */
const WRITERS = 2;

/** Own a compact buffer: IDB clones a view's whole underlying ArrayBuffer, not just the view. */
function compact(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

export class IdbBlockstore implements ModelStore {
  readonly db: TabshardDatabase;
  private readonly opts: IdbBlockstoreOptions;
  /** How block bytes are written (options.values, or the browser's default), decided once. */
  private readonly values: 'bytes' | 'blob';
  /** Bytes of stored blocks, counted at open (only used for the simulated quota). */
  private used: number;
  private readonly inflight = new Map<string, Promise<void>>();
  /** Verified blocks waiting for the next write transaction (see the top of this file). */
  private readonly queue: PendingWrite[] = [];
  private writers = 0;
  private readonly touched = new Map<string, number>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private clock = 0;

  private constructor(db: TabshardDatabase, used: number, options: IdbBlockstoreOptions) {
    this.db = db;
    this.used = used;
    this.opts = options;
    this.values = options.values ?? defaultValues();
  }

  static async open(options: IdbBlockstoreOptions = {}): Promise<IdbBlockstore> {
    const db = await openTabshardDb(options.dbName);
    let used = 0;
    if (options.quotaBytes !== undefined) for (const m of await db.getAll('blockMeta')) used += m.size;
    return new IdbBlockstore(db, used, options);
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.db.close();
  }

  private now(): number {
    this.clock = Math.max(this.clock + 1, Date.now());
    return this.clock;
  }

  async has(cid: CID): Promise<boolean> {
    return (await this.db.getKey('blockMeta', blockKey(cid))) !== undefined;
  }

  async get(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    const key = blockKey(cid);
    const value = await this.db.get('blocks', key);
    if (!value) throw new NotFoundError(`block ${cid} not in IndexedDB`);
    this.touch(key);
    return valueBytes(value); // a Blob is read after its transaction: that needs none
  }

  /** Reads stay in read-only transactions: the access time is written later, batched. */
  private touch(key: string): void {
    this.touched.set(key, this.now());
    this.flushTimer ??= setTimeout(() => void this.flushAccess().catch(() => undefined), this.opts.accessFlushMs ?? 2000);
  }

  async flushAccess(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.touched.size === 0) return;
    const batch = [...this.touched];
    this.touched.clear();
    const tx = this.db.transaction('blockMeta', 'readwrite');
    const updates = batch.map(async ([key, at]) => {
      const m = await tx.store.get(key);
      if (m && m.lastAccess < at) await tx.store.put({ ...m, lastAccess: at });
    });
    await Promise.all([...updates, tx.done]);
  }

  async put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const key = blockKey(cid);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    // Whether it is stored already is asked inside the write transaction, not in one of its own.
    const p = this.write(cid, key, bytes).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async write(cid: CID, key: string, bytes: Uint8Array): Promise<void> {
    await verifyBlock(cid, bytes, 'put'); // before the transaction: hashing is not an IDB request
    const quota = this.opts.quotaBytes;
    if (quota !== undefined && this.used + bytes.length > quota) {
      const simulated = new DOMException(`simulated quota of ${quota} bytes`, 'QuotaExceededError');
      throw quotaError(bytes.length, simulated, { usage: this.used, quota, models: await this.listModels(), simulated: true });
    }
    // Reserve before writing: concurrent puts must not all pass the (simulated) quota check.
    this.used += bytes.length;
    const meta: BlockMeta = { key, cid: cid.toString(), size: bytes.length, lastAccess: this.now() };
    const value = this.values === 'blob' ? new Blob([bytes as Uint8Array<ArrayBuffer>]) : compact(bytes);
    await new Promise<void>((done, fail) => {
      this.queue.push({ key, bytes: value, size: bytes.length, meta, done, fail });
      if (this.writers < WRITERS) void this.drain();
    });
  }

  /** Write queued blocks, a batch per transaction, until the queue is empty (one of WRITERS). */
  private async drain(): Promise<void> {
    this.writers++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, WRITE_BATCH);
        const bytes = batch.reduce((a, w) => a + w.size, 0);
        try {
          const existed = await this.guard(bytes, async () => {
            const tx = this.db.transaction(['blocks', 'blockMeta'], 'readwrite', { durability: 'relaxed' });
            const metas = tx.objectStore('blockMeta');
            const blocks = tx.objectStore('blocks');
            const found = await Promise.all(batch.map(async (w) => {
              if ((await metas.getKey(w.key)) !== undefined) return true; // identical bytes stored already
              await Promise.all([blocks.put(w.bytes, w.key), metas.put(w.meta)]);
              return false;
            }));
            await tx.done;
            return found;
          });
          batch.forEach((w, i) => {
            if (existed[i]) this.used -= w.size;
            w.done();
          });
        } catch (err) {
          for (const w of batch) {
            this.used -= w.size;
            w.fail(err);
          }
        }
      }
    } finally {
      this.writers--;
    }
  }

  /** Run a write; a quota failure (request error or transaction abort) becomes our QuotaError. */
  private async guard<T>(bytesNeeded: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isQuotaExceeded(err)) throw err;
      const { usage, quota } = await estimate();
      throw quotaError(bytesNeeded, err, { usage, quota, models: await this.listModels().catch(() => []) });
    }
  }

  async delete(cid: CID): Promise<void> {
    const key = blockKey(cid);
    const tx = this.db.transaction(['blocks', 'blockMeta'], 'readwrite');
    const meta = tx.objectStore('blockMeta').get(key);
    await Promise.all([tx.objectStore('blocks').delete(key), tx.objectStore('blockMeta').delete(key), tx.done]);
    this.used -= (await meta)?.size ?? 0;
  }

  /** Every stored block's CID (as it was stored), for interface-blockstore's getAll. */
  async *cids(options?: AbortOptions): AsyncGenerator<CID> {
    throwIfAborted(options?.signal);
    for (const m of await this.db.getAll('blockMeta')) yield parseCid(m.cid);
  }

  async missing(cids: CID[], options?: AbortOptions): Promise<CID[]> {
    throwIfAborted(options?.signal);
    const tx = this.db.transaction('blockMeta', 'readonly');
    const found = await Promise.all(cids.map((c) => tx.store.getKey(blockKey(c))));
    await tx.done;
    return cids.filter((_, i) => found[i] === undefined);
  }

  async getModel(root: string): Promise<ModelRecord | undefined> {
    return this.db.get('models', root);
  }

  async saveManifest(record: Omit<ModelRecord, 'complete' | 'updatedAt'>): Promise<void> {
    const full: ModelRecord = { ...record, complete: false, updatedAt: Date.now() };
    await this.guard(record.blocks.length * 64, () => this.db.put('models', full));
  }

  async markComplete(root: string): Promise<boolean> {
    const tx = this.db.transaction(['models', 'blockMeta'], 'readwrite');
    const models = tx.objectStore('models');
    const model = await models.get(root);
    let ok = false;
    if (model?.manifestComplete) {
      const metas = tx.objectStore('blockMeta');
      const keys = await Promise.all(model.blocks.map((c) => metas.getKey(blockKey(parseCid(c)))));
      ok = keys.every((k) => k !== undefined);
      if (ok) await models.put({ ...model, complete: true, updatedAt: Date.now() });
    }
    await tx.done;
    return ok;
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.db.getAll('models');
  }

  private static pins(models: ModelRecord[], extra?: Iterable<string>): Set<string> {
    const keys = new Set<string>(extra ?? []);
    for (const m of models) for (const c of m.blocks) keys.add(blockKey(parseCid(c)));
    return keys;
  }

  /** One transaction: drop the record, then every block of it that no other model pins. */
  async deleteModel(root: string): Promise<EvictResult> {
    await this.flushAccess();
    const tx = this.db.transaction(['models', 'blocks', 'blockMeta'], 'readwrite');
    const models = tx.objectStore('models');
    const model = await models.get(root);
    let result: EvictResult = { blocksDeleted: 0, bytesFreed: 0 };
    if (model) {
      await models.delete(root);
      const pinned = IdbBlockstore.pins(await models.getAll());
      const keys = [...new Set(model.blocks.map((c) => blockKey(parseCid(c))))].filter((k) => !pinned.has(k));
      result = await this.dropBlocks(tx, keys);
    }
    await tx.done;
    this.used -= result.bytesFreed;
    return result;
  }

  async evict(bytesWanted: number, options: EvictOptions = {}): Promise<EvictResult> {
    await this.flushAccess();
    const tx = this.db.transaction(['models', 'blocks', 'blockMeta'], 'readwrite');
    const pinned = IdbBlockstore.pins(await tx.objectStore('models').getAll(), options.keep);
    const plan = planEviction(await tx.objectStore('blockMeta').getAll(), pinned, bytesWanted);
    const result = await this.dropBlocks(tx, plan.map((b) => b.key));
    await tx.done;
    this.used -= result.bytesFreed;
    return result;
  }

  private async dropBlocks(t: EvictTx, keys: string[]): Promise<EvictResult> {
    const metas = t.objectStore('blockMeta');
    const sizes = await Promise.all(keys.map(async (k) => {
      const m = await metas.get(k);
      if (!m) return -1;
      await Promise.all([metas.delete(k), t.objectStore('blocks').delete(k)]);
      return m.size;
    }));
    const present = sizes.filter((s) => s >= 0);
    return { blocksDeleted: present.length, bytesFreed: present.reduce((a, b) => a + b, 0) };
  }

  async stats(): Promise<StoreStats> {
    const [metas, models] = await Promise.all([this.db.getAll('blockMeta'), this.listModels()]);
    const pinned = IdbBlockstore.pins(models);
    return {
      blocks: metas.length,
      bytes: metas.reduce((a, m) => a + m.size, 0),
      pinnedBlocks: metas.filter((m) => pinned.has(m.key)).length,
      models: models.map((m) => ({ root: m.root, label: m.label, size: m.size, blocks: m.blocks.length, complete: m.complete })),
    };
  }

  /** Re-hash every stored block against the CID it was stored under (hashing outside transactions). */
  async verifyAll(): Promise<{ checked: number; bad: string[] }> {
    const metas = await this.db.getAll('blockMeta');
    const bad: string[] = [];
    for (const m of metas) {
      const value = await this.db.get('blocks', m.key);
      if (!value || !(await isValidBlock(parseCid(m.cid), await valueBytes(value)))) bad.push(m.cid);
    }
    return { checked: metas.length, bad };
  }
}
