// Sharing through the app itself (index.html, not a test page) across two engines over WebRTC,
// inside the network namespace run.sh makes: a Chromium tab loads the demo model, answers once on
// its own, opens a Share room for "other devices" (WebRTC through the relay); a Firefox page opens
// the join link, lends its memory on the CPU backend and loads only its layers; a Chromium helper
// tab joins the same way (so someone is left to take over). The 60-token greedy answer across the
// room equals the single-device text; the map shows each link's measured round trip and bandwidth;
// the Firefox page closed mid-answer is re-planned and the answer completes with the same text.
// `shardDelay` (carried by the join link's query) slows the helpers' layers calls so the answer
// lasts long enough to close a page in the middle of it.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchBrowsers, ref } from './harness.ts';

const RELAY = `ws://127.0.0.1:${Number(process.env.TABSHARD_RELAY_PORT ?? 4280)}`;

let cr: Browser;
let ff: Browser;

test.beforeAll(async () => {
  ({ cr, ff } = await launchBrowsers());
});
test.afterAll(async () => { await cr?.close(); await ff?.close(); });

function logErrors(page: Page, who: string): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`[${who}] pageerror: ${e.name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`[${who}] console.error: ${m.text()}`); });
  return errors;
}

async function joinFrom(browser: Browser, link: string, who: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext()).newPage();
  const errors = logErrors(page, who);
  await page.goto(link);
  await expect(page.getByTestId('join-model')).toHaveText('stories260k@1.0.0');
  await expect(page.getByTestId('join-fits')).toContainText('5 of 5 layers');
  await page.getByTestId('join-backend').selectOption('cpu');
  await page.getByTestId('join-room').click();
  await expect(page.getByTestId('join-status')).toHaveAttribute('data-state', 'serving', { timeout: 60_000 });
  return { page, errors };
}

const mapTokens = async (page: Page): Promise<number> =>
  Number((await page.locator('tabshard-shard-map').getByTestId('tokens').textContent())?.match(/\d+/)?.[0] ?? 0);

test('the app shares the demo model with a Firefox page over WebRTC: the single-device answer, and the page closed mid-answer is re-planned', async () => {
  test.setTimeout(300_000);
  const coord = await (await cr.newContext()).newPage();
  const errors = logErrors(coord, 'coordinator');
  await coord.goto(`./?nosw&shardDelay=15&relay=${encodeURIComponent(RELAY)}`);
  await coord.getByTestId('load').click();
  await expect(coord.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await coord.getByTestId('generate').click();
  await expect(coord.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  const single = await coord.getByTestId('output').textContent();
  expect(single).toBe(ref.generated_text_only);

  await coord.getByTestId('transport-webrtc').check();
  await expect(coord.getByTestId('relay')).toHaveValue(RELAY);
  await coord.getByTestId('start-room').click();
  const map = coord.locator('tabshard-shard-map');
  const link = (await map.getByTestId('join-link').textContent())!;
  expect(link).toContain('transport=webrtc');
  expect(link).toContain(`relay=${encodeURIComponent(RELAY)}`);

  const fox = await joinFrom(ff, link, 'firefox');
  const helper = await joinFrom(cr, link, 'chromium helper');
  await expect(map.locator('tr.ready')).toHaveCount(2);
  const foxRow = map.locator('tr', { hasText: 'Firefox' });
  // Admission pinged the link: its round trip is measured before any plan.
  await expect(foxRow.locator('td.rtt')).toHaveText(/^\d+\.\d ms$/);

  await coord.getByTestId('new-chat').click();
  await coord.getByTestId('prompt').fill('Once upon a time');
  await coord.getByTestId('generate').click();
  await expect(coord.getByTestId('stats')).toBeVisible({ timeout: 120_000 });
  await expect(coord.getByTestId('output')).toHaveText(single!);
  await expect(coord.getByTestId('stats')).toContainText(`${ref.generated_tokens.length} tokens`);
  await expect(map.locator('tr.serving')).toHaveCount(2);
  // Each holds only its range, and the activations that crossed the link measured its bandwidth.
  const foxHolds = (await fox.page.getByTestId('holds').textContent())!;
  expect(foxHolds).toMatch(/Holding layers \d–\d of 5/);
  expect(foxHolds).not.toContain('layers 0–4');
  await expect(foxRow.locator('td.bandwidth')).not.toHaveText('–');
  console.log(`firefox: ${foxHolds}; ${await fox.page.getByTestId('join-blocks').textContent()}`);
  console.log(`map row: ${(await foxRow.textContent())?.replace(/\s+/g, ' ')}`);

  // Again, and the Firefox page goes away in the middle of the answer.
  const before = await mapTokens(coord);
  await coord.getByTestId('regenerate').click();
  await expect.poll(() => mapTokens(coord), { timeout: 60_000 }).toBeGreaterThan(before + 10);
  await fox.page.close({ runBeforeUnload: true });
  await expect(coord.getByTestId('stats')).toBeVisible({ timeout: 120_000 });
  await expect(coord.getByTestId('output')).toHaveText(single!);
  await expect(foxRow).toHaveClass(/lost/);
  await expect(coord.getByTestId('room-log')).toContainText('re-planned');
  await expect(helper.page.getByTestId('holds')).toContainText('Holding layers 0–4');
  expect([...errors, ...fox.errors, ...helper.errors]).toEqual([]);
});
