// The embeddable <tabshard-chat> on a page that is not ours (dist/embed.html: plain HTML, one
// script tag, two widgets and a sandboxed iframe with a third): both widgets share one engine and
// one loaded model (one load, by the engine's own count), answers stream as `token` events, and the
// framed widget works without IndexedDB or workers (in-memory store, engine on the frame's thread).
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

interface WidgetEl extends HTMLElement {
  info?: { loads: number; backend: string; label: string };
}

test('two widgets on a plain page share one model; answers stream; a sandboxed frame works in memory', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./embed.html');
  const a = page.locator('#story-a');
  const b = page.locator('#story-b');
  await expect(a.getByTestId('widget-status')).toHaveAttribute('data-status', 'ready', { timeout: 50_000 });
  await expect(b.getByTestId('widget-status')).toHaveAttribute('data-status', 'ready', { timeout: 50_000 });
  const loads = await page.evaluate(() => ['#story-a', '#story-b'].map((s) => (document.querySelector(s) as WidgetEl).info?.loads));
  expect(loads).toEqual([1, 1]);

  // Count streamed tokens and take the final result from the events a host page would use.
  await page.evaluate(() => {
    const w = window as unknown as { __tokens: number; __done: string[] };
    w.__tokens = 0;
    w.__done = [];
    document.addEventListener('token', () => w.__tokens++);
    document.addEventListener('done', (e) => w.__done.push((e as CustomEvent<{ text: string }>).detail.text));
  });
  await a.getByTestId('widget-send').click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { __done: string[] }).__done.length), { timeout: 40_000 }).toBe(1);
  const answer = await a.getByTestId('widget-answer').textContent();
  expect(answer && answer.length > 20 && ref.generated_text_only.startsWith(answer)).toBeTruthy();
  expect(await page.evaluate(() => (window as unknown as { __tokens: number }).__tokens)).toBeGreaterThan(10);

  await b.getByTestId('widget-send').click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { __done: string[] }).__done.length), { timeout: 40_000 }).toBe(2);
  await expect(b.getByTestId('widget-answer')).not.toBeEmpty();
  // Still the one load: widget B generated with the model widget A's page-load brought in.
  // Asked of the shared engine itself (a string: widget.js exists only in the built page).
  const engineLoads = await page.evaluate<number | undefined>(`import('./widget.js').then((m) => m.sharedEngine(undefined)).then((e) => e.info()).then((i) => i && i.loads)`);
  expect(engineLoads).toBe(1);

  // The sandboxed frame: opaque origin, so no IndexedDB and no worker; it still answers.
  const frame = page.frameLocator('iframe');
  const framed = frame.locator('#framed');
  await expect(framed.getByTestId('widget-status')).toHaveAttribute('data-status', 'ready', { timeout: 50_000 });
  await framed.getByTestId('widget-send').click();
  await expect(framed.getByTestId('widget-answer')).not.toBeEmpty({ timeout: 40_000 });
  await expect(framed.getByTestId('widget-status')).toHaveAttribute('data-status', 'ready', { timeout: 40_000 });
  const framedAnswer = await framed.getByTestId('widget-answer').textContent();
  expect(framedAnswer && framedAnswer.length > 10 && ref.generated_text_only.startsWith(framedAnswer)).toBeTruthy();
  const origin = await page.frames()[1]!.evaluate(() => self.origin);
  expect(origin).toBe('null');
  await artifact(page, info, 'embed');
  expect(errors).toEqual([]);
});
