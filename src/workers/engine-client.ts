// The page's side of the engine worker: AbortSignals become abort(callId) messages and callbacks
// become comlink proxies. One client (one worker, one loaded model) can serve many components.
import { proxy, wrap, type Remote } from 'comlink';
import type { GenerateResult, TokenEvent } from '../engine/generate.ts';
import type { EngineConfig, EngineGenerateOptions, EngineLoadOptions, EngineModelInfo, EngineProgress, EngineWorkerApi } from './engine-api.ts';
import { installWireHandlers } from './wire.ts';

let nextId = 0;

export class EngineClient {
  readonly worker: Worker;
  readonly api: Remote<EngineWorkerApi>;

  constructor(worker?: Worker) {
    installWireHandlers();
    this.worker = worker ?? new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'tabshard-engine' });
    this.api = wrap<EngineWorkerApi>(this.worker);
  }

  configure(config: EngineConfig): Promise<void> {
    return this.api.configure(config);
  }

  private async call<T>(signal: AbortSignal | undefined, fn: (callId: string) => Promise<T>): Promise<T> {
    const callId = `engine-${++nextId}`;
    signal?.throwIfAborted();
    const onAbort = (): void => void this.api.abort(callId);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn(callId);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  load(opts: Omit<EngineLoadOptions, 'callId'>, onProgress?: (e: EngineProgress) => void, signal?: AbortSignal): Promise<EngineModelInfo> {
    return this.call(signal, (callId) => this.api.load({ ...opts, callId }, onProgress ? proxy(onProgress) : undefined));
  }

  generate(opts: Omit<EngineGenerateOptions, 'callId'>, onToken?: (e: TokenEvent) => void, signal?: AbortSignal): Promise<GenerateResult> {
    return this.call(signal, (callId) => this.api.generate({ ...opts, callId }, onToken ? proxy(onToken) : undefined));
  }

  info(): Promise<EngineModelInfo | undefined> {
    return this.api.info();
  }

  terminate(): void {
    this.worker.terminate();
  }
}
