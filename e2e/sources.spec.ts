// Model sources a person controls (issue 18), in the app served by a plain static server that has
// no /ipfs/ route: gateways chosen in settings (one of them corrupting), their health; registries
// added by CID; files imported from HTTP servers with and without Range support. Every server here
// is started by this spec on 127.0.0.1; requests to anything else are refused and counted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { computeCids } from '../src/store/cid.ts';
import { startGateway, type RunningGateway } from '../src/store/gateway-server.ts';
import { publish } from '../src/store/publish.ts';
import { PUBLIC_GATEWAYS } from '../src/store/public-gateways.ts';
import { addEntry, emptyRegistry, exportRegistry, type RegistryEntry } from '../src/store/registry.ts';
import { serveStatic } from '../src/store/static-files.ts';
import { artifact, watchErrors } from './helpers.ts';

const DEMO = 'public/models/stories260K.gguf';
// 5.4 MB, 21 leaves: long enough to reload in the middle of an import from a slow server.
const BIG = 'test/fixtures/stories260K-pad256-f32.gguf';

let dir: string;
let storeDir: string;
let demo: RegistryEntry;
let app: Server;
let appUrl: string;
const running: RunningGateway[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabshard-e2e-sources-'));
  storeDir = join(dir, 'store');
  ({ entry: demo } = await publish(DEMO, { name: 'stories260k', version: '1.0.0', storeDir }));
  // The built app and nothing else: a static host (no /ipfs/, so the app cannot use its origin).
  app = createServer((req, res) => {
    void serveStatic('dist', new URL(req.url ?? '/', 'http://x').pathname, req, res).then((done) => {
      if (!done) {
        res.statusCode = 404;
        res.end('not found');
      }
    });
  });
  appUrl = await listen(app);
});

test.afterAll(async () => {
  await new Promise((r) => app?.close(r));
  app?.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

test.afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.close()));
});

/** Refuse (and count) every request that leaves loopback: public gateways are never contacted. */
async function loopbackOnly(context: BrowserContext): Promise<string[]> {
  const outside: string[] = [];
  await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => {
    outside.push(route.request().url());
    return route.abort();
  });
  return outside;
}

async function openApp(page: Page): Promise<void> {
  await page.goto(`${appUrl}/?nosw`);
  await expect(page.getByTestId('gateways').or(page.getByTestId('no-gateways'))).toBeVisible();
}

function rows(page: Page) {
  return page.locator('tabshard-sources [data-testid="gateway"]');
}

test('gateways chosen in settings: a corrupting one is shown with its integrity errors; the list survives a reload', async ({ page, context }, info) => {
  const outside = await loopbackOnly(context);
  const errors = watchErrors(page);
  const bad = await startGateway({ store: storeDir, faults: { corrupt: { fraction: 1 } } });
  const good = await startGateway({ store: storeDir });
  running.push(bad, good);
  await openApp(page);
  // A static host is no gateway: the defaults are the public gateways of src/store/public-gateways.ts.
  await expect(rows(page)).toHaveCount(PUBLIC_GATEWAYS.length);
  expect(await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-url')))).toEqual([...PUBLIC_GATEWAYS]);
  for (let n = PUBLIC_GATEWAYS.length; n > 0; n--) {
    await rows(page).first().getByTestId('remove-gateway').click();
    await expect(rows(page)).toHaveCount(n - 1);
  }
  for (const url of [bad.url, good.url]) {
    await page.getByTestId('new-gateway').fill(url);
    await page.getByTestId('add-gateway').click();
  }
  await expect(rows(page)).toHaveCount(2);
  await rows(page).nth(1).getByTestId('test-gateway').click();
  await expect(rows(page).nth(1).getByTestId('probe')).toHaveAttribute('data-ok', 'true');

  await page.getByTestId('cid').fill(demo.cid);
  await page.locator('#backend').selectOption('cpu');
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 90_000 });
  expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
  const badHealth = page.locator(`tabshard-sources [data-testid="health"][data-url="${bad.url}"]`);
  const goodHealth = page.locator(`tabshard-sources [data-testid="health"][data-url="${good.url}"]`);
  await expect(badHealth).not.toHaveAttribute('data-integrity', '0');
  await expect(goodHealth).not.toHaveAttribute('data-blocks', '0');
  await expect(goodHealth).toHaveAttribute('data-integrity', '0');
  await expect(rows(page).first().getByTestId('wrong-blocks')).toBeVisible();
  await artifact(page, info, 'sources-gateways');

  await page.reload();
  await expect(rows(page)).toHaveCount(2);
  expect(await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-url')))).toEqual([bad.url, good.url]);
  await expect(rows(page).first().getByTestId('wrong-blocks')).toBeVisible();
  expect(outside).toEqual([]);
  expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
});

/** A plain HTTP file server (CORS, optional Range support) sending at ~1.6 MB/s; logs Range headers. */
async function fileServer(file: string, range: boolean): Promise<{ url: string; ranges: string[] }> {
  const bytes = readFileSync(file);
  const ranges: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'range, if-range');
    res.setHeader('Access-Control-Expose-Headers', 'content-length, content-range, accept-ranges, etag');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const m = range ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    if (req.headers.range) ranges.push(req.headers.range);
    const from = m ? Number(m[1]) : 0;
    res.statusCode = m ? 206 : 200;
    if (range) res.setHeader('Accept-Ranges', 'bytes');
    if (m) res.setHeader('Content-Range', `bytes ${from}-${bytes.length - 1}/${bytes.length}`);
    res.setHeader('Content-Length', bytes.length - from);
    res.setHeader('ETag', '"fixture"');
    let at = from;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(bytes.subarray(at, (at += 65536)));
      if (at >= bytes.length) {
        clearInterval(timer);
        res.end();
      }
    }, 40);
    res.on('close', () => clearInterval(timer));
  });
  const url = await listen(server);
  servers.push(server);
  return { url: `${url}/files/stories-pad.gguf`, ranges };
}

const servers: Server[] = [];
test.afterAll(() => servers.forEach((s) => { s.closeAllConnections(); s.close(); }));

/** Blocks and models in the app's IndexedDB (counted with IndexedDB itself). */
function storedCounts(page: Page): Promise<{ blocks: number; models: number }> {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('tabshard');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const tx = req.result.transaction(['blocks', 'models']);
      const b = tx.objectStore('blocks').count();
      const m = tx.objectStore('models').count();
      tx.oncomplete = () => {
        req.result.close();
        resolve({ blocks: b.result, models: m.result });
      };
    };
  }));
}

test('import from URL: a reload mid-import resumes with a Range request; the CID is `tabshard cid`\'s', async ({ page, context }, info) => {
  const outside = await loopbackOnly(context);
  const { url, ranges } = await fileServer(BIG, true);
  const cids = await computeCids(() => [readFileSync(BIG)], { rawLeaves: true });
  await openApp(page);
  await page.getByTestId('import-url').fill(url);
  await page.getByTestId('import-start').click();
  const progress = page.getByTestId('url-import-progress');
  await expect.poll(async () => Number(await progress.getAttribute('data-bytes')), { timeout: 30_000 }).toBeGreaterThan(1_600_000);
  await page.waitForTimeout(700); // the resume record is written at most every 500 ms
  await page.reload();
  const resume = page.getByTestId('import-resume');
  await expect(resume).toBeVisible();
  await resume.click();
  const result = page.getByTestId('import-result');
  await expect(result).toBeVisible({ timeout: 60_000 });
  await expect(result).toHaveAttribute('data-cid', cids.cidv1RawLeaves!);
  await expect(result).toHaveAttribute('data-range', 'true');
  expect(Number(await result.getAttribute('data-resumed'))).toBeGreaterThan(1_000_000);
  expect(ranges).toEqual([`bytes=${await result.getAttribute('data-resumed')}-`]);
  await expect(page.getByTestId('unfinished-imports')).toHaveCount(0);
  await artifact(page, info, 'sources-import');
  expect(outside).toEqual([]);
});

test('import from URL without Range support gives the same CID; a wrong sha256 leaves nothing stored', async ({ page, context }) => {
  const outside = await loopbackOnly(context);
  const { url, ranges } = await fileServer(DEMO, false);
  const cids = await computeCids(() => [readFileSync(DEMO)], { rawLeaves: true });
  await openApp(page);
  await page.getByTestId('import-url').fill(url);
  await page.getByTestId('expect-sha256').fill('0'.repeat(64));
  await page.getByTestId('import-start').click();
  await expect(page.getByTestId('import-error')).toContainText('ImportMismatchError');
  expect(await storedCounts(page)).toEqual({ blocks: 0, models: 0 });
  await expect(page.getByTestId('unfinished-imports')).toHaveCount(0);

  await page.getByTestId('expect-sha256').fill(demo.sha256);
  await page.getByTestId('import-start').click();
  await expect(page.getByTestId('import-result')).toHaveAttribute('data-cid', cids.cidv1RawLeaves!, { timeout: 60_000 });
  await expect(page.getByTestId('import-result')).toHaveAttribute('data-sha256', demo.sha256);
  expect(ranges).toEqual([]);
  expect((await storedCounts(page)).models).toBe(1);
  expect(outside).toEqual([]);
});

/** Replace the default (public) gateways with these, through the settings panel. */
async function useGateways(page: Page, urls: string[]): Promise<void> {
  await expect(rows(page)).not.toHaveCount(0);
  while ((await rows(page).count()) > 0) {
    const n = await rows(page).count();
    await rows(page).first().getByTestId('remove-gateway').click();
    await expect(rows(page)).toHaveCount(n - 1);
  }
  for (const url of urls) {
    await page.getByTestId('new-gateway').fill(url);
    await page.getByTestId('add-gateway').click();
  }
  await expect(rows(page)).toHaveCount(urls.length);
}

test('a second registry added by CID: its entries show their source, and a conflicting entry is shown', async ({ page, context }) => {
  const outside = await loopbackOnly(context);
  const gw = await startGateway({ store: storeDir });
  running.push(gw);
  // Registry A, by URL: tiny@1.0.0 is the demo model.
  const a = exportRegistry(addEntry(emptyRegistry(), { ...demo, name: 'tiny', version: '1.0.0', tags: [] }));
  const byUrl = createServer((_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Content-Type', 'application/json');
    res.end(a);
  });
  servers.push(byUrl);
  const urlA = `${await listen(byUrl)}/registry.json`;
  // Registry B, published by CID: tiny@1.0.0 is another file (a conflict), other@2.0.0 is new.
  const other = (await computeCids(() => [readFileSync(BIG)], { rawLeaves: true })).cidv1RawLeaves!;
  let b = addEntry(emptyRegistry(), { ...demo, name: 'tiny', version: '1.0.0', cid: other, tags: [] });
  b = addEntry(b, { ...demo, name: 'other', version: '2.0.0', tags: [] });
  const file = join(dir, 'registry-b.json');
  writeFileSync(file, exportRegistry(b));
  const cidB = (await publish(file, { name: 'registry-b', version: '1.0.0', storeDir })).entry.cid;

  await openApp(page);
  await useGateways(page, [gw.url]);
  for (const source of [urlA, cidB]) {
    await page.getByTestId('new-registry').fill(source);
    await page.getByTestId('add-registry').click();
    await expect(page.locator(`[data-testid="registry-source"][data-label="${source === cidB ? `cid:${cidB}` : source}"]`)).toBeVisible();
  }
  await expect(page.locator(`[data-testid="registry-entry"][data-key="other@2.0.0"]`)).toHaveAttribute('data-registry', `cid:${cidB}`);
  const tiny = page.locator(`[data-testid="registry-entry"][data-key="tiny@1.0.0"]`);
  expect(await tiny.evaluateAll((els) => els.map((e) => e.getAttribute('data-registry')))).toEqual([urlA, `cid:${cidB}`]);
  const conflict = page.locator('[data-testid="registry-conflict"][data-key="tiny@1.0.0"]');
  await expect(conflict).toContainText(demo.cid);
  await expect(conflict).toContainText(other);
  // The picker offers the added registry's entries (the first registry's tiny@1.0.0).
  await expect(page.locator('#model option[value="other@2.0.0"]')).toHaveCount(1);
  await page.reload();
  await expect(page.locator('[data-testid="registry-source"]')).toHaveCount(2);
  await expect(conflict).toBeVisible();
  expect(outside).toEqual([]);
});
