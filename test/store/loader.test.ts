import { afterEach, describe, expect, it } from 'vitest';
import type { CID } from 'multiformats/cid';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import type { LoadProgress } from '../../src/store/load-progress.ts';
import { Loader } from '../../src/store/loader.ts';
import { MemoryModelStore } from '../../src/store/memory-model-store.ts';
import { planEviction } from '../../src/store/model-store.ts';
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

  it('planEviction: oldest unpinned first, stops once enough is freed', () => {
    const blocks = [
      { key: 'a', size: 10, lastAccess: 3 }, { key: 'b', size: 10, lastAccess: 1 }, { key: 'c', size: 10, lastAccess: 2 }, { key: 'd', size: 10, lastAccess: 0 },
    ];
    expect(planEviction(blocks, new Set(['d']), 15).map((b) => b.key)).toEqual(['b', 'c']);
  });
});
