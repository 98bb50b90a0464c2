// transformers.js in the browser on the verified store: the stories260K export, published as one
// UnixFS directory to two local gateways (the first corrupts every block), loads through the
// verified cache into IndexedDB and continues the prompt exactly as the reference; after a reload
// every file comes from IndexedDB (no block fetched twice); with only the corrupting gateway nothing
// reaches transformers.js. Every request the page makes stays on localhost / 127.0.0.1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { exportOnnx } from '../src/onnx/export.ts';
import { startGateway, type RunningGateway } from '../src/store/gateway-server.ts';
import { publishDir } from '../src/store/publish-dir.ts';
import type { RegistryEntry } from '../src/store/registry.ts';
import type { RunOptions, RunResult, Settled } from './pages/onnx.ts';
import { artifact, watchErrors } from './helpers.ts';

interface RefJson { prompt: string; generated_tokens: number[]; text: string }
const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as RefJson;
const FILES = ['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'];

let dir: string;
let storeDir: string;
let entry: RegistryEntry;
let registryJson: string;
const running: RunningGateway[] = [];

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabshard-e2e-onnx-'));
  storeDir = join(dir, 'store');
  await exportOnnx('test/fixtures/stories260K-f32.gguf', join(dir, 'model'), { formats: ['f32'] });
  ({ entry } = await publishDir(join(dir, 'model'), { name: 'stories-onnx', version: '1.0.0', storeDir }));
  registryJson = readFileSync(join(storeDir, 'registry.json'), 'utf8');
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));
test.afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.close()));
});

async function gateways(): Promise<{ bad: RunningGateway; good: RunningGateway }> {
  const bad = await startGateway({ store: storeDir, faults: { corrupt: { fraction: 1 } } });
  const good = await startGateway({ store: storeDir });
  running.push(bad, good);
  return { bad, good };
}

/** Every URL the page requests; blob: and data: are in-page. */
function watchRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}
const outside = (urls: string[]): string[] =>
  urls.filter((u) => !/^(blob|data):/.test(u) && !['localhost', '127.0.0.1'].includes(new URL(u).hostname));

async function open(page: Page): Promise<void> {
  await page.goto('./e2e/pages/onnx.html');
  await expect(page.locator('#status')).toHaveText('ready');
}

async function run(page: Page, gatewayUrls: string[], maxNewTokens = ref.generated_tokens.length): Promise<Settled<RunResult>> {
  const opts: RunOptions = { registryJson, spec: 'stories-onnx@^1', gateways: gatewayUrls, prompt: ref.prompt, maxNewTokens };
  return page.evaluate((o) => (window as unknown as { tabshardOnnx: { run(o: RunOptions): Promise<Settled<RunResult>> } }).tabshardOnnx.run(o), opts);
}

function value(r: Settled<RunResult>): RunResult {
  if (!r.ok) throw new Error(`run failed: ${r.error.name}: ${r.error.message} (cache: ${JSON.stringify(r.cacheErrors)})`);
  return r.value;
}

test('greedy continuation through the verified cache equals the reference; a reload fetches nothing', async ({ page }, info) => {
  const errors = watchErrors(page);
  const requests = watchRequests(page);
  const { bad, good } = await gateways();
  await open(page);
  const first = value(await run(page, [bad.url, good.url]));
  expect(first.tokens).toEqual(ref.generated_tokens);
  expect(first.text).toBe(ref.text);
  expect(first.loads.map((l) => l.path).sort()).toEqual(FILES);
  for (const l of first.loads) {
    expect(l.blocksFromStore).toBe(0);
    expect(Object.keys(l.sources)).toEqual([good.url]); // corrupted blocks were refused, never stored
  }
  expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
  const served = good.stats.blocksServed;
  expect(served).toBe(first.loads.reduce((a, l) => a + l.blocksFetched, 0));
  // The only fetches transformers.js made itself: onnxruntime-web's wasm and its factory, from our origin.
  expect(first.allowed.some((u) => u.endsWith('.wasm'))).toBe(true);
  expect(first.allowed.every((u) => u.includes('/assets/ort-wasm-simd-threaded.asyncify-'))).toBe(true);
  expect(first.refused).toEqual([]);
  await expect(page.locator('#status')).toHaveText('done');
  await artifact(page, info, 'onnx-generated');

  await page.reload();
  await expect(page.locator('#status')).toHaveText('ready');
  const again = value(await run(page, [bad.url, good.url]));
  expect(again.tokens).toEqual(ref.generated_tokens);
  for (const l of again.loads) expect(l).toMatchObject({ blocksFetched: 0, sources: { store: expect.any(Number) } });
  expect(good.stats.blocksServed).toBe(served); // no block fetched twice
  expect(outside(requests)).toEqual([]);
  expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  info.annotations.push({ type: 'seconds', description: `first ${first.seconds.toFixed(2)} s, from IndexedDB ${again.seconds.toFixed(2)} s` });
});

test('only a corrupting gateway: no byte reaches transformers.js, the cause is an IntegrityError', async ({ page }) => {
  const requests = watchRequests(page);
  const { bad } = await gateways();
  await open(page);
  const r = await run(page, [bad.url], 4);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  // transformers.js swallows a cache's error and reports the file as missing; the cache kept the cause.
  expect(r.error.name).toBe('ModelFileNotFoundError');
  expect(r.cacheErrors.length).toBeGreaterThan(0);
  for (const e of r.cacheErrors) {
    expect(e.name).toBe('AllGatewaysFailedError');
    expect(e.message).toMatch(/IntegrityError: block \S+ from http:\/\/127\.0\.0\.1:\d+ does not match its CID/);
  }
  const stats = await page.evaluate(() => (window as unknown as { tabshardOnnx: { stats(): Promise<{ blocks: number }> } }).tabshardOnnx.stats());
  expect(stats.blocks).toBe(0);
  expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
  expect(outside(requests)).toEqual([]);
  expect(entry.kind).toBe('transformers.js');
});
