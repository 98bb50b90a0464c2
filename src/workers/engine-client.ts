// The page's side of the engine worker: AbortSignals become abort(callId) messages and callbacks
// become comlink proxies. One client (one worker, one loaded model) can serve many components.
import { expose, proxy, wrap, type Remote } from 'comlink';
import type { TokenEvent } from '../engine/generate.ts';
import type { EngineConfig, EngineGenerateOptions, EngineGenerateResult, EngineLoadOptions, EngineModelInfo, EngineProgress, EngineWorkerApi } from './engine-api.ts';
import { installWireHandlers } from './wire.ts';

let nextId = 0;

/** A module worker can start here: not in an opaque-origin (sandboxed) frame, where it would fail. */
function workersUsable(): boolean {
  return typeof Worker !== 'undefined' && globalThis.origin !== 'null';
}

export class EngineClient {
  /** undefined when the engine runs in this thread (no worker could be started). */
  readonly worker: Worker | undefined;
  readonly api: Remote<EngineWorkerApi>;
  /**
   * While set, generate() is answered here instead of by the worker: a shard room's coordinator
   * (src/shard/ui/share-panel.ts) answers the chat across the room's participants.
   */
  generateVia: ((opts: Omit<EngineGenerateOptions, 'callId'>, onToken?: (e: TokenEvent) => void, signal?: AbortSignal) => Promise<EngineGenerateResult>) | undefined;

  constructor(worker?: Worker, options: { inThread?: boolean } = {}) {
    installWireHandlers();
    let w = worker;
    if (!w && !options.inThread && workersUsable()) {
      try {
        w = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'tabshard-engine' });
      } catch {
        w = undefined; // e.g. a SecurityError in a sandboxed frame: fall back to this thread
      }
    }
    this.worker = w;
    if (w) {
      this.api = wrap<EngineWorkerApi>(w);
    } else {
      // Same API over a MessageChannel, served by the engine module loaded into this thread.
      // Messages sent before the module arrives wait in the port's queue.
      const { port1, port2 } = new MessageChannel();
      void import('./engine.worker.ts').then((m) => expose(m.api, port1));
      this.api = wrap<EngineWorkerApi>(port2);
    }
  }

  get inThread(): boolean {
    return this.worker === undefined;
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

  generate(opts: Omit<EngineGenerateOptions, 'callId'>, onToken?: (e: TokenEvent) => void, signal?: AbortSignal): Promise<EngineGenerateResult> {
    if (this.generateVia) return this.generateVia(opts, onToken, signal);
    return this.call(signal, (callId) => this.api.generate({ ...opts, callId }, onToken ? proxy(onToken) : undefined));
  }

  info(): Promise<EngineModelInfo | undefined> {
    return this.api.info();
  }

  terminate(): void {
    this.worker?.terminate();
  }
}
