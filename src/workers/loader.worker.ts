// The loader worker: owns the IndexedDB block store and the gateway clients, so hashing and storing
// never block the page. Exposed with comlink; errors cross with name/message/cause (wire.ts).
import { expose, releaseProxy } from 'comlink';
import { metaString } from '../formats/gguf-meta.ts';
import { readGgufHeader } from '../formats/gguf-reader.ts';
import { AbortError } from '../store/errors.ts';
import { IdbBlockstore } from '../store/idb-blockstore.ts';
import { IdbRegistry } from '../store/idb-registry.ts';
import { HealthRecorder } from '../store/gateway-health.ts';
import { IdbSources } from '../store/idb-sources.ts';
import type { LoadProgress } from '../store/load-progress.ts';
import { Loader, type LoadResult } from '../store/loader.ts';
import { storageStatus } from '../store/storage-status.ts';
import type { CallOptions, GgufHeaderSummary, LoaderWorkerApi, LoaderWorkerConfig, ModelSummary, WorkerLoadOptions } from './loader-api.ts';
import { installWireHandlers } from './wire.ts';

installWireHandlers();

interface Opened {
  store: IdbBlockstore;
  registry: IdbRegistry;
  loader: Loader;
}

let config: LoaderWorkerConfig = {};
let opened: Promise<Opened> | undefined;
const calls = new Map<string, AbortController>();

function open(): Promise<Opened> {
  opened ??= (async () => {
    const store = await IdbBlockstore.open({ dbName: config.dbName, quotaBytes: config.quotaBytes, values: config.values });
    const registry = new IdbRegistry(store.db);
    const loader = new Loader({
      store,
      registry: () => registry.resolvable(),
      client: {
        hedgeDelayMs: config.hedgeDelayMs, timeoutMs: config.timeoutMs, retries: config.retries,
        onEvent: new HealthRecorder(new IdbSources(store.db)).onEvent,
      },
    });
    return { store, registry, loader };
  })();
  return opened;
}

/** A signal for one call, abortable from the page through abort(callId). */
async function withCall<T>(options: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  if (options.callId) calls.set(options.callId, ac);
  try {
    return await fn(ac.signal);
  } finally {
    if (options.callId) calls.delete(options.callId);
  }
}

/** Progress messages at most every `intervalMs`; the latest pending one is never dropped. */
function throttled(send: (e: LoadProgress) => void, intervalMs: number): { push(e: LoadProgress): void; flush(): void } {
  let last = -Infinity;
  let pending: LoadProgress | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pending) send(pending);
    pending = undefined;
    last = performance.now();
  };
  return {
    push(e) {
      pending = e;
      const wait = last + intervalMs - performance.now();
      if (wait <= 0 || e.phase === 'done') flush();
      else timer ??= setTimeout(flush, wait);
    },
    flush,
  };
}

const api: LoaderWorkerApi = {
  async configure(next: LoaderWorkerConfig): Promise<void> {
    if (opened) (await opened).store.close();
    opened = undefined;
    config = { ...next };
    await open();
  },

  async load(spec: string, options: WorkerLoadOptions, onProgress?: (event: LoadProgress) => void): Promise<LoadResult> {
    const { loader } = await open();
    const progress = onProgress ? throttled((e) => void onProgress(e), options.progressIntervalMs ?? 50) : undefined;
    return withCall(options, async (signal) => {
      try {
        return await loader.load(spec, { gateways: options.gateways, concurrency: options.concurrency, car: options.car, signal, onProgress: progress?.push });
      } finally {
        progress?.flush();
        // The callback is a comlink proxy (a MessagePort): let it go, or every load leaks one.
        (onProgress as Partial<Record<typeof releaseProxy, () => void>> | undefined)?.[releaseProxy]?.();
      }
    });
  },

  abort(callId: string, reason?: string): void {
    calls.get(callId)?.abort(new AbortError(reason ?? 'aborted by the page'));
  },

  async readRange(spec, offset, length, options) {
    const { loader } = await open();
    return withCall(options, (signal) => loader.readRange(spec, offset, length, { gateways: options.gateways, signal }));
  },

  async readGgufHeader(spec: string, options: CallOptions): Promise<GgufHeaderSummary> {
    const { loader } = await open();
    return withCall(options, async (signal) => {
      const { source, counts } = await loader.openRange(spec, { gateways: options.gateways, signal });
      let bytesRead = 0;
      const counted = {
        size: source.size,
        read: async (offset: number, length: number) => {
          bytesRead += length;
          return source.read(offset, length, { signal });
        },
      };
      const file = await readGgufHeader(counted, { signal });
      return {
        version: file.version, architecture: metaString(file, 'general.architecture'), tensorCount: file.tensors.length,
        metadataCount: file.metadata.size, headerSize: file.headerSize, dataOffset: file.dataOffset, fileSize: file.fileSize,
        bytesRead, ...counts,
      };
    });
  },

  async stats() {
    return (await open()).store.stats();
  },

  async storageStatus() {
    return storageStatus((await open()).store);
  },

  async models(): Promise<ModelSummary[]> {
    const models = await (await open()).store.listModels();
    return models.map(({ blocks, ...m }) => ({ ...m, blockCount: blocks.length }));
  },

  async deleteModel(spec: string) {
    const { loader, store } = await open();
    return store.deleteModel((await loader.resolve(spec)).root.toString());
  },

  async evict(bytesWanted: number) {
    return (await open()).store.evict(bytesWanted);
  },

  async verifyAll() {
    return (await open()).store.verifyAll();
  },

  async sha256(spec: string): Promise<string> {
    const { loader } = await open();
    // No gateways: a stored file hashes from the store alone (NotFoundError if a block is missing).
    const { source } = await loader.openRange(spec, {});
    const bytes = await source.read(0, source.size);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  },

  async importRegistry(json: string, merge = true): Promise<number> {
    return (await (await open()).registry.importJson(json, { merge })).entries.length;
  },

  async exportRegistry(): Promise<string> {
    return (await open()).registry.exportJson();
  },
};

expose(api);
