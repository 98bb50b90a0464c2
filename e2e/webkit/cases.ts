// The WebKitGTK cases. Assertions use node:assert; the page's own error log (window.__tabshardErrors,
// set up in index.html before any module runs) stands in for console listening, which WebDriver lacks.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { By, until, type WebDriver } from 'selenium-webdriver';

export interface WebkitCase {
  name: string;
  run(driver: WebDriver, base: string): Promise<void>;
}

export async function screenshot(driver: WebDriver, name: string): Promise<void> {
  mkdirSync('e2e/artifacts', { recursive: true });
  writeFileSync(`e2e/artifacts/webkit-${name}.png`, await driver.takeScreenshot(), 'base64');
}


/** Run a function on an element found through the app's shadow roots; returns its result. */
export async function onShadow<T>(driver: WebDriver, selector: string, body: string): Promise<T> {
  return driver.executeScript(
    `function find(root, sel) {
       const hit = root.querySelector(sel); if (hit) return hit;
       for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = find(el.shadowRoot, sel); if (f) return f; }
       return null;
     }
     const el = find(document, arguments[0]);
     if (!el) return null;
     ${body}`,
    selector,
  );
}

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

export const webkitCases: WebkitCase[] = [
  {
    name: 'the app loads the demo model from the gateway and generates the reference text on the WASM CPU path',
    async run(driver, base) {
      await driver.get(base);
      await driver.wait(async () => (await onShadow<boolean>(driver, '[data-testid=load]', 'return !el.disabled;')) === true, 30_000);
      await onShadow(driver, '[data-testid=load]', 'el.click(); return true;');
      await driver.wait(async () => (await onShadow<string>(driver, '[data-testid=model-info]', 'return el.getAttribute("data-backend");')) !== null, 90_000);
      const backend = await onShadow<string>(driver, '[data-testid=model-info]', 'return el.getAttribute("data-backend");');
      assert.equal(backend, 'cpu');
      // The load line names the WASM CPU path and why auto took it (no navigator.gpu in WebKitGTK).
      const line = await onShadow<string>(driver, '[data-testid=model-info]', 'return el.textContent;');
      console.log(`  load line: ${line.replace(/\s+/g, ' ').trim()}`);
      assert.match(line, /on CPU \(WASM SIMD128, \d+ threads?\)/);
      assert.match(line, /auto: CPU \(WASM SIMD128[^)]*\): no WebGPU here/);
      await onShadow(driver, '[data-testid=generate]', 'el.click(); return true;');
      await driver.wait(async () => (await onShadow<string>(driver, '[data-testid=stats]', 'return el.textContent;')) !== null, 90_000);
      const text = await onShadow<string>(driver, '[data-testid=output]', 'return el.textContent;');
      assert.equal(text, ref.generated_text_only);
      const errors = (await driver.executeScript('return window.__tabshardErrors')) as string[];
      assert.deepEqual(errors, []);
      await screenshot(driver, 'app-generated');
    },
  },
  {
    name: 'the app reports no WebGPU and the CPU path, with no uncaught errors',
    async run(driver, base) {
      await driver.get(base);
      await driver.wait(until.elementLocated(By.css('tabshard-app')), 20_000);
      let text: string | null = null;
      await driver.wait(async () => {
        text = await onShadow<string | null>(driver, '[data-testid=caps-status]', "return el.getAttribute('data-backend') + '|' + el.textContent;");
        return text !== null && !text.includes('Checking');
      }, 30_000);
      const [backend, content] = (text as unknown as string).split('|');
      assert.equal(backend, 'cpu');
      assert.match(content, /WebGPU: no/);
      assert.match(content, /navigator\.gpu is absent/);
      assert.match(content, /Backend in use: CPU/);
      const hasGpu = await driver.executeScript('return "gpu" in navigator');
      assert.equal(hasGpu, false, 'this WebKitGTK build was expected to lack navigator.gpu');
      const errors = (await driver.executeScript('return window.__tabshardErrors')) as string[];
      assert.deepEqual(errors, []);
      await screenshot(driver, 'caps');
    },
  },
  {
    name: 'the storage panel lists the stored model with its size, and evict removes it (CPU path, IndexedDB)',
    async run(driver, base) {
      await driver.get(base);
      await driver.wait(async () => (await onShadow<boolean>(driver, '[data-testid=load]', 'return !el.disabled;')) === true, 30_000);
      await onShadow(driver, '[data-testid=load]', 'el.click(); return true;');
      await driver.wait(async () => (await onShadow<string>(driver, '[data-testid=model-info]', 'return el.textContent;')) !== null, 90_000);
      await onShadow(driver, '[data-testid=refresh-storage]', 'el.click(); return true;');
      await driver.wait(async () => ((await onShadow<string>(driver, '[data-testid=stored-model]', 'return el.textContent;')) ?? '').includes('stories260k@1.0.0'), 20_000);
      const row = await onShadow<string>(driver, '[data-testid=stored-model]', 'return el.textContent;');
      assert.match(row, /1\.0 MiB/);
      await screenshot(driver, 'storage');
      await onShadow(driver, '[data-testid=evict]', 'el.click(); return true;');
      await driver.wait(async () => (await onShadow<string>(driver, '[data-testid=no-models]', 'return el.textContent;')) !== null, 20_000);
      const msg = await onShadow<string>(driver, '[data-testid=storage-message]', 'return el.textContent;');
      assert.match(msg, /Evicted stories260k@1\.0\.0/);
      const errors = (await driver.executeScript('return window.__tabshardErrors')) as string[];
      assert.deepEqual(errors, []);
      await screenshot(driver, 'evicted');
    },
  },
  {
    name: 'two <tabshard-chat> widgets on embed.html share one CPU model and stream an answer',
    async run(driver, base) {
      await driver.get(`${base}embed.html`);
      const status = (id: string) => driver.executeScript<string | null>(
        `const w = document.querySelector(arguments[0]); return w && w.shadowRoot && w.shadowRoot.querySelector('[data-testid=widget-status]')?.getAttribute('data-status');`, id);
      await driver.wait(async () => (await status('#story-a')) === 'ready' && (await status('#story-b')) === 'ready', 90_000);
      const info = await driver.executeScript<Array<{ loads: number; backend: string }>>(
        `return ['#story-a', '#story-b'].map((s) => { const i = document.querySelector(s).info; return { loads: i.loads, backend: i.backend }; });`);
      assert.deepEqual(info, [{ loads: 1, backend: 'cpu' }, { loads: 1, backend: 'cpu' }]);
      await driver.executeScript(`document.querySelector('#story-a').shadowRoot.querySelector('[data-testid=widget-send]').click();`);
      const answer = () => driver.executeScript<string>(`return document.querySelector('#story-a').shadowRoot.querySelector('[data-testid=widget-answer]').textContent;`);
      await driver.wait(async () => (await status('#story-a')) === 'ready' && (await answer()).length > 20, 60_000);
      const text = await answer();
      assert.ok(ref.generated_text_only.startsWith(text), `widget answer ${JSON.stringify(text)} is not a prefix of the reference`);
      const errors = (await driver.executeScript('return window.__tabshardErrors')) as string[];
      assert.deepEqual(errors, []);
      await screenshot(driver, 'embed');
    },
  },
];
