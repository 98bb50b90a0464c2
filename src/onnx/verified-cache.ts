// transformers.js reads model files through the store: a custom cache (its `env.customCache`:
// `match` and `put` of the Web Cache API) that maps each file request of `NAME@RANGE/<path>` to the
// registry entry's file CID, loads that file's UnixFS DAG with the Loader (from the store, else from
// the gateways: every block verified against its CID before it is stored) and answers with the bytes
// read back through createRangeSource (each block verified once more on the way out). Nothing it
// serves ever came from anywhere but the verified store; `put` stores nothing (transformers.js would
// offer only bytes it fetched itself). Browser-safe: no node imports.
import type { AbortOptions, BlockGetter } from '../store/blockstore.ts';
import type { Loader, LoadResult } from '../store/loader.ts';
import { resolve, type Registry, type RegistryEntry } from '../store/registry.ts';
import { createRangeSource } from '../store/unixfs-range.ts';
import { parseCid, verifyBlock } from '../store/verify.ts';
import { NotAModelFolderError } from './errors.ts';

/**
 * Where transformers.js thinks model files live. `.invalid` never resolves (RFC 2606), so even a
 * request that slipped past our fetch guard could not reach a real host.
 */
export const VERIFIED_BASE = 'https://tabshard.invalid/models/';

export interface FileLoad {
  spec: string;
  path: string;
  cid: string;
  result: LoadResult;
}

export interface VerifiedCacheOptions {
  loader: Loader;
  /** The registry (a function: it may change between calls). */
  registry: () => Promise<Registry>;
  gateways: string[];
  signal?: AbortSignal;
  onLoad?: (load: FileLoad) => void;
}

/** `NAME@RANGE/path` or `@scope/NAME@RANGE/path`, with or without our base URL in front. */
export function parseModelKey(key: string): { spec: string; path: string } | undefined {
  let rest: string;
  if (key.startsWith(VERIFIED_BASE)) rest = key.slice(VERIFIED_BASE.length);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(key) || key.startsWith('/')) return undefined; // another URL: not ours
  else rest = key;
  const parts = rest.split('/');
  const n = parts[0]?.startsWith('@') ? 2 : 1;
  if (parts.length <= n) return undefined;
  return { spec: parts.slice(0, n).join('/'), path: parts.slice(n).join('/') };
}

export class VerifiedModelCache {
  readonly loads: FileLoad[] = [];
  /**
   * Failures of match(), kept because transformers.js swallows a cache's errors (it then tries its
   * own fetch, which our guard refuses, and reports only "file not found").
   */
  readonly errors: { key: string; name: string; message: string }[] = [];
  private readonly opts: VerifiedCacheOptions;
  /** One load per file CID per page: match() runs for metadata probes and again for the body. */
  private readonly loading = new Map<string, Promise<LoadResult>>();

  constructor(options: VerifiedCacheOptions) {
    this.opts = options;
  }

  async entry(spec: string): Promise<RegistryEntry> {
    const entry = resolve(await this.opts.registry(), spec);
    if (entry.kind !== 'transformers.js' || !entry.files) throw new NotAModelFolderError(`${entry.name}@${entry.version} is not a model folder (kind ${entry.kind ?? 'file'})`);
    return entry;
  }

  /** The file as a Response, or undefined when the key is not ours or the folder has no such file. */
  async match(key: string): Promise<Response | undefined> {
    try {
      return await this.matchOrThrow(key);
    } catch (err) {
      const e = err as Error;
      this.errors.push({ key, name: e.name, message: e.message });
      throw err;
    }
  }

  private async matchOrThrow(key: string): Promise<Response | undefined> {
    const parsed = parseModelKey(key);
    if (!parsed) return undefined;
    const entry = await this.entry(parsed.spec);
    const file = entry.files![parsed.path];
    if (!file) return undefined; // optional files transformers.js probes for: "not found", never fetched
    const bytes = await this.read(parsed.spec, parsed.path, file.cid, file.size);
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { 'content-type': parsed.path.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'content-length': String(file.size) },
    });
  }

  /** Nothing is stored from outside: only blocks that passed verification live in the store. */
  async put(): Promise<void> {}

  private async read(spec: string, path: string, cid: string, size: number): Promise<Uint8Array> {
    const { loader, gateways, signal } = this.opts;
    let pending = this.loading.get(cid);
    if (!pending) {
      pending = loader.load(cid, { gateways, signal });
      this.loading.set(cid, pending);
      pending.then((result) => {
        const load = { spec, path, cid, result };
        this.loads.push(load);
        this.opts.onLoad?.(load);
      }, () => this.loading.delete(cid)); // a failed load may be retried by the next match
    }
    await pending;
    const store = loader.store;
    const getBlock: BlockGetter = async (c, o?: AbortOptions) => {
      const bytes = await store.get(c, o);
      await verifyBlock(c, bytes, 'store');
      return bytes;
    };
    const source = await createRangeSource(parseCid(cid), getBlock, { signal });
    return source.read(0, size, { signal });
  }
}
