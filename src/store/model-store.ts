// What the loader needs beyond a Blockstore: per-model records (a manifest of the model's blocks,
// and whether all of them are present), pins and least-recently-used eviction. IndexedDB
// (idb-blockstore.ts) and memory (memory-model-store.ts) implement it; the decisions that are the
// same for both (what to evict, what a quota failure says) are pure functions here.
import type { CID } from 'multiformats/cid';
import type { AbortOptions, Blockstore } from './blockstore.ts';
import { QuotaError } from './errors.ts';

export interface ModelRecord {
  /** Root CID of the file's UnixFS DAG (string form as loaded). */
  root: string;
  /** `name@version` when it came through the registry. */
  label?: string;
  /** File size in bytes. */
  size: number;
  /** CIDs of every block of the DAG known so far (all of them once `manifestComplete`). */
  blocks: string[];
  /** Every block of the DAG is listed in `blocks` (the walk reached every leaf's parent). */
  manifestComplete: boolean;
  /** Available: the manifest is complete and every block in it is stored. Only markComplete sets it. */
  complete: boolean;
  updatedAt: number;
}

export interface EvictResult {
  blocksDeleted: number;
  bytesFreed: number;
}

export interface StoreStats {
  blocks: number;
  bytes: number;
  pinnedBlocks: number;
  models: Array<{ root: string; label?: string; size: number; blocks: number; complete: boolean }>;
}

export interface EvictOptions {
  /** Extra block keys to treat as pinned (e.g. the blocks of a load in progress). */
  keep?: Iterable<string>;
}

export interface ModelStore extends Blockstore {
  /** The CIDs among `cids` that are not stored, in order (one batch instead of N has() calls). */
  missing(cids: CID[], options?: AbortOptions): Promise<CID[]>;
  getModel(root: string): Promise<ModelRecord | undefined>;
  /** Create or update a model's record; always stored as not available (complete: false). */
  saveManifest(record: Omit<ModelRecord, 'complete' | 'updatedAt'>): Promise<void>;
  /** Atomically: if the manifest is complete and every block is present, mark the model available. */
  markComplete(root: string): Promise<boolean>;
  listModels(): Promise<ModelRecord[]>;
  /** Drop the record and free the blocks no other model pins. */
  deleteModel(root: string): Promise<EvictResult>;
  /** Delete unpinned blocks, least recently used first, until `bytesWanted` are freed (or none left). */
  evict(bytesWanted: number, options?: EvictOptions): Promise<EvictResult>;
  stats(): Promise<StoreStats>;
}

export interface BlockInfo {
  key: string;
  size: number;
  lastAccess: number;
}

/** Which unpinned blocks to delete, oldest access first, to free at least `bytesWanted`. */
export function planEviction(blocks: Iterable<BlockInfo>, pinned: ReadonlySet<string>, bytesWanted: number): BlockInfo[] {
  const candidates = [...blocks].filter((b) => !pinned.has(b.key)).sort((a, b) => a.lastAccess - b.lastAccess);
  const out: BlockInfo[] = [];
  let freed = 0;
  for (const b of candidates) {
    if (freed >= bytesWanted) break;
    out.push(b);
    freed += b.size;
  }
  return out;
}

/** Whether an error (a DOMException, or a transaction's abort reason) means "out of quota". */
export function isQuotaExceeded(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; inner?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  // Firefox used NS_ERROR_DOM_QUOTA_REACHED in old versions; code 22 is the legacy QUOTA_ERR.
  return e.name === 'QuotaExceededError' || e.name === 'NS_ERROR_DOM_QUOTA_REACHED' || e.code === 22 || e.name === 'QuotaError';
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The user-facing QuotaError: what failed, how full storage is, and which models could be deleted. */
export function quotaError(
  bytesNeeded: number,
  cause: unknown,
  context: { usage?: number; quota?: number; models?: ModelRecord[]; simulated?: boolean },
): QuotaError {
  const usage = context.usage !== undefined && context.quota !== undefined
    ? ` (${mb(context.usage)} used of ${mb(context.quota)}${context.simulated ? ', simulated quota' : ''})` : '';
  const models = (context.models ?? []).map((m) => `${m.label ?? m.root} (${mb(m.size)}${m.complete ? '' : ', partial'})`);
  const what = models.length > 0 ? `delete a stored model (${models.join(', ')})` : 'clear this site\'s data';
  return new QuotaError(
    `Browser storage is full${usage}: could not store ${bytesNeeded} more bytes. ` +
      `To free space, ${what} or free disk space, then load again: blocks already stored are kept.`,
    { bytesNeeded, usage: context.usage, quota: context.quota, cause },
  );
}
