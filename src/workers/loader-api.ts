// Wire types of the loader worker: what crosses the comlink boundary, in one place, so the worker
// and its client (and any other page) agree on them. Only structured-clone-safe shapes here.
import type { LoadProgress } from '../store/load-progress.ts';
import type { LoadResult, RangeRead } from '../store/loader.ts';
import type { EvictResult, ModelRecord, StoreStats } from '../store/model-store.ts';
import type { StorageStatus } from '../store/storage-status.ts';

export interface LoaderWorkerConfig {
  /** IndexedDB database name (default 'tabshard'). */
  dbName?: string;
  /** Simulated quota for tests (see IdbBlockstoreOptions.quotaBytes). */
  quotaBytes?: number;
  /** How block bytes are stored (IdbBlockstoreOptions.values; default by browser). */
  values?: 'bytes' | 'blob';
  /** Gateway client tuning (the gateways come with each call). */
  hedgeDelayMs?: number;
  timeoutMs?: number;
  retries?: number;
}

export interface CallOptions {
  gateways?: string[];
  /** Set by the client so that its AbortSignal can reach the worker (abort(callId)). */
  callId?: string;
}

export interface WorkerLoadOptions extends CallOptions {
  concurrency?: number;
  /** false: one request per block, no CAR ranges (LoadOptions.car). */
  car?: boolean;
  /** Minimum ms between progress messages (default 50); the first and the last are always sent. */
  progressIntervalMs?: number;
}

export interface GgufHeaderSummary {
  version: number;
  architecture: string | undefined;
  tensorCount: number;
  metadataCount: number;
  headerSize: number;
  dataOffset: number;
  fileSize: number;
  /** File bytes the header parse asked for, and the blocks that cost. */
  bytesRead: number;
  blocksFetched: number;
  blocksFromStore: number;
}

export type ModelSummary = Omit<ModelRecord, 'blocks'> & { blockCount: number };

export interface LoaderWorkerApi {
  configure(config: LoaderWorkerConfig): Promise<void>;
  load(spec: string, options: WorkerLoadOptions, onProgress?: (event: LoadProgress) => void): Promise<LoadResult>;
  abort(callId: string, reason?: string): void;
  readRange(spec: string, offset: number, length: number, options: CallOptions): Promise<RangeRead>;
  readGgufHeader(spec: string, options: CallOptions): Promise<GgufHeaderSummary>;
  stats(): Promise<StoreStats>;
  storageStatus(): Promise<StorageStatus>;
  models(): Promise<ModelSummary[]>;
  deleteModel(spec: string): Promise<EvictResult>;
  evict(bytesWanted: number): Promise<EvictResult>;
  /** Re-hash every stored block against its CID. */
  verifyAll(): Promise<{ checked: number; bad: string[] }>;
  /** sha256 (hex) of a stored file, read from the store only (no network). Holds the file in memory. */
  sha256(spec: string): Promise<string>;
  importRegistry(json: string, merge?: boolean): Promise<number>;
  exportRegistry(): Promise<string>;
}
