// Conversations in the app (index.html) on the demo model, in each engine: three turns with a system
// prompt (turns 2 and 3 reuse the KV cache: tokens reused per turn), Copy, a saved conversation
// listed and continued after a reload, Edit of an earlier message, rename/new/delete; Stop keeps the
// partial answer; and markup in a model's answer (<script>, <img onerror>) is shown as text.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { CONVERSATIONS_STORE, conversationsDbName, type SavedConversation } from '../src/ui/conversations-store.ts';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

async function loadModel(page: Page): Promise<void> {
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
}

async function setMaxTokens(page: Page, n: number): Promise<void> {
  const box = page.locator('#max-tokens');
  if (!(await box.isVisible())) await page.getByText('Sampling settings').click();
  await box.fill(String(n));
}

/** Send a message as turn `n` (1-based) and wait for its answer; returns [reused, prompt] tokens. */
async function ask(page: Page, prompt: string, n: number): Promise<[number, number]> {
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('user-message')).toHaveCount(n);
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('generate')).toBeEnabled();
  const m = /(\d+) of (\d+) prompt tokens reused/.exec((await page.getByTestId('stats').textContent()) ?? '');
  expect(m, 'the stats name the reused tokens').toBeTruthy();
  return [Number(m![1]), Number(m![2])];
}

test('three turns with a system prompt reuse the KV cache; copy; saved, listed and continued after a reload; edit, rename, delete', async ({ page, browserName }, info) => {
  const errors = watchErrors(page);
  await page.goto('./');
  await expect(page.getByTestId('no-conversations')).toBeVisible();
  await loadModel(page);
  await page.getByTestId('system').fill('Tell a short story for children.');
  await setMaxTokens(page, 16);

  const [r1, p1] = await ask(page, 'Once upon a time', 1);
  const [r2, p2] = await ask(page, 'The next day', 2);
  const [r3, p3] = await ask(page, 'At night', 3);
  console.log(`[${browserName}] tokens reused per turn: ${r1}/${p1}, ${r2}/${p2}, ${r3}/${p3}`);
  expect(r1).toBe(0);
  // Each later turn computes only what is new: the system prompt and the earlier turns come from the cache.
  expect(r2).toBeGreaterThan(p1 / 2);
  expect(r3).toBeGreaterThan(p2 / 2);
  expect(p3).toBeGreaterThan(p2);
  await expect(page.getByTestId('turn-stats')).toHaveCount(2);
  await expect(page.getByTestId('conversation')).toHaveCount(1);
  await expect(page.getByTestId('conversation')).toContainText('3 turns');
  await expect(page.getByTestId('conversation-title')).toHaveText('Once upon a time');
  await artifact(page, info, 'chat-3-turns');

  // Copy the first answer.
  const first = (await page.getByTestId('turn').first().textContent()) ?? '';
  expect(first.length).toBeGreaterThan(0);
  if (browserName === 'chromium') await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByTestId('copy').first().click();
  await expect(page.getByTestId('copy').first()).toHaveText('Copied');
  if (browserName === 'chromium') expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(first);

  // After a reload the conversation is listed; opened, it shows its turns and system prompt, and
  // continues once its model is loaded again.
  const answers = await page.getByTestId('turn').allTextContents();
  await page.reload();
  await expect(page.getByTestId('conversation')).toHaveCount(1);
  await page.getByTestId('conversation-open').click();
  await expect(page.getByTestId('user-message')).toHaveCount(3);
  await expect(page.getByTestId('system')).toHaveValue('Tell a short story for children.');
  expect(await page.getByTestId('turn').allTextContents()).toEqual(answers);
  await expect(page.getByTestId('held-with')).toContainText('stories260k');
  await expect(page.getByTestId('generate')).toBeDisabled();
  await loadModel(page);
  await expect(page.getByTestId('held-with')).toHaveCount(0);
  await setMaxTokens(page, 16);
  const [, p4] = await ask(page, 'The end', 4);
  expect(p4).toBeGreaterThan(p3);
  await expect(page.getByTestId('conversation')).toContainText('4 turns');

  // Edit the second message: the turns after it go, the first turn's tokens are reused.
  await page.getByTestId('edit').nth(1).click();
  await page.getByTestId('edit-text').fill('A cat came by');
  await page.getByTestId('edit-save').click();
  await expect(page.getByTestId('user-message')).toHaveCount(2);
  await expect(page.getByTestId('user-message').nth(1)).toHaveText('A cat came by');
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('stats')).not.toContainText(/ 0 of \d+ prompt tokens reused/);
  await expect(page.getByTestId('conversation')).toContainText('2 turns');

  // Rename, start another, delete it.
  await page.getByTestId('conversation-rename').click();
  await page.getByTestId('conversation-title-input').fill('Lily and the cat');
  await page.getByTestId('conversation-title-input').press('Enter');
  await expect(page.getByTestId('conversation-title')).toHaveText('Lily and the cat');
  await page.getByTestId('new-chat').click();
  await expect(page.getByTestId('user-message')).toHaveCount(0);
  await ask(page, 'A bird', 1);
  await expect(page.getByTestId('conversation')).toHaveCount(2);
  await page.getByTestId('conversation-delete').first().click();
  await expect(page.getByTestId('conversation')).toHaveCount(1);
  await expect(page.getByTestId('conversation-title')).toHaveText('Lily and the cat');
  await expect(page.getByTestId('user-message')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('Stop mid-answer keeps the partial text, in the conversation and after a reload', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./');
  await loadModel(page);
  await setMaxTokens(page, 400);
  await page.getByTestId('prompt').fill('Once upon a time');
  await page.getByTestId('generate').click();
  // The demo model writes a token in milliseconds: Stop is pressed from inside the page, on the
  // first frame the answer has some text, so it lands mid-answer and not after the end.
  await page.evaluate(() => new Promise<void>((resolve, reject) => {
    const find = (root: Document | ShadowRoot, sel: string): HTMLElement | null => {
      const hit = root.querySelector<HTMLElement>(sel);
      if (hit) return hit;
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = find(el.shadowRoot, sel); if (f) return f; }
      return null;
    };
    const t0 = performance.now();
    const tick = (): void => {
      if ((find(document, '[data-testid=output]')?.textContent ?? '').length > 8) {
        find(document, '[data-testid=stop]')!.click();
        resolve();
      } else if (performance.now() - t0 > 60_000) reject(new Error('no answer text in 60 s'));
      else requestAnimationFrame(tick);
    };
    tick();
  }));
  await expect(page.getByTestId('stats')).toContainText('(abort)', { timeout: 60_000 });
  const partial = (await page.getByTestId('output').textContent()) ?? '';
  expect(partial.length).toBeGreaterThan(8);
  // Greedy, no system prompt: the partial answer is the start of the reference continuation.
  expect(ref.generated_text_only.startsWith(partial) || partial.startsWith(ref.generated_text_only)).toBeTruthy();
  await artifact(page, info, 'chat-stopped');

  await page.reload();
  await page.getByTestId('conversation-open').click();
  await expect(page.getByTestId('output')).toHaveText(partial);
  await expect(page.getByTestId('conversation')).toContainText('1 turn');
  expect(errors).toEqual([]);
});

test('markup in a model answer (<script>, <img onerror>) is shown as text, and the conversation continues', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./');
  await loadModel(page);
  const model = await page.evaluate(async () => {
    const i = await (globalThis as unknown as { __tabshardEngine: { info(): Promise<{ root: string; label: string }> } }).__tabshardEngine.info();
    return { root: i.root, label: i.label };
  });
  const answer = 'Here it is:\n```html\n<script>window.__pwned = 1</script>\n```\nand <img src=x onerror="window.__pwned = 2"> <b>bold</b>';
  const saved: SavedConversation = {
    id: 'markup', title: 'Markup', model, system: '', created: Date.now(), updated: Date.now(),
    turns: [{ prompt: 'Show me a script tag', text: answer }],
  };
  // An answer as the app keeps it: written into the saved conversations the app reads (once the app
  // has created their database).
  const db = conversationsDbName();
  await expect.poll(() => page.evaluate(async (name) => (await indexedDB.databases()).some((d) => d.name === name), db)).toBe(true);
  await page.evaluate(async ({ db, store, record }) => {
    const open = indexedDB.open(db);
    const d = await new Promise<IDBDatabase>((res, rej) => { open.onsuccess = () => res(open.result); open.onerror = () => rej(open.error); });
    const tx = d.transaction(store, 'readwrite');
    tx.objectStore(store).put(record);
    await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
    d.close();
  }, { db, store: CONVERSATIONS_STORE, record: saved });
  await page.reload();
  await page.getByTestId('conversation-open').click();
  const out = page.getByTestId('output');
  await expect(out).toHaveText(answer.replace('```html\n', '').replace('\n```', ''));
  await expect(out.locator('pre.code')).toHaveText('<script>window.__pwned = 1</script>');
  await expect(out.locator('script, img, b')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  await loadModel(page);
  await setMaxTokens(page, 8);
  await ask(page, 'Once upon a time', 2);
  await expect(page.getByTestId('turn')).toHaveCount(1);
  await expect(page.getByTestId('turn').locator('script, img, b')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await artifact(page, info, 'chat-markup');
  expect(errors).toEqual([]);
});

test('the widget: a system attribute, a conversation property to set and read, markup in an answer shown as text', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('./embed.html');
  const a = page.locator('#story-a');
  await expect(a.getByTestId('widget-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  // Continue a conversation the host page kept: its answer carries markup, which must stay text.
  await page.evaluate(() => {
    const w = document.querySelector('#story-a') as HTMLElement & { conversation: unknown; maxTokens: number };
    w.setAttribute('system', 'Tell a short story for children.');
    w.maxTokens = 8;
    w.conversation = [
      { role: 'user', content: 'Show me a script tag' },
      { role: 'assistant', content: '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">' },
    ];
  });
  const markup = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
  await expect(a.locator('ol.turns li')).toHaveText(['Show me a script tag']);
  await expect(a.getByTestId('widget-answer')).toHaveText(markup);
  await expect(a.getByTestId('widget-answer').locator('script, img')).toHaveCount(0);

  await a.locator('textarea').fill('Once upon a time');
  await a.getByTestId('widget-send').click();
  await expect(a.getByTestId('widget-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(a.getByTestId('widget-answer')).not.toBeEmpty();
  const conversation = await page.evaluate(() => (document.querySelector('#story-a') as HTMLElement & { conversation: Array<{ role: string }> }).conversation.map((m) => m.role));
  expect(conversation).toEqual(['user', 'assistant', 'user', 'assistant']);
  await expect(a.locator('ol.turns li')).toHaveText(['Show me a script tag', markup, 'Once upon a time']);
  await expect(a.locator('ol.turns').locator('script, img')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
});
