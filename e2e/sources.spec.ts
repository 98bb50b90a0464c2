// Model sources a person controls (issue 18), in the app served by a plain static server that has
// no /ipfs/ route: gateways chosen in settings (one of them corrupting), their health; registries
// added by CID; files imported from HTTP servers with and without Range support. Every server here
// is started by this spec on 127.0.0.1; requests to anything else are refused and counted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { startGateway, type RunningGateway } from '../src/store/gateway-server.ts';
import { publish } from '../src/store/publish.ts';
import { PUBLIC_GATEWAYS } from '../src/store/public-gateways.ts';
import type { RegistryEntry } from '../src/store/registry.ts';
import { serveStatic } from '../src/store/static-files.ts';
import { artifact, watchErrors } from './helpers.ts';

const DEMO = 'public/models/stories260K.gguf';

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
