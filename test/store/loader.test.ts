import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CID } from 'multiformats/cid';
import { MemoryBlockstore, type AbortOptions } from '../../src/store/blockstore.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import type { LoadProgress } from '../../src/store/load-progress.ts';
import { Loader } from '../../src/store/loader.ts';
import { MemoryModelStore } from '../../src/store/memory-model-store.ts';
import { planEviction, quotaError } from '../../src/store/model-store.ts';
import { addEntry, emptyRegistry } from '../../src/store/registry.ts';
import { coveringBlocks } from '../../src/store/unixfs-range.ts';
import { isValidBlock } from '../../src/store/verify.ts';
import { buildDag, randomBytes, testSeed } from './helpers.ts';

const seed = testSeed('loader');
const gateways: RunningGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

/** A deep DAG (1 KiB raw leaves, 4 links per node) served by a corrupting and a good gateway. */
async function setup(size = 40 * 1024, faults: { delayMs?: number } = {}) {
  const bytes = randomBytes(seed, size);
  const { root, store: source } = await buildDag(bytes, { chunk: 1024, fanout: 4 });
  const bad = await startGateway({ store: source, faults: { corrupt: { fraction: 1 }, ...faults } });
  const good = await startGateway({ store: source, faults });
  gateways.push(bad, good);
  const all: CID[] = [];
  for await (const b of coveringBlocks(root, 0, size, (c) => source.get(c))) all.push(b.cid);
  return { bytes, root, source, bad, good, urls: [bad.url, good.url], all };
}

function client() {
  return { hedgeDelayMs: 50, backoffMs: 5, maxBackoffMs: 20 };
}

const RAW_CODE = 0x55;

/** A DAG of `n` raw leaves of `leafBytes` (fanout 8), its blocks split into interior nodes and leaves (file order). */
async function leafDag(n: number, leafBytes: number, seedOffset: number) {
  const size = n * leafBytes;
  const bytes = randomBytes(seed + seedOffset, size);
  const { root, store: source } = await buildDag(bytes, { chunk: leafBytes, fanout: 8 });
  const interior: CID[] = [];
  const leaves: CID[] = [];
  for await (const b of coveringBlocks(root, 0, size, (c) => source.get(c))) (b.cid.code === RAW_CODE ? leaves : interior).push(b.cid);
  return { bytes, size, root, source, interior, leaves };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A MemoryModelStore whose leaf puts are slow (a store slower than the network, as IndexedDB can
 * be), recording the leaf bytes being put at once and the order of starts and ends. Only raw
 * leaves are slowed and tracked: interior nodes are put one at a time by the structure walk,
 * outside the write-behind budget. `failAt`: the n-th leaf put (1-based) fails once with the
 * store's QuotaError, as a full store would; later puts would succeed, so a put the loader starts
 * after the failure would show. `hold`: leaf puts wait for it, then store without the signal (a
 * write the store has accepted completes, as a queued IndexedDB transaction does).
 */
class SlowStore extends MemoryModelStore {
  delayMs: number;
  failAt: number | undefined;
  hold: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;
  started = 0;
  /** Leaf puts in the order they started, and `failed` where the failing one rejected. */
  log: string[] = [];

  constructor(delayMs: number, opts: { failAt?: number; hold?: Promise<void> } = {}) {
    super();
    this.delayMs = delayMs;
    this.failAt = opts.failAt;
    this.hold = opts.hold;
  }

  override async put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    if (cid.code !== RAW_CODE) return super.put(cid, bytes, options);
    const n = ++this.started;
    this.log.push(cid.toString());
    this.inFlight += bytes.length;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await sleep(this.delayMs);
      if (this.hold) {
        await this.hold;
        return await super.put(cid, bytes);
      }
      if (n === this.failAt) {
        this.log.push('failed');
        throw quotaError(bytes.length, undefined, {});
      }
      await super.put(cid, bytes, options);
    } finally {
      this.inFlight -= bytes.length;
    }
  }
}

describe('Loader (memory store, local gateways)', () => {
  it('loads every block verified, skips the corrupting gateway, reports typed progress', async () => {
    const { bytes, root, bad, good, urls, all } = await setup();
    const store = new MemoryModelStore();
    const loader = new Loader({ store, client: client() });
    const events: LoadProgress[] = [];
    const r = await loader.load(root.toString(), { gateways: urls, onProgress: (e) => events.push(e) });
    expect(r).toMatchObject({ root: root.toString(), size: bytes.length, blocksTotal: all.length, blocksFetched: all.length, blocksFromStore: 0 });
    expect(Object.keys(r.sources)).toEqual([good.url]);
    expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
    expect((await store.getModel(root.toString()))?.complete).toBe(true);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ phase: 'done', bytesDone: bytes.length, bytesTotal: bytes.length, blocksDone: all.length, blocksTotal: all.length });
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
    expect(events.some((e) => e.rate > 0 && e.etaSeconds !== null)).toBe(true);
    const read = await loader.readRange(root.toString(), 0, bytes.length);
    expect(read.bytes).toEqual(bytes);
    expect(read.blocksFetched).toBe(0);
  });

  it('resumes after an abort: fetches only the missing blocks; a complete model needs no network', async () => {
    const { root, good, urls, all } = await setup(40 * 1024, { delayMs: 5 });
    const store = new MemoryModelStore();
    const loader = new Loader({ store, client: client() });
    const ac = new AbortController();
    const err = await loader.load(root.toString(), {
      gateways: urls, signal: ac.signal, concurrency: 2, onProgress: (e) => e.blocksDone >= 12 && ac.abort(),
    }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AbortError');
    expect((await store.getModel(root.toString()))?.complete).toBe(false);
    const stored = (await store.stats()).blocks;
    expect(stored).toBeGreaterThanOrEqual(12);
    expect(stored).toBeLessThan(all.length);
    await new Promise((r) => setTimeout(r, 50)); // let aborted requests settle on the server
    const servedBefore = good.stats.blocksServed;
    // One request per block here, so the gateway's count is exactly the missing blocks (the CAR
    // path's resume is the next test's).
    const again = await new Loader({ store, client: client() }).load(root.toString(), { gateways: urls, car: false });
    expect(again.blocksFromStore).toBe(stored);
    expect(again.blocksFetched).toBe(all.length - stored);
    expect(good.stats.blocksServed - servedBefore).toBe(all.length - stored);
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    const offline = await new Loader({ store }).load(root.toString(), { gateways: urls });
    expect(offline).toMatchObject({ blocksFetched: 0, blocksFromStore: all.length, sources: { store: all.length } });
  });

  it('CAR ranges: few requests, every leaf verified; a bad CAR ends at its bad block and the rest comes block by block', async () => {
    const size = 96 * 1024; // 96 leaves: runs of adjacent missing leaves go as CAR requests
    const bytes = randomBytes(seed + 1, size);
    const { root, store: source } = await buildDag(bytes, { chunk: 1024, fanout: 8 });
    const interior: CID[] = [];
    const leaves: CID[] = [];
    for await (const b of coveringBlocks(root, 0, size, (c) => source.get(c))) (b.cid.code === 0x55 ? leaves : interior).push(b.cid);
    const good = await startGateway({ store: source });
    gateways.push(good);

    // Only a good gateway: the structure block by block, the leaves in one CAR.
    const store = new MemoryModelStore();
    const r = await new Loader({ store, client: client() }).load(root.toString(), { gateways: [good.url] });
    expect(r).toMatchObject({ blocksFetched: interior.length + leaves.length, blocksFromStore: 0, sources: { [good.url]: interior.length + leaves.length } });
    expect(good.stats.requests).toBe(interior.length + 1);
    expect((await new Loader({ store }).readRange(root.toString(), 0, size)).bytes).toEqual(bytes);

    // Resume: drop some leaves; the next load asks for CAR ranges over the gaps only and stores
    // exactly the missing leaves (the path's interior nodes come along in each CAR and are skipped).
    const dropped = leaves.filter((_, i) => (i >= 10 && i < 30) || i >= 80);
    for (const c of dropped) await store.delete(c);
    const requestsBefore = good.stats.requests;
    const again = await new Loader({ store, client: client() }).load(root.toString(), { gateways: [good.url] });
    expect(again).toMatchObject({ blocksFetched: dropped.length, blocksFromStore: interior.length + leaves.length - dropped.length });
    expect(good.stats.requests - requestsBefore).toBe(2); // two gaps, two CAR requests
    expect((await new Loader({ store }).readRange(root.toString(), 0, size)).bytes).toEqual(bytes);

    // A corrupting gateway ranked first: its CAR fails verification at a corrupt leaf; nothing it
    // sent unverified is stored, and the good gateway supplies the rest one block at a time.
    const bad = await startGateway({ store: source, faults: { seed, corrupt: { fraction: 0.3 } } });
    gateways.push(bad);
    const store2 = new MemoryModelStore();
    const events: string[] = [];
    const r2 = await new Loader({ store: store2, client: { ...client(), onEvent: (e) => events.push(`${e.type}:${'gateway' in e ? e.gateway : ''}`) } })
      .load(root.toString(), { gateways: [bad.url, good.url] });
    expect(r2.blocksFetched).toBe(interior.length + leaves.length);
    expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
    for (const c of [...interior, ...leaves]) expect(await isValidBlock(c, await store2.get(c))).toBe(true);
    expect((await new Loader({ store: store2 }).readRange(root.toString(), 0, size)).bytes).toEqual(bytes);

    // A gateway that serves raw blocks only: refused once, then asked block by block, no more CARs.
    const rawOnly = await startGateway({ store: source, car: false });
    gateways.push(rawOnly);
    const loader3 = new Loader({ store: new MemoryModelStore(), client: client() });
    const r3 = await loader3.load(root.toString(), { gateways: [rawOnly.url] });
    expect(r3.blocksFetched).toBe(interior.length + leaves.length);
    expect(rawOnly.stats.requests).toBe(interior.length + 1 + leaves.length);
    const loader3b = new Loader({ store: new MemoryModelStore(), client: client() });
    expect((await loader3b.load(root.toString(), { gateways: [rawOnly.url], car: false })).blocksFetched).toBe(interior.length + leaves.length);
  });

  it('resolves name@range through the registry', async () => {
    const { bytes, root, urls } = await setup(8 * 1024);
    const registry = addEntry(emptyRegistry(), {
      name: 'tiny', version: '1.2.0', cid: root.toString(), size: bytes.length, sha256: '0'.repeat(64), format: 'raw', tags: [], publishedAt: '',
    });
    const loader = new Loader({ store: new MemoryModelStore(), registry: async () => registry, client: client() });
    const r = await loader.load('tiny@^1', { gateways: urls });
    expect(r.label).toBe('tiny@1.2.0');
    await expect(loader.load('tiny@^2', { gateways: urls })).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('quota: QuotaError with a message, the model not available, every stored block valid', async () => {
    const { root, urls } = await setup();
    const store = new MemoryModelStore({ quotaBytes: 10 * 1024 });
    const err = (await new Loader({ store, client: client() }).load(root.toString(), { gateways: urls }).catch((e: Error) => e)) as Error;
    expect(err.name).toBe('QuotaError');
    expect(err.message).toMatch(/storage is full.*free space/i);
    expect((await store.getModel(root.toString()))?.complete).toBe(false);
    expect((await store.stats()).bytes).toBeLessThanOrEqual(10 * 1024);
  });

  it('readRange fetches only the blocks covering the range', async () => {
    const { root, source, urls } = await setup();
    const expected: string[] = [];
    for await (const b of coveringBlocks(root, 5000, 7000, (c) => source.get(c))) expected.push(b.cid.toString());
    const loader = new Loader({ store: new MemoryModelStore(), client: client() });
    const r = await loader.readRange(root.toString(), 5000, 2000, { gateways: urls });
    expect(r.bytes.length).toBe(2000);
    expect(r.blocksFetched).toBe(expected.length);
  });

  it('dedupes blocks across models, pins while stored, evicts unpinned LRU', async () => {
    const shared = randomBytes(seed ^ 1, 4096);
    const a = await buildDag(shared, { chunk: 1024, fanout: 4 });
    const both = new Uint8Array(8192);
    both.set(shared);
    both.set(randomBytes(seed ^ 2, 4096), 4096);
    const b = await buildDag(both, { chunk: 1024, fanout: 4, store: a.store as MemoryBlockstore });
    const gw = await startGateway({ store: a.store });
    gateways.push(gw);
    const store = new MemoryModelStore();
    const loader = new Loader({ store, client: client() });
    await loader.load(a.root.toString(), { gateways: [gw.url] });
    const rb = await loader.load(b.root.toString(), { gateways: [gw.url] });
    expect(rb.blocksFromStore).toBe(5); // the 4 shared leaves and their parent (a's root is b's first child)
    const before = await store.stats();
    expect(await store.evict(1e9)).toEqual({ blocksDeleted: 0, bytesFreed: 0 }); // all pinned
    const freed = await store.deleteModel(b.root.toString());
    expect(freed.blocksDeleted).toBe(before.blocks - (await store.stats()).blocks);
    expect((await loader.load(a.root.toString(), {})).blocksFetched).toBe(0); // a's blocks survived
  });

  it('CAR write-behind: leaf puts overlap the stream, bounded by writeBehindBytes (one budget for concurrent runs)', async () => {
    const leafBytes = 1024;
    const { bytes, size, root, source, interior, leaves } = await leafDag(64, leafBytes, 7);
    const gw = await startGateway({ store: source });
    gateways.push(gw);
    const writeBehindBytes = 3 * leafBytes;
    // One CAR run: its writes overlap its own stream (a run that awaited each put would hold one).
    const store = new SlowStore(3);
    const r = await new Loader({ store, client: client() }).load(root.toString(), { gateways: [gw.url], writeBehindBytes });
    expect(r).toMatchObject({ blocksFetched: interior.length + leaves.length, blocksFromStore: 0 });
    expect(gw.stats.requests).toBe(interior.length + 1); // the structure block by block, the leaves in one CAR
    expect(store.maxInFlight).toBeGreaterThan(leafBytes);
    expect(store.maxInFlight).toBeLessThanOrEqual(writeBehindBytes + leafBytes);
    expect((await store.getModel(root.toString()))?.complete).toBe(true);
    for (const c of [...interior, ...leaves]) expect(await isValidBlock(c, await store.get(c))).toBe(true);
    expect((await new Loader({ store }).readRange(root.toString(), 0, size)).bytes).toEqual(bytes);

    // Two leaves already stored split the missing ones into three CAR runs, streamed at once
    // (CAR_CONCURRENCY): the load's one budget bounds them all together.
    const store2 = new SlowStore(3);
    for (const i of [21, 42]) await store2.put(leaves[i]!, await source.get(leaves[i]!));
    store2.maxInFlight = 0;
    const requestsBefore = gw.stats.requests;
    const r2 = await new Loader({ store: store2, client: client() }).load(root.toString(), { gateways: [gw.url], writeBehindBytes });
    expect(r2).toMatchObject({ blocksFetched: interior.length + leaves.length - 2, blocksFromStore: 2 });
    expect(gw.stats.requests - requestsBefore).toBe(interior.length + 3);
    expect(store2.maxInFlight).toBeGreaterThan(leafBytes);
    expect(store2.maxInFlight).toBeLessThanOrEqual(writeBehindBytes + leafBytes);
    expect((await new Loader({ store: store2 }).readRange(root.toString(), 0, size)).bytes).toEqual(bytes);
  });

  it('CAR write-behind: a put failing with QuotaError mid-run ends the load with that QuotaError; nothing is put after it', async () => {
    const { root, source, interior, leaves } = await leafDag(64, 1024, 8);
    const gw = await startGateway({ store: source });
    gateways.push(gw);
    const failAt = 20;
    const store = new SlowStore(2, { failAt });
    const err = await new Loader({ store, client: client() })
      .load(root.toString(), { gateways: [gw.url], writeBehindBytes: 4 * 1024 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('QuotaError');
    expect((err as Error).message).toMatch(/storage is full/i);
    expect(gw.stats.requests).toBe(interior.length + 1); // it was the one CAR run that failed
    expect((await store.getModel(root.toString()))?.complete).toBe(false);
    // Puts already handed to the store before the failure may finish; none may start after it.
    const failed = store.log.indexOf('failed');
    expect(failed).toBeGreaterThanOrEqual(failAt);
    expect(store.log.length - 1).toBe(failed);
    const startedBefore = new Set(store.log.slice(0, failed));
    let storedLeaves = 0;
    for (const c of leaves) {
      if (!(await store.has(c))) continue;
      storedLeaves++;
      expect(startedBefore.has(c.toString())).toBe(true);
      expect(await isValidBlock(c, await store.get(c))).toBe(true);
    }
    for (const c of interior) expect(await isValidBlock(c, await store.get(c))).toBe(true);
    expect(storedLeaves).toBe(failed - 1); // every started put but the failed one
    expect((await store.stats()).blocks).toBe(interior.length + storedLeaves);
  }, 10_000); // a load that hung on the failure would fail here, not at the suite's 60 s

  it('abort mid-CAR (a slow link): AbortError, not complete; the next load fetches exactly the missing leaves', async () => {
    const leafBytes = 16 * 1024;
    const { bytes, size, root, source, interior, leaves } = await leafDag(64, leafBytes, 9);
    const gw = await startGateway({ store: source, faults: { bytesPerSecond: 4 * 1024 * 1024 } }); // 1 MiB: ~250 ms
    gateways.push(gw);
    const store = new MemoryModelStore();
    const ac = new AbortController();
    const err = await new Loader({ store, client: client() }).load(root.toString(), {
      gateways: [gw.url], signal: ac.signal, onProgress: (e) => e.phase === 'blocks' && e.blocksDone >= interior.length + 16 && ac.abort(),
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const stored = (await store.stats()).blocks;
    expect((await store.getModel(root.toString()))?.complete).toBe(false);
    await sleep(50);
    expect((await store.stats()).blocks).toBe(stored); // the load awaited its writes: nothing lands after it ended
    const storedLeaves = stored - interior.length;
    expect(storedLeaves).toBeGreaterThanOrEqual(16);
    expect(storedLeaves).toBeLessThan(leaves.length);
    const again = await new Loader({ store, client: client() }).load(root.toString(), { gateways: [gw.url] });
    expect(again).toMatchObject({ blocksFromStore: stored, blocksFetched: leaves.length - storedLeaves, sources: { store: stored, [gw.url]: leaves.length - storedLeaves } });
    expect((await store.getModel(root.toString()))?.complete).toBe(true);
    for (const c of [...interior, ...leaves]) expect(await isValidBlock(c, await store.get(c))).toBe(true);
    expect((await new Loader({ store }).readRange(root.toString(), 0, size)).bytes).toEqual(bytes);
  });

  it('an abort that arrives after the CAR stream ended, while its writes finish, still ends the load with AbortError', async () => {
    const { root, source, leaves } = await leafDag(32, 1024, 10);
    const gw = await startGateway({ store: source });
    gateways.push(gw);
    let open!: () => void;
    const store = new SlowStore(0, { hold: new Promise<void>((r) => (open = r)) });
    const ac = new AbortController();
    const loading = new Loader({ store, client: client() }).load(root.toString(), { gateways: [gw.url], signal: ac.signal }).catch((e: unknown) => e);
    // Every leaf handed to the store means the stream delivered everything; let it end, then abort.
    await vi.waitFor(() => expect(store.started).toBe(leaves.length), { timeout: 10_000, interval: 2 });
    await sleep(30);
    ac.abort();
    open();
    const err = await loading;
    expect((err as Error).name).toBe('AbortError');
    for (const c of leaves) expect(await store.has(c)).toBe(true); // the writes were awaited...
    expect((await store.getModel(root.toString()))?.complete).toBe(false); // ...but the load did not complete
  });

  it('planEviction: oldest unpinned first, stops once enough is freed', () => {
    const blocks = [
      { key: 'a', size: 10, lastAccess: 3 }, { key: 'b', size: 10, lastAccess: 1 }, { key: 'c', size: 10, lastAccess: 2 }, { key: 'd', size: 10, lastAccess: 0 },
    ];
    expect(planEviction(blocks, new Set(['d']), 15).map((b) => b.key)).toEqual(['b', 'c']);
  });
});
