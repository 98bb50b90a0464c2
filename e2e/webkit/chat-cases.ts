// The WebKitGTK chat case (CPU backend): a short conversation with a system prompt in the app, the
// second turn reusing the KV cache, then the saved conversation listed and shown again after a reload.
import assert from 'node:assert/strict';
import type { WebDriver } from 'selenium-webdriver';
import { onShadow, screenshot, type WebkitCase } from './cases.ts';

/** Texts of every element matching `selector` in the app's shadow roots, in document order. */
function allTexts(driver: WebDriver, selector: string): Promise<string[]> {
  return driver.executeScript(
    `const sel = arguments[0];
     const out = [];
     (function walk(root) {
       for (const el of root.querySelectorAll('*')) {
         if (el.matches(sel)) out.push(el.textContent);
         if (el.shadowRoot) walk(el.shadowRoot);
       }
     })(document);
     return out;`,
    selector,
  );
}

/** Set a field's value as typing would (lit listens to `input`). */
function fill(driver: WebDriver, selector: string, value: string): Promise<unknown> {
  return onShadow(driver, selector, `el.value = ${JSON.stringify(value)}; el.dispatchEvent(new Event('input', { bubbles: true, composed: true })); return true;`);
}

async function loadModel(driver: WebDriver): Promise<void> {
  await driver.wait(async () => (await onShadow<boolean>(driver, '[data-testid=load]', 'return !el.disabled;')) === true, 30_000);
  await onShadow(driver, '[data-testid=load]', 'el.click(); return true;');
  await driver.wait(async () => (await onShadow<string>(driver, '[data-testid=model-info]', 'return el.getAttribute("data-backend");')) !== null, 90_000);
}

/** Send a message as turn `n` and wait for its answer's stats; returns [reused, prompt] tokens. */
async function ask(driver: WebDriver, prompt: string, n: number): Promise<[number, number]> {
  await fill(driver, '[data-testid=prompt]', prompt);
  await onShadow(driver, '[data-testid=generate]', 'el.click(); return true;');
  await driver.wait(async () => (await allTexts(driver, '[data-testid=user-message]')).length === n
    && (await onShadow<string>(driver, '[data-testid=stats]', 'return el.textContent;')) !== null
    && (await onShadow<boolean>(driver, '[data-testid=generate]', 'return !el.disabled;')) === true, 90_000);
  const stats = await onShadow<string>(driver, '[data-testid=stats]', 'return el.textContent;');
  const m = /(\d+) of (\d+) prompt tokens reused/.exec(stats);
  assert.ok(m, `stats name the reused tokens: ${stats}`);
  return [Number(m[1]), Number(m[2])];
}

export const chatCases: WebkitCase[] = [
  {
    name: 'a conversation with a system prompt on the CPU backend: turn 2 reuses the KV cache; saved, it is listed and shown after a reload',
    async run(driver, base) {
      // A database of its own: the conversation list holds this run's conversation only.
      await driver.get(`${base}?db=webkit-chat-${Date.now()}`);
      await loadModel(driver);
      await fill(driver, '[data-testid=system]', 'Tell a short story for children.');
      await fill(driver, '#max-tokens', '8');
      const [r1] = await ask(driver, 'Once upon a time', 1);
      const [r2, p2] = await ask(driver, 'The next day', 2);
      assert.equal(r1, 0);
      assert.ok(r2 > p2 / 2, `turn 2 reused ${r2} of ${p2} prompt tokens`);
      const answers = await allTexts(driver, '[data-testid=turn], [data-testid=output]');
      assert.equal(answers.length, 2);
      assert.ok(answers.every((a) => a.length > 0));
      await screenshot(driver, 'chat');

      await driver.navigate().refresh();
      await driver.wait(async () => (await allTexts(driver, '[data-testid=conversation]')).length === 1, 30_000);
      await onShadow(driver, '[data-testid=conversation-open]', 'el.click(); return true;');
      await driver.wait(async () => (await allTexts(driver, '[data-testid=user-message]')).length === 2, 20_000);
      assert.deepEqual(await allTexts(driver, '[data-testid=turn], [data-testid=output]'), answers);
      assert.equal(await onShadow<string>(driver, '[data-testid=system]', 'return el.value;'), 'Tell a short story for children.');
      const errors = (await driver.executeScript('return window.__tabshardErrors')) as string[];
      assert.deepEqual(errors, []);
    },
  },
];
