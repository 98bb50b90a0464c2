// <tabshard-helper> on a page that is not ours: the app's index.html loads the demo model, answers
// alone, and Shares it over tabs (BroadcastChannel); a plain HTML page (one script tag, two
// <tabshard-helper room="JOIN-LINK"> elements; the test serves it at /lend.html on the app's origin,
// as a site embedding the widget would) lends its device: one helper joins by itself (autojoin,
// backend from its attribute), the other when its Join button is pressed after choosing a backend in
// its form. The room plans a range for each, and the 60-token greedy answer across the two widgets
// equals the single-device text. One helper then leaves with its Leave button: the coordinator's
// map shows it lost, and the next answer, planned over the one left, is the same text again.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };

test.beforeEach(({ browserName }) => test.skip(browserName !== 'chromium', 'tabs of one Chromium, as e2e/share.spec.ts'));

const attr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** A plain page embedding two helpers for `link` (nothing of the app but widget.js). */
function lendPage(link: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A page that lends its visitors' devices</title>
<link rel="icon" href="data:,"><script type="module" src="./widget.js"></script></head><body>
<h1>Lend your device</h1>
<tabshard-helper id="auto" room="${attr(link)}" backend="cpu" label="embedded A" autojoin></tabshard-helper>
<tabshard-helper id="asked" room="${attr(link)}" label="embedded B"></tabshard-helper>
</body></html>`;
}

async function answer(page: Page): Promise<string | null> {
  await page.getByTestId('new-chat').click();
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('stats')).toContainText(`${ref.generated_tokens.length} tokens`);
  return page.getByTestId('output').textContent();
}

test('a plain page with <tabshard-helper> lends its device to the app\'s room: the answer of one device', async ({ context, page }, info) => {
  test.setTimeout(480_000); // 1.4-4 min on a loaded 2-core CI machine (two helper pages each calibrate and load)
  const errors = watchErrors(page);
  await page.goto('./?nosw');
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  const single = await page.getByTestId('output').textContent();
  expect(single).toBe(ref.generated_text_only);

  await page.getByTestId('start-room').click();
  const map = page.locator('tabshard-shard-map');
  const link = (await map.getByTestId('join-link').textContent())!.trim();
  expect(link).toContain('#room=');

  const lend = await context.newPage();
  const lendErrors = watchErrors(lend);
  await lend.route('**/lend.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: lendPage(link) }));
  await lend.goto('./lend.html');
  const auto = lend.locator('#auto');
  const asked = lend.locator('#asked');
  await expect(auto.getByTestId('helper-model')).toHaveText('stories260k@1.0.0');
  await expect(auto.getByTestId('helper-status')).toHaveAttribute('data-state', 'serving');
  // The second waits for its visitor: not in the room until Join.
  await expect(asked.getByTestId('helper-fits')).toContainText('5 of 5 layers');
  await expect(asked.getByTestId('helper-status')).toHaveCount(0);
  await asked.getByTestId('helper-backend').selectOption('cpu');
  await asked.getByTestId('helper-join').click();
  await expect(asked.getByTestId('helper-status')).toHaveAttribute('data-state', 'serving');
  // Tabs of one browser share its store: the header came from it, nothing from the gateway.
  for (const h of [auto, asked]) await expect(h.getByTestId('helper-blocks')).toHaveAttribute('data-gateway', '0');

  await page.bringToFront();
  await expect(map.locator('tr.ready')).toHaveCount(2);
  await expect(map).toContainText('embedded A');
  await expect(map).toContainText('embedded B');
  expect(await answer(page)).toBe(single);
  await expect(map.locator('tr.serving')).toHaveCount(2);
  // An even split over the two widgets (the panel's default: across every helper).
  const holds = [await auto.getByTestId('helper-holds').textContent(), await asked.getByTestId('helper-holds').textContent()];
  holds.sort();
  expect(holds[0]).toMatch(/^Holding layers 0–2 of 5 \(/);
  expect(holds[1]).toMatch(/^Holding layers 3–4 of 5 \(/);
  for (const h of [auto, asked]) await expect(h.getByTestId('helper-through')).not.toContainText(/^0 layers calls/);
  await artifact(lend, info, 'widget-helpers');

  // The visitor takes the device back: a goodbye, so the room re-plans over the one left.
  await asked.getByTestId('helper-leave').click();
  await expect(asked.getByTestId('helper-status')).toHaveAttribute('data-state', 'left');
  await page.bringToFront();
  await expect(map.locator('tr.lost')).toHaveCount(1);
  expect(await answer(page)).toBe(single);
  await expect(auto.getByTestId('helper-holds')).toContainText('Holding layers 0–4 of 5');
  await artifact(page, info, 'widget-helper-left');
  expect(errors).toEqual([]);
  expect(lendErrors).toEqual([]);
});
