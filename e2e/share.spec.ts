// Sharing through the app itself (index.html, no test page): load the demo model, answer on this
// device, Share, open two helper tabs from the panel's button, each joins and the room plans a range
// for each; the 60-token greedy answer across the room equals the single-device one; a helper closed
// mid-answer is re-planned and the answer completes with the same text; a link with a wrong secret
// is refused with a visible message. Helpers run the CPU backend (chosen in their join form) and
// are slowed by ?shardDelay so an answer lasts long enough to close a tab in the middle of it.
// Gateway requests are counted per page and per block where they leave the browser (routes on
// /ipfs/): helper tabs sharing the coordinator's store request none; helpers with stores of their
// own (a `db=` in their link) request exactly the root, the header's blocks and their layers'.
import { readFileSync } from 'node:fs';
import { decode as decodePb } from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { expect, test, type APIRequestContext, type BrowserContext, type Page, type Route } from '@playwright/test';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };

test.beforeEach(({ browserName }) => test.skip(browserName !== 'chromium', 'tabs of one Chromium; the WebRTC suite covers Firefox'));

const mapTokens = async (page: Page): Promise<number> =>
  Number((await page.locator('tabshard-shard-map').getByTestId('tokens').textContent())?.match(/\d+/)?.[0] ?? 0);

/** Counts /ipfs/ requests (by block CID) per page, as they leave the browser. */
class GatewayCounter {
  readonly byPage = new Map<Page, Map<string, number>>();
  readonly handler = async (route: Route): Promise<void> => {
    let page: Page | undefined;
    try {
      page = route.request().frame().page();
    } catch {
      // a worker's request (the coordinator's loader): not a helper's
    }
    if (page) {
      const cid = new URL(route.request().url()).pathname.split('/')[2] ?? '';
      const m = this.byPage.get(page) ?? new Map<string, number>();
      m.set(cid, (m.get(cid) ?? 0) + 1);
      this.byPage.set(page, m);
    }
    await route.continue();
  };

  of(page: Page): Map<string, number> {
    return this.byPage.get(page) ?? new Map();
  }
}

/** The header's prefix the join panel reads first (readGgufHeader's initial 64 KiB). */
const HEADER_PREFIX = 64 * 1024;

/**
 * The blocks a helper holding layers [from, to) needs, worked out here from the file and the DAG
 * (not from the app's code): the root, and every leaf that overlaps the header's prefix or one of
 * the range's tensors. The demo file's DAG is one level (a root over 256 KiB raw leaves).
 */
async function blocksForLayers(request: APIRequestContext, root: string, from: number, to: number): Promise<{ want: Set<string>; total: number }> {
  const res = await request.get(`./ipfs/${root}?format=raw`);
  const node = decodePb(new Uint8Array(await res.body()));
  const sizes = UnixFS.unmarshal(node.Data!).blockSizes.map(Number);
  expect(sizes.length).toBe(node.Links.length);
  const gguf = parseGguf(new Uint8Array(readFileSync('public/models/stories260K.gguf')));
  const spans: Array<[number, number]> = [[0, HEADER_PREFIX]];
  for (const t of gguf.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) >= from && Number(m[1]) < to) spans.push([t.absoluteOffset, t.absoluteOffset + t.byteSize]);
  }
  const want = new Set([root]);
  let at = 0;
  node.Links.forEach((l, i) => {
    const end = at + sizes[i]!;
    if (spans.some(([a, b]) => a < end && b > at)) want.add(l.Hash.toString());
    at = end;
  });
  return { want, total: node.Links.length + 1 };
}

async function openHelper(context: BrowserContext, page: Page): Promise<Page> {
  const [helper] = await Promise.all([context.waitForEvent('page'), page.getByTestId('open-helper').click()]);
  await expect(helper.getByTestId('join-model')).toHaveText('stories260k@1.0.0');
  await expect(helper.getByTestId('join-fits')).toContainText('5 of 5 layers');
  await helper.getByTestId('join-backend').selectOption('cpu');
  await helper.getByTestId('join-room').click();
  await expect(helper.getByTestId('join-status')).toHaveAttribute('data-state', 'serving');
  return helper;
}

test('share the demo model with two helper tabs: the answer of one device, and a helper closed mid-answer is re-planned', async ({ context, page }, info) => {
  test.setTimeout(240_000);
  const errors = watchErrors(page);
  await page.goto('./?nosw&shardDelay=15');
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  const single = await page.getByTestId('output').textContent();
  expect(single).toBe(ref.generated_text_only);

  await page.getByTestId('start-room').click();
  const map = page.locator('tabshard-shard-map');
  await expect(map.getByTestId('qr')).toBeVisible();
  await expect(map.getByTestId('join-link')).toContainText('#room=');
  const counter = new GatewayCounter();
  await context.route('**/ipfs/**', counter.handler);
  const helpers = [await openHelper(context, page), await openHelper(context, page)];
  await page.bringToFront();
  await expect(map.locator('tr.ready')).toHaveCount(2);
  // Tabs of one browser share its store: the helpers read the header and their layers from it.
  for (const h of helpers) await expect(h.getByTestId('join-blocks')).toHaveAttribute('data-gateway', '0');

  await page.getByTestId('new-chat').click();
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('output')).toHaveText(single!);
  await expect(page.getByTestId('stats')).toContainText(`${ref.generated_tokens.length} tokens`);
  await expect(map.locator('tr.serving')).toHaveCount(2);
  await expect(page.getByTestId('room-log')).toContainText('planned: h-');
  for (const h of helpers) await expect(h.getByTestId('holds')).toContainText('Holding layers');
  // Counted where the requests leave the browser, not as the helpers report them: none at all.
  for (const h of helpers) expect([...counter.of(h).entries()]).toEqual([]);
  await artifact(page, info, 'share-two-helpers');

  // Again, and one helper goes away in the middle of the answer.
  const before = await mapTokens(page);
  await page.getByTestId('regenerate').click();
  await expect.poll(() => mapTokens(page), { timeout: 60_000 }).toBeGreaterThan(before + 10);
  await helpers[0]!.close({ runBeforeUnload: true });
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('output')).toHaveText(single!);
  await expect(map.locator('tr.lost')).toHaveCount(1);
  await expect(page.getByTestId('room-log')).toContainText('re-planned');
  await expect(helpers[1]!.getByTestId('holds')).toContainText('Holding layers 0–4');
  await artifact(page, info, 'share-replanned');
  expect(errors).toEqual([]);
});

test('a join link with a wrong secret is refused with a visible message', async ({ context, page }) => {
  await page.goto('./?nosw');
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('start-room').click();
  const link = await page.locator('tabshard-shard-map').getByTestId('join-link').textContent();
  const bad = await context.newPage();
  await bad.goto(link!.replace(/secret=[0-9a-f]+/, 'secret=guessed-secret-0000'));
  await bad.getByTestId('join-room').click();
  await expect(bad.getByTestId('join-status')).toHaveAttribute('data-state', 'refused');
  await expect(bad.getByTestId('join-status')).toContainText('refused');
  await page.bringToFront();
  await expect(page.locator('tabshard-shard-map').locator('tr.refused')).toHaveCount(1);
});

test('helpers with stores of their own fetch from the gateway only the header\'s and their layers\' blocks, each once', async ({ context, page, request }) => {
  test.setTimeout(240_000);
  const errors = watchErrors(page);
  await page.goto('./?nosw');
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  const single = await page.getByTestId('output').textContent();
  await page.getByTestId('start-room').click();
  const link = new URL((await page.locator('tabshard-shard-map').getByTestId('join-link').textContent())!.trim());
  const root = new URLSearchParams(link.hash.slice(1)).get('model')!;

  const counter = new GatewayCounter();
  await context.route('**/ipfs/**', counter.handler);
  const helpers: Page[] = [];
  for (const name of ['own-a', 'own-b']) {
    // Another database name: this tab's store is empty, as another device's would be.
    const u = new URL(link);
    u.searchParams.set('db', `${name}-${Date.now()}`);
    const h = await context.newPage();
    await h.goto(u.toString());
    await expect(h.getByTestId('join-fits')).toContainText('5 of 5 layers');
    await h.getByTestId('join-backend').selectOption('cpu');
    await h.getByTestId('join-room').click();
    await expect(h.getByTestId('join-status')).toHaveAttribute('data-state', 'serving');
    helpers.push(h);
  }
  await page.bringToFront();
  await page.getByTestId('new-chat').click();
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('output')).toHaveText(single!);

  const ranges: string[] = [];
  for (const h of helpers) {
    const held = (await h.getByTestId('holds').textContent())!.match(/Holding layers (\d+)–(\d+) of 5/);
    expect(held).not.toBeNull();
    const [from, to] = [Number(held![1]), Number(held![2]) + 1];
    ranges.push(`${from}-${to}`);
    const { want, total } = await blocksForLayers(request, root, from, to);
    // Demo file: 5 leaves of 256 KiB; layers 0–2 need leaves 0–2, layers 3–4 leaves 0 and 2–4.
    expect(want.size, 'a range needs fewer blocks than the whole file').toBeLessThan(total);
    const got = counter.of(h);
    // Exactly those blocks (a block of another range fetched would be waste; one missing, a hole).
    expect([...got.keys()].sort()).toEqual([...want].sort());
    // Each once: verified blocks are kept, so the range load after the header reads them locally.
    for (const [cid, n] of got) expect(`${cid} x${n}`).toBe(`${cid} x1`);
    // What the panel says it fetched is what left the browser.
    await expect(h.getByTestId('join-blocks')).toHaveAttribute('data-gateway', String(got.size));
  }
  // The two ranges differ, so the two sets do: the check is not the whole file twice.
  expect(ranges.sort()).toEqual(['0-3', '3-5']);
  expect(counter.of(helpers[0]!)).not.toEqual(counter.of(helpers[1]!));
  expect(errors).toEqual([]);
});
