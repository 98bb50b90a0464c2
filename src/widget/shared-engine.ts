// One engine per page for every <tabshard-chat>: a module-level EngineClient (a worker, or this
// thread where workers cannot start), configured once, and one loaded model per spec. Widgets that
// ask for the model already loaded (or loading) share that load; engine calls run one at a time, so
// a widget asking for another model, or generating, never interleaves with another widget's call.
import type { TokenEvent } from '../engine/generate.ts';
import type { EngineGenerateOptions, EngineGenerateResult, EngineLoadOptions, EngineModelInfo, EngineProgress } from '../workers/engine-api.ts';
import { EngineClient } from '../workers/engine-client.ts';

export type ModelRequest = Omit<EngineLoadOptions, 'callId'>;

let client: EngineClient | undefined;
let configured: Promise<EngineClient> | undefined;
let chain: Promise<unknown> = Promise.resolve();
/** The model the engine holds (or will, once the queued load runs). */
let engineKey: string | undefined;
let requestedKey: string | undefined;
const loads = new Map<string, Promise<EngineModelInfo>>();
const listeners = new Map<string, Set<(p: EngineProgress) => void>>();

function keyOf(r: ModelRequest): string {
  return JSON.stringify([r.spec, r.backend ?? 'auto', r.kv ?? '', r.nCtx ?? 0, r.gateways]);
}

function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const p = chain.then(fn, fn);
  chain = p.catch(() => undefined);
  return p;
}

/** The page's engine, configured with the first registry any widget asked for. */
export function sharedEngine(registryUrl: string | undefined): Promise<EngineClient> {
  configured ??= (async () => {
    client = new EngineClient();
    let registryJson: string | undefined;
    if (registryUrl) {
      try {
        const res = await fetch(registryUrl);
        if (res.ok) registryJson = await res.text();
      } catch {
        // no registry: only CIDs can be loaded
      }
    }
    await client.configure({ registryJson });
    return client;
  })();
  return configured;
}

async function loadNow(engine: EngineClient, req: ModelRequest, key: string): Promise<EngineModelInfo> {
  engineKey = undefined;
  const info = await engine.load(req, (p) => {
    for (const l of listeners.get(key) ?? []) l(p);
  });
  engineKey = key;
  return info;
}

/** Load `req` unless it is the model already loaded or loading; progress goes to `onProgress`. */
export function loadShared(engine: EngineClient, req: ModelRequest, onProgress?: (p: EngineProgress) => void): Promise<EngineModelInfo> {
  const key = keyOf(req);
  if (onProgress) {
    if (!listeners.has(key)) listeners.set(key, new Set());
    listeners.get(key)!.add(onProgress);
  }
  const pending = loads.get(key);
  if (pending && requestedKey === key) return pending;
  requestedKey = key;
  const p = exclusive(() => loadNow(engine, req, key));
  loads.set(key, p);
  p.catch(() => loads.delete(key));
  return p;
}

/** Generate with `req`'s model (reloading it first if another widget switched the engine). */
export function generateShared(
  engine: EngineClient,
  req: ModelRequest,
  opts: Omit<EngineGenerateOptions, 'callId'>,
  onToken: (e: TokenEvent) => void,
  signal: AbortSignal,
): Promise<EngineGenerateResult> {
  const key = keyOf(req);
  return exclusive(async () => {
    if (engineKey !== key) {
      requestedKey = key;
      const p = loadNow(engine, req, key);
      loads.set(key, p);
      await p;
    }
    return engine.generate(opts, onToken, signal);
  });
}

export function removeListener(req: ModelRequest, onProgress: (p: EngineProgress) => void): void {
  listeners.get(keyOf(req))?.delete(onProgress);
}
