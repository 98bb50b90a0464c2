// Load a model into a ModelStore: resolve `name@range` (registry) or a raw CID, walk the UnixFS DAG
// (interior nodes level by level, then the leaves), fetch through the GatewayClient only the blocks
// the store lacks, store each one as soon as it is verified (so a reload resumes where it stopped),
// and mark the model available once every block is present. Reads by byte range fetch only the
// blocks that cover the range. No transaction is ever open across a fetch: fetch, then put.
import type { CID } from 'multiformats/cid';
import type { AbortOptions, BlockGetter } from './blockstore.ts';
import { NotFoundError, UnixFSError, abortReason, throwIfAborted } from './errors.ts';
import { ByteBudget } from './async-utils.ts';
import { GatewayClient, type GatewayClientOptions } from './gateway-client.ts';
import { RateMeter, eta, type BlockSource, type LoadProgress } from './load-progress.ts';
import type { ModelStore } from './model-store.ts';
import { resolve as resolveSpec, type Registry, type RegistryEntry } from './registry.ts';
import { createRangeSource, decodeFileNode, type UnixFSRangeSource } from './unixfs-range.ts';
import { RAW, blockKey, parseCid } from './verify.ts';

export interface LoaderOptions {
  store: ModelStore;
  /** The registry to resolve names against (read on each call: it may change). */
  registry?: () => Promise<Registry>;
  /** Options for the gateway clients the loader makes (the gateways come with each call). */
  client?: Omit<GatewayClientOptions, 'gateways'>;
}

export interface NetworkOptions extends AbortOptions {
  /** Gateway base URLs; not needed when every block is already stored. */
  gateways?: string[];
}

export interface LoadOptions extends NetworkOptions {
  onProgress?: (event: LoadProgress) => void;
  /** Blocks fetched at once (default 6; the client bounds HTTP concurrency too). */
  concurrency?: number;
  /**
   * Fetch runs of adjacent missing leaves as one trustless-gateway CAR each (default true); blocks
   * a CAR does not deliver are then fetched one by one. false: one request per block throughout.
   */
  car?: boolean;
  /**
   * Verified blocks from CAR streams handed to the store but not yet stored, in bytes, at most
   * (default 32 MiB): the memory a load may hold while the store catches up with the network.
   */
  writeBehindBytes?: number;
}

/**
 * A CAR request covers at most this many file bytes (128 leaves of 256 KiB)... Headless Chromium
 * here read 8 MiB ranges, 3 at a time, at half the speed of the same bytes in one GET (each
 * response's first byte came 20-150 ms after the request); 32 MiB ranges came at file speed.
 */
export const CAR_RUN_BYTES = 32 * 1024 * 1024;
/** ...and at least this many leaves: below that, a request per block costs about the same. */
const CAR_MIN_BLOCKS = 8;
/** CAR requests in flight at once: enough to hide a request's latency, few enough to leave the
 * client's connection budget to block requests (hedges, retries, leftovers). */
export const CAR_CONCURRENCY = 3;
/** LoadOptions.writeBehindBytes' default: two of IdbBlockstore's full write batches, and as many queued. */
export const WRITE_BEHIND_BYTES = 32 * 1024 * 1024;

interface Run {
  from: number;
  to: number;
  leaves: Pending[];
}

/** Group leaves (sorted by offset) into runs of adjacent ones for CAR requests; the rest stay single. */
function carRuns(sorted: Pending[]): { runs: Run[]; single: Pending[] } {
  const runs: Run[] = [];
  const single: Pending[] = [];
  let cur: Pending[] = [];
  const close = (): void => {
    if (cur.length >= CAR_MIN_BLOCKS) {
      const last = cur[cur.length - 1]!;
      runs.push({ from: cur[0]!.offset, to: last.offset + (last.size ?? 0), leaves: cur });
    } else single.push(...cur);
    cur = [];
  };
  for (const l of sorted) {
    const prev = cur[cur.length - 1];
    const adjacent = prev !== undefined && prev.offset + (prev.size ?? 0) === l.offset;
    if (prev && (!adjacent || l.offset + (l.size ?? 0) - cur[0]!.offset > CAR_RUN_BYTES)) close();
    cur.push(l);
  }
  close();
  return { runs, single };
}

export interface LoadResult {
  root: string;
  label: string | undefined;
  entry: RegistryEntry | undefined;
  size: number;
  blocksTotal: number;
  blocksFromStore: number;
  blocksFetched: number;
  bytesFetched: number;
  seconds: number;
  /** Blocks per source ('store' or a gateway URL). */
  sources: Record<string, number>;
}

export interface RangeRead {
  bytes: Uint8Array;
  blocksFetched: number;
  blocksFromStore: number;
}

export interface Resolved {
  root: CID;
  entry: RegistryEntry | undefined;
  label: string | undefined;
}

interface Pending {
  cid: CID;
  /** File bytes under this block, from its parent's blocksize (undefined for the root). */
  size: number | undefined;
  /** Where those bytes start in the file. */
  offset: number;
}

/** Run fn over items, at most `limit` at once; the first failure aborts `ac` and is rethrown. */
async function eachLimit<T>(items: T[], limit: number, ac: AbortController, fn: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item, ac.signal);
      } catch (err) {
        failure ??= { err };
        ac.abort(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

/**
 * The verified blocks go to the store, which is our cache: keep them out of the HTTP cache too
 * (gateways mark blocks immutable), or a multi-GB model would sit on disk twice.
 */
const fetchNoStore: typeof fetch = (input, init) => fetch(input, { ...init, cache: 'no-store' });

export class Loader {
  readonly store: ModelStore;
  private readonly opts: LoaderOptions;
  /** One client per gateway list, so gateway scores and circuit breakers carry over between loads. */
  private readonly clients = new Map<string, GatewayClient>();

  constructor(options: LoaderOptions) {
    this.store = options.store;
    this.opts = options;
  }

  /** A raw CID, or a registry spec (`name`, `name@^1`, `name@tag`). */
  async resolve(spec: string): Promise<Resolved> {
    if (!spec.includes('@')) {
      try {
        return { root: parseCid(spec), entry: undefined, label: undefined };
      } catch {
        // not a CID: a bare model name
      }
    }
    if (!this.opts.registry) throw new NotFoundError(`${spec} is not a CID and there is no registry to resolve it`);
    const entry = resolveSpec(await this.opts.registry(), spec);
    return { root: parseCid(entry.cid), entry, label: `${entry.name}@${entry.version}` };
  }

  private client(gateways: string[] | undefined): GatewayClient {
    if (!gateways?.length) throw new NotFoundError('a block is missing from the store and no gateway was given');
    const key = gateways.join(' ');
    let c = this.clients.get(key);
    if (!c) this.clients.set(key, (c = new GatewayClient({ fetch: fetchNoStore, ...this.opts.client, gateways })));
    return c;
  }

  /**
   * Fetch a block (verified by the client), then store it. put() verifies too, but the client's
   * proof of these very bytes (verify.ts) spares it a second hash.
   */
  private async fetchAndStore(cid: CID, opts: NetworkOptions, keep: Set<string>): Promise<{ bytes: Uint8Array; gateway: string }> {
    const got = await this.client(opts.gateways).fetchBlock(cid, { signal: opts.signal });
    await this.putMakingRoom(cid, got.bytes, opts, keep);
    return got;
  }

  /** put(); on a QuotaError, evict once (unpinned blocks, least recently used first; never `keep`) and retry. */
  private async putMakingRoom(cid: CID, bytes: Uint8Array, opts: NetworkOptions, keep: Set<string>): Promise<void> {
    try {
      await this.store.put(cid, bytes, opts);
    } catch (err) {
      if ((err as Error).name !== 'QuotaError') throw err;
      const freed = await this.store.evict(bytes.length * 4, { keep });
      if (freed.bytesFreed < bytes.length) throw err;
      await this.store.put(cid, bytes, opts);
    }
  }

  async load(spec: string, options: LoadOptions = {}): Promise<LoadResult> {
    const started = performance.now();
    const { root, entry, label } = await this.resolve(spec);
    const rootStr = root.toString();
    const result: LoadResult = {
      root: rootStr, label, entry, size: entry?.size ?? 0, blocksTotal: 0, blocksFromStore: 0, blocksFetched: 0, bytesFetched: 0, seconds: 0, sources: {},
    };
    const finish = (): LoadResult => ({ ...result, seconds: (performance.now() - started) / 1000 });
    const existing = await this.store.getModel(rootStr);
    if (existing?.complete && existing.manifestComplete) {
      // Available already: confirm every block is still there (one batch), without any network.
      const lost = await this.store.missing(existing.blocks.map((c) => parseCid(c)), options);
      if (lost.length === 0) {
        Object.assign(result, { size: existing.size, blocksTotal: existing.blocks.length, blocksFromStore: existing.blocks.length });
        result.sources = { store: existing.blocks.length };
        options.onProgress?.({
          phase: 'done', bytesDone: existing.size, bytesTotal: existing.size, blocksDone: existing.blocks.length,
          blocksTotal: existing.blocks.length, rate: 0, etaSeconds: 0, source: 'store',
        });
        return finish();
      }
    }

    const meter = new RateMeter();
    const known: string[] = [rootStr];
    const keep = new Set<string>([blockKey(root)]);
    let bytesDone = 0;
    let blocksDone = 0;
    let phase: LoadProgress['phase'] = 'structure';
    const emit = (source: BlockSource): void => {
      const rate = meter.rate();
      options.onProgress?.({
        phase, bytesDone, bytesTotal: result.size, blocksDone, blocksTotal: known.length, rate, etaSeconds: eta(result.size - bytesDone, rate), source,
      });
    };
    const count = (source: BlockSource, n: number, bytes: number, fileBytes: number): void => {
      blocksDone += n;
      bytesDone += fileBytes;
      result.sources[source] = (result.sources[source] ?? 0) + n;
      if (source === 'store') result.blocksFromStore += n;
      else {
        result.blocksFetched += n;
        result.bytesFetched += bytes;
        meter.add(bytes);
      }
      emit(source);
    };
    const discover = (cid: CID): void => {
      known.push(cid.toString());
      keep.add(blockKey(cid));
    };
    await this.store.saveManifest({ root: rootStr, label, size: result.size, blocks: [...known], manifestComplete: false });

    const ac = new AbortController();
    const onAbort = (): void => ac.abort(abortReason(options.signal!));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      throwIfAborted(options.signal);
      const concurrency = options.concurrency ?? 6;
      const leaves: Pending[] = [];
      // Interior nodes level by level: each must be read to learn its children.
      let level: Pending[] = [{ cid: root, size: undefined, offset: 0 }];
      while (level.length > 0) {
        const next: Pending[] = [];
        await eachLimit(level, concurrency, ac, async (p, signal) => {
          const stored = await this.store.has(p.cid);
          const got = stored ? { bytes: await this.store.get(p.cid, { signal }), gateway: 'store' } : await this.fetchAndStore(p.cid, { ...options, signal }, keep);
          const node = decodeFileNode(p.cid, got.bytes);
          if (p.size !== undefined && node.size !== p.size) throw new UnixFSError(`${p.cid}: holds ${node.size} bytes, its parent says ${p.size}`);
          if (p.cid.equals(root) && result.size === 0) result.size = node.size;
          let offset = p.offset + (node.data?.length ?? 0);
          for (const child of node.children) {
            discover(child.cid);
            (child.cid.code === RAW ? leaves : next).push({ cid: child.cid, size: child.size, offset });
            offset += child.size;
          }
          count(got.gateway, 1, got.bytes.length, node.children.length === 0 ? node.size : (node.data?.length ?? 0));
        });
        level = next;
      }
      // Raw leaves: one batched lookup says which are stored already; fetch only the others.
      phase = 'blocks';
      await this.store.saveManifest({ root: rootStr, label, size: result.size, blocks: [...known], manifestComplete: true });
      const missing = new Set((await this.store.missing(leaves.map((l) => l.cid), options)).map((c) => c.toString()));
      const present = leaves.filter((l) => !missing.has(l.cid.toString()));
      if (present.length > 0) count('store', present.length, 0, present.reduce((a, l) => a + (l.size ?? 0), 0));
      const checkLeaf = (l: Pending, bytes: Uint8Array): void => {
        if (bytes.length !== l.size) throw new UnixFSError(`${l.cid}: raw leaf of ${bytes.length} bytes, its parent says ${l.size}`);
      };
      const oneByOne = (todo: Pending[]): Promise<void> => eachLimit(todo, concurrency, ac, async (l, signal) => {
        const got = await this.fetchAndStore(l.cid, { ...options, signal }, keep);
        checkLeaf(l, got.bytes);
        count(got.gateway, 1, got.bytes.length, got.bytes.length);
      });
      const todo = leaves.filter((l) => missing.has(l.cid.toString())).sort((a, b) => a.offset - b.offset);
      const { runs, single } = options.car === false || todo.length === 0 ? { runs: [], single: todo } : carRuns(todo);
      const client = runs.length > 0 ? this.client(options.gateways) : undefined;
      const writeBudget = new ByteBudget(options.writeBehindBytes ?? WRITE_BEHIND_BYTES);
      await Promise.all([
        oneByOne(single),
        eachLimit(runs, CAR_CONCURRENCY, ac, async (run, signal) => {
          const want = new Map(run.leaves.map((l) => [blockKey(l.cid), l]));
          // Write-behind: a verified block goes to the store while the stream goes on, so the
          // stream does not wait for each commit (one block per commit per stream made the
          // browser's store the slowest part of a load). The blocks not yet stored are bounded by
          // the load's byte budget; a full budget holds the stream back (TCP flow control does
          // the rest). The run ends only once all of its writes have; the first failed write
          // stops the stream and the load.
          const writes: Promise<void>[] = [];
          let writeFailed: { err: unknown } | undefined;
          let streamFailed: { err: unknown } | undefined;
          try {
            await client!.streamRange(root, run.from, run.to, {
              signal,
              wanted: (cid) => want.has(blockKey(cid)),
              onBlock: async (cid, bytes, gateway) => {
                const key = blockKey(cid);
                const l = want.get(key)!;
                checkLeaf(l, bytes);
                want.delete(key); // delivered: stored below, or the load fails
                const release = await writeBudget.acquire(bytes.length);
                if (writeFailed) {
                  // Checked after the wait: the failed write's own release may be what woke us.
                  release();
                  throw writeFailed.err;
                }
                writes.push(this.putMakingRoom(l.cid, bytes, { ...options, signal }, keep).then(
                  () => count(gateway, 1, bytes.length, bytes.length),
                  (err: unknown) => void (writeFailed ??= { err }),
                ).finally(release));
              },
            });
          } catch (err) {
            streamFailed = { err };
          }
          // Whatever ended the stream, the run's writes finish first: a failed one is the reason.
          await Promise.all(writes);
          if (writeFailed) throw writeFailed.err;
          // Abort, a malformed DAG and a full store end the load; a gateway's failure only ends
          // the CAR: what it did not deliver is fetched block by block (hedged, retried).
          const streamErr = streamFailed?.err as Error | undefined;
          if (streamErr && (signal.aborted || ['UnixFSError', 'QuotaError'].includes(streamErr.name))) throw streamErr;
          throwIfAborted(signal); // the stream may have ended before an abort reached it
          await oneByOne([...want.values()]);
        }),
      ]);
      if (!(await this.store.markComplete(rootStr))) {
        throw new NotFoundError(`${label ?? rootStr}: a block went missing during the load (evicted by another tab?); load again`);
      }
      phase = 'done';
      result.blocksTotal = known.length;
      emit('store'); // done: from now on the model is read from the store
      return finish();
    } catch (err) {
      // An abort from outside surfaces as AbortError, not as whatever it interrupted.
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A random-access view of the file: each read takes blocks from the store, fetching (and storing) the others. */
  async openRange(spec: string, options: NetworkOptions = {}): Promise<{ source: UnixFSRangeSource; counts: Omit<RangeRead, 'bytes'> }> {
    const { root } = await this.resolve(spec);
    const counts = { blocksFetched: 0, blocksFromStore: 0 };
    const keep = new Set<string>();
    const getBlock: BlockGetter = async (cid, o) => {
      const signal = o?.signal ?? options.signal;
      if (await this.store.has(cid)) {
        counts.blocksFromStore++;
        return this.store.get(cid, { signal });
      }
      keep.add(blockKey(cid));
      const got = await this.fetchAndStore(cid, { ...options, signal }, keep);
      counts.blocksFetched++;
      return got.bytes;
    };
    return { source: await createRangeSource(root, getBlock, { signal: options.signal }), counts };
  }

  async readRange(spec: string, offset: number, length: number, options: NetworkOptions = {}): Promise<RangeRead> {
    const { source, counts } = await this.openRange(spec, options);
    const bytes = await source.read(offset, length, options);
    return { bytes, ...counts };
  }
}
