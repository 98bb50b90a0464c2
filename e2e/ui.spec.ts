// The app end to end, from a fresh profile in each engine: pick the demo model, watch it load
// (blocks verified into IndexedDB through the local gateway), chat (greedy output equals the
// reference), regenerate, see it in the storage panel; then, with the server gone, run offline from
// the service worker's shell and IndexedDB, evict it, and get an actionable error; and import a
// dropped GGUF file / load by pasted CID.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { expect, test, type Page } from '@playwright/test';
import { serve } from '../scripts/serve.ts';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

async function setNumber(page: Page, id: string, value: number): Promise<void> {
  await page.locator(`#${id}`).fill(String(value));
}

test('pick the demo model, watch it load, chat with the reference output, regenerate, see it stored', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./');
  await expect(page.getByTestId('load')).toBeEnabled();
  await expect(page.getByTestId('entry')).toContainText('stories260k');
  await expect(page.getByTestId('entry')).toContainText('demo');
  await expect(page.getByTestId('no-models')).toBeVisible();
  await artifact(page, info, 'ui-start');

  // 'auto' on a software adapter would take the CPU path (next test): ask for WebGPU here.
  await page.locator('#backend').selectOption('webgpu');
  await page.getByTestId('kv').selectOption('f16');
  await page.getByTestId('load').click();
  const model = page.getByTestId('model-info');
  await expect(model).toBeVisible({ timeout: 50_000 });
  await expect(model).toHaveAttribute('data-backend', 'webgpu');
  await expect(model).toContainText('stories260k@1.0.0');
  await expect(page.getByTestId('load-progress')).toHaveAttribute('data-phase', 'done');
  await expect(page.getByTestId('load-progress')).toContainText(/\d+\/\d+ blocks/);
  await expect(page.getByTestId('memory')).toContainText('KV cache');
  await artifact(page, info, 'app-loaded');

  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 50_000 });
  await expect(page.getByTestId('output')).toHaveText(ref.generated_text_only);
  await expect(page.getByTestId('stats')).toContainText(`${ref.generated_tokens.length} tokens`);
  await expect(page.getByTestId('output')).toHaveAttribute('aria-live', 'polite');
  await artifact(page, info, 'app-generated');

  // Regenerate the last turn, shorter: greedy, so it is the reference's prefix.
  await page.getByText('Sampling settings').click();
  await setNumber(page, 'max-tokens', 8);
  await page.getByTestId('regenerate').click();
  await expect(page.getByTestId('stats')).toContainText('8 tokens', { timeout: 30_000 });
  const again = await page.getByTestId('output').textContent();
  expect(again && ref.generated_text_only.startsWith(again)).toBeTruthy();
  await expect(page.getByTestId('turn')).toHaveCount(0);

  await page.getByTestId('refresh-storage').click();
  await expect(page.getByTestId('stored-model')).toContainText('stories260k@1.0.0');
  await expect(page.getByTestId('stored-model')).toContainText('complete');
  await expect(page.getByTestId('storage-status')).toContainText('Persistent');
  await artifact(page, info, 'storage');

  await page.setViewportSize({ width: 390, height: 844 });
  await artifact(page, info, 'phone');
  expect(errors).toEqual([]);
});

test("'auto' takes the CPU path on a software WebGPU adapter and says why; a hardware one is calibrated", async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('./');
  await expect(page.getByTestId('caps-status')).toBeVisible();
  const fallback = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } }).gpu;
    const a = await gpu?.requestAdapter();
    return a ? Boolean(a.info?.isFallbackAdapter) : undefined;
  });
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.getByTestId('load').click();
  const model = page.getByTestId('model-info');
  await expect(model).toBeVisible({ timeout: 50_000 });
  if (fallback === true) {
    await expect(model).toHaveAttribute('data-backend', 'cpu');
    await expect(model).toContainText('software emulation');
    await expect(model).toContainText('WASM SIMD128');
  } else if (fallback === undefined) {
    await expect(model).toHaveAttribute('data-backend', 'cpu');
  } else {
    // A hardware adapter (Firefox's lavapipe counts as one): calibration decides (e2e/auto-backend.spec.ts).
    await expect(model).toContainText('calibration');
  }
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('output')).toHaveText(ref.generated_text_only, { timeout: 50_000 });
  expect(errors).toEqual([]);
});

test('after one visit the app runs offline from the service worker and IndexedDB; evict removes the model', async ({ browser }, info) => {
  const port = await freePort();
  const { gateway } = await serve(port);
  const ctx = await browser.newContext({ baseURL: `http://localhost:${port}/` });
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  let closed = false;
  try {
    await page.goto('./');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.getByTestId('load').click();
    await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 50_000 });
    // A second visit, now under the service worker: it caches every file the app and engine use.
    await page.reload();
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect(page.getByTestId('load')).toBeEnabled();
    await page.getByTestId('load').click();
    await expect(page.getByTestId('model-info')).toContainText('0 blocks fetched', { timeout: 50_000 });

    await gateway.close(); // no server any more: only the service worker and IndexedDB remain
    closed = true;
    await page.reload();
    await expect(page.getByTestId('load')).toBeEnabled({ timeout: 30_000 });
    await page.getByTestId('load').click();
    await expect(page.getByTestId('model-info')).toContainText('0 blocks fetched', { timeout: 50_000 });
    await page.getByText('Sampling settings').click();
    await setNumber(page, 'max-tokens', 10);
    await page.getByTestId('generate').click();
    await expect(page.getByTestId('stats')).toContainText('10 tokens', { timeout: 30_000 });
    const text = await page.getByTestId('output').textContent();
    expect(text && ref.generated_text_only.startsWith(text)).toBeTruthy();
    await artifact(page, info, 'offline');

    await page.getByTestId('evict').click();
    await expect(page.getByTestId('no-models')).toBeVisible();
    await expect(page.getByTestId('storage-message')).toContainText('Evicted stories260k@1.0.0');
    await page.getByTestId('load').click();
    await expect(page.getByTestId('load-error')).toContainText(/gateway/i, { timeout: 30_000 });
    await artifact(page, info, 'evicted-offline');
  } finally {
    if (!closed) await gateway.close();
    await ctx.close();
  }
  // Refused connections while the server is gone are expected network errors, not app errors.
  expect(errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|NetworkError|NS_ERROR/.test(e))).toEqual([]);
});

test('a dropped GGUF file is imported with its CID, registered locally and loads from the store; a pasted CID loads too', async ({ page }, info) => {
  const errors = watchErrors(page);
  const registry = JSON.parse(readFileSync('dist/registry.json', 'utf8')) as { entries: Array<{ cid: string }> };
  await page.goto('./');
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.getByTestId('file').setInputFiles('public/models/stories260K.gguf');
  await expect(page.getByTestId('entry')).toContainText('0.0.0-local', { timeout: 30_000 });
  await expect(page.getByTestId('entry')).toContainText('local');
  // Same bytes, same DAG options as the publish: the same CID as the registry's entry.
  await expect(page.getByTestId('entry')).toContainText(registry.entries[0]!.cid);
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toContainText('stories260k@0.0.0-local', { timeout: 50_000 });
  await expect(page.getByTestId('model-info')).toContainText('0 blocks fetched');
  await expect(page.getByTestId('stored-model').first()).toBeVisible();

  await page.getByTestId('cid').fill(registry.entries[0]!.cid);
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toContainText(registry.entries[0]!.cid, { timeout: 50_000 });
  await artifact(page, info, 'imported');
  expect(errors).toEqual([]);
});
