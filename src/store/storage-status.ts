// How much the browser lets us store and whether it may evict us: navigator.storage.estimate()
// and persisted() (both in windows and workers), plus persist() (windows only: it may prompt).
import type { StoreStats } from './model-store.ts';

export interface StorageStatus {
  /** false where navigator.storage is missing (old browsers, some embedded webviews). */
  supported: boolean;
  /** Bytes this origin uses, and may use, by the browser's estimate (null when unknown). */
  usage: number | null;
  quota: number | null;
  available: number | null;
  /** Storage is persistent (not evicted under pressure without asking); null when unknown. */
  persisted: boolean | null;
  /** What our block store holds. */
  store: StoreStats | null;
}

function storageManager(): StorageManager | undefined {
  return (globalThis.navigator as Navigator | undefined)?.storage;
}

export async function storageStatus(store?: { stats(): Promise<StoreStats> }): Promise<StorageStatus> {
  const sm = storageManager();
  const [est, persisted, stats] = await Promise.all([
    sm?.estimate?.().catch(() => undefined),
    sm?.persisted?.().catch(() => undefined),
    store?.stats(),
  ]);
  const usage = est?.usage ?? null;
  const quota = est?.quota ?? null;
  return {
    supported: sm !== undefined,
    usage,
    quota,
    available: usage !== null && quota !== null ? Math.max(0, quota - usage) : null,
    persisted: persisted ?? null,
    store: stats ?? null,
  };
}

/**
 * Ask for persistent storage, so that multi-GB models are not evicted under storage pressure.
 * Window only (the spec does not expose persist() to workers); resolves null where unsupported.
 */
export async function requestPersistence(): Promise<boolean | null> {
  const sm = storageManager();
  if (!sm?.persist) return null;
  try {
    return (await sm.persisted()) || (await sm.persist());
  } catch {
    return null;
  }
}
