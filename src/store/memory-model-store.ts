// A ModelStore in memory: the same records, pins, LRU and (simulated) quota as the IndexedDB
// store, so the loader can be tested in Node and benchmarked without a browser.
import type { CID } from 'multiformats/cid';
import type { AbortOptions } from './blockstore.ts';
import { NotFoundError, throwIfAborted } from './errors.ts';
import {
  planEviction, quotaError, type BlockInfo, type EvictOptions, type EvictResult, type ModelRecord, type ModelStore, type StoreStats,
} from './model-store.ts';
import { blockKey, parseCid, verifyBlock } from './verify.ts';

export interface MemoryModelStoreOptions {
  /** Refuse puts beyond this many stored bytes with a QuotaError (tests; see IdbBlockstore). */
  quotaBytes?: number;
  now?: () => number;
}

export class MemoryModelStore implements ModelStore {
  private readonly bytes = new Map<string, Uint8Array>();
  private readonly meta = new Map<string, BlockInfo>();
  private readonly models = new Map<string, ModelRecord>();
  private readonly opts: MemoryModelStoreOptions;
  private used = 0;
  private clock = 0;

  constructor(options: MemoryModelStoreOptions = {}) {
    this.opts = options;
  }

  /** Strictly increasing, so LRU order is well defined even within one millisecond. */
  private now(): number {
    this.clock = Math.max(this.clock + 1, this.opts.now?.() ?? Date.now());
    return this.clock;
  }

  async has(cid: CID): Promise<boolean> {
    return this.meta.has(blockKey(cid));
  }

  async get(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    const key = blockKey(cid);
    const bytes = this.bytes.get(key);
    if (!bytes) throw new NotFoundError(`block ${cid} not in store`);
    this.meta.get(key)!.lastAccess = this.now();
    return bytes;
  }

  async put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const key = blockKey(cid);
    if (this.meta.has(key)) return;
    await verifyBlock(cid, bytes, 'put');
    const quota = this.opts.quotaBytes;
    if (quota !== undefined && this.used + bytes.length > quota) {
      throw quotaError(bytes.length, undefined, { usage: this.used, quota, models: [...this.models.values()], simulated: true });
    }
    this.bytes.set(key, bytes.slice());
    this.meta.set(key, { key, size: bytes.length, lastAccess: this.now() });
    this.used += bytes.length;
  }

  async delete(cid: CID): Promise<void> {
    this.drop(blockKey(cid));
  }

  private drop(key: string): number {
    const m = this.meta.get(key);
    if (!m) return 0;
    this.meta.delete(key);
    this.bytes.delete(key);
    this.used -= m.size;
    return m.size;
  }

  async missing(cids: CID[]): Promise<CID[]> {
    return cids.filter((c) => !this.meta.has(blockKey(c)));
  }

  async getModel(root: string): Promise<ModelRecord | undefined> {
    const m = this.models.get(root);
    return m && { ...m, blocks: [...m.blocks] };
  }

  async saveManifest(record: Omit<ModelRecord, 'complete' | 'updatedAt'>): Promise<void> {
    this.models.set(record.root, { ...record, blocks: [...record.blocks], complete: false, updatedAt: Date.now() });
  }

  async markComplete(root: string): Promise<boolean> {
    const m = this.models.get(root);
    if (!m || !m.manifestComplete) return false;
    if (!m.blocks.every((c) => this.meta.has(blockKey(parseCid(c))))) return false;
    m.complete = true;
    m.updatedAt = Date.now();
    return true;
  }

  async listModels(): Promise<ModelRecord[]> {
    return [...this.models.values()].map((m) => ({ ...m, blocks: [...m.blocks] }));
  }

  private pinned(extra?: Iterable<string>): Set<string> {
    const keys = new Set<string>(extra ?? []);
    for (const m of this.models.values()) for (const c of m.blocks) keys.add(blockKey(parseCid(c)));
    return keys;
  }

  async deleteModel(root: string): Promise<EvictResult> {
    const m = this.models.get(root);
    if (!m) return { blocksDeleted: 0, bytesFreed: 0 };
    this.models.delete(root);
    const pinned = this.pinned();
    let blocksDeleted = 0;
    let bytesFreed = 0;
    for (const c of m.blocks) {
      const key = blockKey(parseCid(c));
      if (pinned.has(key) || !this.meta.has(key)) continue;
      bytesFreed += this.drop(key);
      blocksDeleted++;
    }
    return { blocksDeleted, bytesFreed };
  }

  async evict(bytesWanted: number, options: EvictOptions = {}): Promise<EvictResult> {
    const plan = planEviction(this.meta.values(), this.pinned(options.keep), bytesWanted);
    let bytesFreed = 0;
    for (const b of plan) bytesFreed += this.drop(b.key);
    return { blocksDeleted: plan.length, bytesFreed };
  }

  async stats(): Promise<StoreStats> {
    const pinned = this.pinned();
    return {
      blocks: this.meta.size,
      bytes: this.used,
      pinnedBlocks: [...this.meta.keys()].filter((k) => pinned.has(k)).length,
      models: [...this.models.values()].map((m) => ({ root: m.root, label: m.label, size: m.size, blocks: m.blocks.length, complete: m.complete })),
    };
  }
}
