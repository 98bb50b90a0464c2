// Point transformers.js at the verified store and nowhere else: the custom cache answers every model
// file; local and remote model paths point at an address that cannot resolve; and `env.fetch` (the
// only fetch transformers.js uses, for model files on a cache miss and for onnxruntime's wasm) is a
// guard that lets through only the URL prefixes we allow (our own origin's wasm files) and answers
// 404 for anything else, so no request ever reaches the Hugging Face hub or a CDN.
import { VERIFIED_BASE, type VerifiedModelCache } from './verified-cache.ts';

/** The parts of transformers.js's `env` we set (its own type is wider; see useVerifiedStore). */
export interface TransformersEnvLike {
  allowRemoteModels: boolean;
  allowLocalModels: boolean;
  remoteHost: string;
  remotePathTemplate: string;
  localModelPath: string;
  useBrowserCache: boolean;
  useFSCache: boolean;
  useCustomCache: boolean;
  customCache: unknown;
  useWasmCache: boolean;
  fetch: (input: string | URL, init?: RequestInit) => Promise<Response>;
}

export interface GuardOptions {
  /** URL prefixes that may be fetched (e.g. `${location.origin}/assets/`). */
  allow: string[];
  /** Every refused URL, in order (tests assert it stays free of outside hosts). */
  refused?: string[];
  /** Every allowed URL. */
  allowed?: string[];
  fetch?: typeof fetch;
}

export function guardedFetch(opts: GuardOptions): (input: string | URL, init?: RequestInit) => Promise<Response> {
  const real = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const base = typeof location !== 'undefined' ? location.href : undefined;
  return async (input, init) => {
    const url = new URL(String(input), base).href;
    if (opts.allow.some((p) => url.startsWith(p))) {
      opts.allowed?.push(url);
      return real(url, init);
    }
    opts.refused?.push(url);
    return new Response('refused: not from the verified store', { status: 404, statusText: 'Not Found' });
  };
}

export function useVerifiedStore(env: TransformersEnvLike, cache: VerifiedModelCache, guard: GuardOptions): void {
  // One of local/remote must stay enabled or transformers.js refuses to load at all; local it is, at
  // an address that never resolves, with remote loading off.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = VERIFIED_BASE;
  env.remoteHost = VERIFIED_BASE;
  env.remotePathTemplate = '{model}/';
  env.useBrowserCache = false;
  env.useFSCache = false;
  env.useCustomCache = true;
  env.customCache = cache;
  env.fetch = guardedFetch(guard);
}
