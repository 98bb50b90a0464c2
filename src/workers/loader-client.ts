// The page's side of the loader worker: starts it, turns AbortSignals into abort(callId) messages
// and progress callbacks into comlink proxies, and asks for persistent storage (window-only API).
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import type { LoadProgress } from '../store/load-progress.ts';
import type { LoadResult, RangeRead } from '../store/loader.ts';
import { requestPersistence, type StorageStatus } from '../store/storage-status.ts';
import type { GgufHeaderSummary, LoaderWorkerApi, LoaderWorkerConfig } from './loader-api.ts';
import { installWireHandlers } from './wire.ts';

export interface ClientCallOptions {
  gateways?: string[];
  signal?: AbortSignal;
}

export interface ClientLoadOptions extends ClientCallOptions {
  onProgress?: (event: LoadProgress) => void;
  concurrency?: number;
  car?: boolean;
}

let nextId = 0;

export class LoaderClient {
  readonly worker: Worker;
  readonly api: Remote<LoaderWorkerApi>;

  constructor(worker?: Worker) {
    installWireHandlers();
    this.worker = worker ?? new Worker(new URL('./loader.worker.ts', import.meta.url), { type: 'module', name: 'tabshard-loader' });
    this.api = wrap<LoaderWorkerApi>(this.worker);
  }

  configure(config: LoaderWorkerConfig): Promise<void> {
    return this.api.configure(config);
  }

  /** Run a worker call whose abort is driven by `signal`. */
  private async call<T>(signal: AbortSignal | undefined, fn: (callId: string) => Promise<T>): Promise<T> {
    const callId = `call-${++nextId}`;
    signal?.throwIfAborted();
    const onAbort = (): void => void this.api.abort(callId, String((signal?.reason as Error | undefined)?.message ?? 'aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn(callId);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async load(spec: string, options: ClientLoadOptions = {}): Promise<LoadResult> {
    const cb = options.onProgress ? proxy(options.onProgress) : undefined;
    return this.call(options.signal, (callId) =>
      this.api.load(spec, { gateways: options.gateways, concurrency: options.concurrency, car: options.car, callId }, cb));
  }

  readRange(spec: string, offset: number, length: number, options: ClientCallOptions = {}): Promise<RangeRead> {
    return this.call(options.signal, (callId) => this.api.readRange(spec, offset, length, { gateways: options.gateways, callId }));
  }

  readGgufHeader(spec: string, options: ClientCallOptions = {}): Promise<GgufHeaderSummary> {
    return this.call(options.signal, (callId) => this.api.readGgufHeader(spec, { gateways: options.gateways, callId }));
  }

  /** The worker's storage figures plus persistence, asked for here because persist() is window-only. */
  async storageStatus(options: { requestPersist?: boolean } = {}): Promise<StorageStatus & { persistRequested: boolean | null }> {
    const persistRequested = options.requestPersist ? await requestPersistence() : null;
    return { ...(await this.api.storageStatus()), persistRequested };
  }

  terminate(): void {
    this.api[releaseProxy]();
    this.worker.terminate();
  }
}
