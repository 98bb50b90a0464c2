// Sharing through the app itself (index.html, no test page): load the demo model, answer on this
// device, Share, open two helper tabs from the panel's button, each joins and the room plans a range
// for each; the 60-token greedy answer across the room equals the single-device one; a helper closed
// mid-answer is re-planned and the answer completes with the same text; a link with a wrong secret
// is refused with a visible message. Helpers run the CPU backend (chosen in their join form) and
// are slowed by ?shardDelay so an answer lasts long enough to close a tab in the middle of it.
import { readFileSync } from 'node:fs';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };

test.beforeEach(({ browserName }) => test.skip(browserName !== 'chromium', 'tabs of one Chromium; the WebRTC suite covers Firefox'));

const mapTokens = async (page: Page): Promise<number> =>
  Number((await page.locator('tabshard-shard-map').getByTestId('tokens').textContent())?.match(/\d+/)?.[0] ?? 0);

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
