// The browser half of the store: the loader worker over IndexedDB against two local gateways (one
// serving corrupted blocks), started here in the Playwright process on 127.0.0.1. Each test gets
// a fresh browser context, so a fresh IndexedDB.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { openStore } from '../src/store/fs-blockstore.ts';
import { startGateway, type GatewayFaults, type RunningGateway } from '../src/store/gateway-server.ts';
import { publish } from '../src/store/publish.ts';
import type { RegistryEntry } from '../src/store/registry.ts';
import { coveringBlocks } from '../src/store/unixfs-range.ts';
import { parseCid } from '../src/store/verify.ts';
import { artifact, watchErrors } from './helpers.ts';

// 5.4 MB real GGUF: 21 raw leaves of 256 KiB under one root, so loads can stop half way.
const FIXTURE = 'test/fixtures/stories260K-pad256-f32.gguf';
const SPEC = 'stories@^1';

interface PageError { name: string; message: string; cause?: { name: string; message: string }; props: Record<string, unknown> }
type Settled<T> = { ok: true; value: T } | { ok: false; error: PageError };
interface LoadResult { root: string; label?: string; blocksTotal: number; blocksFromStore: number; blocksFetched: number; sources: Record<string, number> }
interface Stats { blocks: number; bytes: number; pinnedBlocks: number; models: Array<{ root: string; complete: boolean; blocks: number }> }

let dir: string;
let entry: RegistryEntry;
let registryJson: string;
let allBlocks: string[];
const running: RunningGateway[] = [];

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabshard-e2e-store-'));
  const storeDir = join(dir, 'store');
  ({ entry } = await publish(FIXTURE, { name: 'stories', version: '1.0.0', storeDir }));
  registryJson = readFileSync(join(storeDir, 'registry.json'), 'utf8');
  const blocks = openStore(storeDir);
  allBlocks = [];
  for await (const b of coveringBlocks(parseCid(entry.cid), 0, entry.size, (c) => blocks.get(c))) allBlocks.push(b.cid.toString());
});

test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.close()));
});

/** The corrupting gateway first (it is asked first until its score drops), then the good one. */
async function gateways(faults: GatewayFaults = {}): Promise<{ bad: RunningGateway; good: RunningGateway; urls: string[] }> {
  const store = join(dir, 'store');
  const bad = await startGateway({ store, faults: { ...faults, corrupt: { fraction: 1 } } });
  const good = await startGateway({ store, faults });
  running.push(bad, good);
  return { bad, good, urls: [bad.url, good.url] };
}

async function call<T>(page: Page, method: string, ...args: unknown[]): Promise<Settled<T>> {
  return page.evaluate(([m, a]) => {
    const api = (window as unknown as { tabshardStore: Record<string, (...x: unknown[]) => Promise<unknown>> }).tabshardStore;
    return api[m as string]!(...(a as unknown[]));
  }, [method, args] as const) as Promise<Settled<T>>;
}

async function ok<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  const r = await call<T>(page, method, ...args);
  if (!r.ok) throw new Error(`${method} failed: ${r.error.name}: ${r.error.message}`);
  return r.value;
}

async function open(page: Page): Promise<void> {
  await page.goto('./e2e/pages/store.html');
  await expect(page.locator('#status')).toHaveText('ready');
}

/** Requests cut off by an abort or a reload may still be answered: wait until the count is still. */
async function settled(gw: RunningGateway): Promise<number> {
  for (let last = -1; ; ) {
    await new Promise((r) => setTimeout(r, 150));
    if (gw.stats.blocksServed === last) return last;
    last = gw.stats.blocksServed;
  }
}

test('loads through a corrupting and a good gateway: every block verified, sha256 as published', async ({ page }, info) => {
  const errors = watchErrors(page);
  const { bad, good, urls } = await gateways();
  await open(page);
  await ok(page, 'importRegistry', registryJson);
  const r = await ok<LoadResult>(page, 'load', SPEC, { gateways: urls });
  expect(r).toMatchObject({ root: entry.cid, label: 'stories@1.0.0', blocksTotal: allBlocks.length, blocksFetched: allBlocks.length, blocksFromStore: 0 });
  expect(Object.keys(r.sources)).toEqual([good.url]); // bad bytes are never stored
  expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
  const verified = await ok<{ checked: number; bad: string[] }>(page, 'verifyAll');
  expect(verified).toEqual({ checked: allBlocks.length, bad: [] });
  expect(await ok<string>(page, 'sha256', SPEC)).toBe(entry.sha256);
  const stats = await ok<Stats>(page, 'stats');
  expect(stats.models).toEqual([expect.objectContaining({ root: entry.cid, complete: true, blocks: allBlocks.length })]);
  expect(stats.pinnedBlocks).toBe(allBlocks.length);
  // Chromium decides persist() without asking; Firefox shows a prompt that headless never answers.
  const askPersist = info.project.name === 'chromium';
  type Storage = { supported: boolean; usage: number | null; quota: number | null; persisted: boolean | null; persistRequested: boolean | null };
  const storage = await ok<Storage>(page, 'storageStatus', askPersist);
  expect(storage).toMatchObject({ supported: true, persisted: expect.any(Boolean) });
  expect(storage.quota).toBeGreaterThan(storage.usage ?? 0);
  expect(storage.usage).toBeGreaterThan(0);
  if (askPersist) expect(typeof storage.persistRequested).toBe('boolean');
  await expect(page.locator('#status')).toContainText(`block ${allBlocks.length}/${allBlocks.length}`);
  await artifact(page, info, 'store-progress');
  expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
});

/** Load, abort after 6 blocks are stored, reload the page; the number of blocks now stored (6 up to not all). */
async function stopHalfWayAndReload(page: Page, urls: string[]): Promise<number> {
  const first = await call<LoadResult>(page, 'load', SPEC, { gateways: urls, abortAfterBlocks: 6 });
  expect(first.ok).toBe(false);
  expect(!first.ok && first.error.name).toBe('AbortError');
  await page.reload();
  await expect(page.locator('#status')).toHaveText('ready');
  const stored = (await ok<Stats>(page, 'stats')).blocks;
  expect(stored).toBeGreaterThanOrEqual(6);
  expect(stored).toBeLessThan(allBlocks.length);
  return stored;
}

test('reload mid-load: the next load fetches only the missing blocks', async ({ page }) => {
  // A 2 MB/s link: the 5.4 MB load takes seconds, so it stops half way.
  const { good, urls } = await gateways({ delayMs: 40, bytesPerSecond: 2_000_000 });
  await open(page);
  await ok(page, 'importRegistry', registryJson);
  const stored = await stopHalfWayAndReload(page, urls);
  expect((await ok<Stats>(page, 'stats')).models[0]?.complete).toBe(false);
  const before = await settled(good);
  const again = await ok<LoadResult>(page, 'load', SPEC, { gateways: urls });
  const missing = allBlocks.length - stored;
  expect(again).toMatchObject({ blocksFromStore: stored, blocksFetched: missing });
  expect(good.stats.blocksServed - before).toBe(missing);
  expect(await ok<{ bad: string[] }>(page, 'verifyAll')).toMatchObject({ bad: [] });
});

test('offline reload: a stored model loads from IndexedDB with both gateways closed', async ({ page }) => {
  const { urls } = await gateways();
  await open(page);
  await ok(page, 'importRegistry', registryJson);
  await ok<LoadResult>(page, 'load', SPEC, { gateways: urls });
  await Promise.all(running.splice(0).map((g) => g.close()));
  await page.reload();
  await expect(page.locator('#status')).toHaveText('ready');
  const r = await ok<LoadResult>(page, 'load', SPEC, { gateways: urls }); // the registry is in IndexedDB too
  expect(r).toMatchObject({ blocksFetched: 0, blocksFromStore: allBlocks.length, sources: { store: allBlocks.length } });
  expect(await ok<string>(page, 'sha256', SPEC)).toBe(entry.sha256);
  // Pinned while stored: eviction frees nothing; deleting the model frees every block.
  expect(await ok(page, 'evict', 1e12)).toEqual({ blocksDeleted: 0, bytesFreed: 0 });
  const freed = await ok<{ blocksDeleted: number; bytesFreed: number }>(page, 'deleteModel', SPEC);
  expect(freed.blocksDeleted).toBe(allBlocks.length);
  expect(freed.bytesFreed).toBeGreaterThan(entry.size);
  expect(await ok<Stats>(page, 'stats')).toMatchObject({ blocks: 0, bytes: 0, models: [] });
});

test('blocks stored as Blobs and as bytes: one database holding both loads, verifies and reads back', async ({ page, browserName }) => {
  const { urls } = await gateways({ bytesPerSecond: 2_000_000 }); // slow enough to stop half way
  await open(page);
  // First, part of the model in the form this browser does not use by default (Firefox stores
  // Blobs, the others bytes)...
  await ok(page, 'configure', { values: browserName === 'firefox' ? 'bytes' : 'blob' });
  await ok(page, 'importRegistry', registryJson);
  // ...then the rest in the default form, after a reload.
  const stored = await stopHalfWayAndReload(page, urls);
  const again = await ok<LoadResult>(page, 'load', SPEC, { gateways: urls });
  expect(again).toMatchObject({ blocksFromStore: stored, blocksFetched: allBlocks.length - stored });
  expect(await ok<string>(page, 'sha256', SPEC)).toBe(entry.sha256);
  expect(await ok<{ checked: number; bad: string[] }>(page, 'verifyAll')).toEqual({ checked: allBlocks.length, bad: [] });
  // The database really holds both forms: count them with IndexedDB itself.
  const forms = await page.evaluate(() => new Promise<{ blob: number; bytes: number }>((resolve, reject) => {
    const req = indexedDB.open('tabshard');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const all = req.result.transaction('blocks').objectStore('blocks').getAll();
      all.onerror = () => reject(all.error);
      all.onsuccess = () => {
        const values = all.result as unknown[];
        req.result.close();
        resolve({ blob: values.filter((v) => v instanceof Blob).length, bytes: values.filter((v) => v instanceof Uint8Array).length });
      };
    };
  }));
  const [firstForm, restForm] = browserName === 'firefox' ? ['bytes', 'blob'] as const : ['blob', 'bytes'] as const;
  expect(forms[firstForm]).toBe(stored);
  expect(forms[restForm]).toBe(allBlocks.length - stored);
});

test('quota exceeded: a QuotaError that says what to free, and a consistent store', async ({ page }, info) => {
  const { urls } = await gateways();
  await open(page);
  await ok(page, 'configure', { quotaBytes: 1_000_000 }); // simulated: a real profile's quota is GBs
  await ok(page, 'importRegistry', registryJson);
  const r = await call<LoadResult>(page, 'load', SPEC, { gateways: urls });
  expect(r.ok).toBe(false);
  const error = (r as { error: PageError }).error;
  expect(error.name).toBe('QuotaError');
  expect(error.message).toMatch(/storage is full.*To free space, delete a stored model \(stories@1\.0\.0 .*partial\)/);
  expect(error.cause?.name).toBe('QuotaExceededError');
  await expect(page.locator('#error')).toContainText('QuotaError');
  await artifact(page, info, 'store-quota');
  const stats = await ok<Stats>(page, 'stats');
  expect(stats.models).toEqual([expect.objectContaining({ complete: false })]);
  expect(stats.bytes).toBeLessThanOrEqual(1_000_000);
  expect(await ok<{ checked: number; bad: string[] }>(page, 'verifyAll')).toEqual({ checked: stats.blocks, bad: [] });
  // With room again, the load completes and keeps what it had.
  await ok(page, 'configure', {});
  const done = await ok<LoadResult>(page, 'load', SPEC, { gateways: urls });
  expect(done).toMatchObject({ blocksFromStore: stats.blocks, blocksFetched: allBlocks.length - stats.blocks });
});

test('GGUF header by range read: only the covering blocks are fetched', async ({ page }) => {
  const { good, urls } = await gateways();
  await open(page);
  await ok(page, 'importRegistry', registryJson);
  const h = await ok<{ architecture: string; tensorCount: number; bytesRead: number; blocksFetched: number; blocksFromStore: number }>(
    page, 'readGgufHeader', SPEC, urls);
  expect(h).toMatchObject({ architecture: 'llama', tensorCount: 47, blocksFromStore: 0 });
  const covering: string[] = [];
  const blocks = openStore(join(dir, 'store'));
  for await (const b of coveringBlocks(parseCid(entry.cid), 0, h.bytesRead, (c) => blocks.get(c))) covering.push(b.cid.toString());
  expect(h.blocksFetched).toBe(covering.length);
  expect(covering.length).toBeLessThan(allBlocks.length / 4);
  expect(good.stats.blocksServed).toBe(covering.length);
  expect((await ok<Stats>(page, 'stats')).blocks).toBe(covering.length);
});
