// `npm run matrix`: the cross-browser compatibility matrix. Builds the app, serves it with the demo
// model (scripts/serve.ts), then drives the kernel-check page and the bench page (quick run) in
// Chromium and Firefox (Playwright) and the bench page's CPU path in WebKitGTK (WebDriver under
// xvfb-run), and writes engine × feature × kernel (pass/fail and figures) to
// bench/results/matrix-<date>.json and .html (and matrix-latest.*). Flags: --no-build, --only=chromium,firefox,webkit.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { chromium, firefox, type Browser } from 'playwright-core';
import { Builder } from 'selenium-webdriver';
import { build } from 'vite';
import { chromiumArgs, firefoxPrefs } from '../playwright.config.ts';
import { serve } from './serve.ts';
import { matrixRows, renderMatrixHtml, type EngineRun } from './matrix-report.ts';

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',') ?? ['chromium', 'firefox', 'webkit'];
const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

async function pageResult(browser: Browser, url: string, global: string, timeoutMs: number): Promise<{ value: unknown; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  try {
    await page.goto(url);
    const h = await page.waitForFunction((g) => (window as unknown as Record<string, unknown>)[g], global, { timeout: timeoutMs });
    return { value: await h.jsonValue(), errors };
  } catch (err) {
    return { value: { error: { name: (err as Error).name, message: (err as Error).message } }, errors };
  } finally {
    await page.close();
  }
}

async function playwrightEngine(name: 'chromium' | 'firefox', base: string): Promise<EngineRun> {
  const browser = name === 'chromium'
    ? await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs })
    : await firefox.launch({
        channel: 'moz-firefox',
        executablePath: '/usr/bin/firefox-esr', firefoxUserPrefs: firefoxPrefs,
        env: { ...process.env, VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' } as Record<string, string>,
      });
  try {
    console.log(`${name}: kernel checks…`);
    const checks = await pageResult(browser, `${base}e2e/pages/kernels.html`, '__kernelChecks', 300_000);
    console.log(`${name}: bench page (quick)…`);
    const bench = await pageResult(browser, `${base}bench.html?auto&quick`, '__benchResult', 540_000);
    return { engine: name, version: browser.version(), checks: checks.value, bench: bench.value, errors: [...checks.errors, ...bench.errors] };
  } finally {
    await browser.close();
  }
}

async function webkitEngine(base: string): Promise<EngineRun> {
  const port = await freePort();
  // xvfb-run gives the driver (and the MiniBrowser it starts) a display.
  const wd: ChildProcess = spawn('xvfb-run', ['-a', '/usr/bin/WebKitWebDriver', `--port=${port}`], { stdio: 'ignore', detached: true });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/status`)).ok) break;
      } catch {
        if (i > 100) throw new Error('WebKitWebDriver did not start');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', args: ['--automation'] },
    }).build();
    try {
      console.log('webkit: bench page (CPU path)…');
      await driver.get(`${base}bench.html?auto&quick`);
      await driver.wait(async () => (await driver.executeScript('return !!window.__benchResult')) === true, 300_000);
      const bench = await driver.executeScript('return window.__benchResult');
      const errors = (await driver.executeScript('return window.__tabshardErrors')) as string[];
      const caps = (await driver.getCapabilities()).get('browserVersion') as string | undefined;
      return { engine: 'webkit', version: caps ?? 'WebKitGTK', checks: { skipped: 'no WebGPU' }, bench, errors };
    } finally {
      await driver.quit().catch(() => undefined);
    }
  } finally {
    if (wd.pid) process.kill(-wd.pid, 'SIGTERM');
  }
}

async function main(): Promise<void> {
  if (!args.includes('--no-build')) await build({ logLevel: 'warn' });
  const port = await freePort();
  const { gateway } = await serve(port);
  const base = `http://localhost:${port}/`;
  const runs: EngineRun[] = [];
  try {
    for (const name of only) {
      try {
        runs.push(name === 'webkit' ? await webkitEngine(base) : await playwrightEngine(name as 'chromium' | 'firefox', base));
      } catch (err) {
        runs.push({ engine: name, version: '?', checks: undefined, bench: { error: { name: (err as Error).name, message: (err as Error).message } }, errors: [] });
      }
    }
  } finally {
    await gateway.close();
  }
  const rows = matrixRows(runs, ref.generated_text_only);
  const date = new Date().toISOString();
  const doc = { schema: 'tabshard-matrix/1', date, engines: runs.map((r) => ({ engine: r.engine, version: r.version, errors: r.errors })), rows, raw: runs };
  mkdirSync('bench/results', { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  for (const name of [`matrix-${stamp}`, 'matrix-latest']) {
    writeFileSync(`bench/results/${name}.json`, JSON.stringify(doc, null, 2));
    writeFileSync(`bench/results/${name}.html`, renderMatrixHtml(doc));
  }
  const failed = rows.filter((r) => r.status === 'fail');
  console.log(`matrix: ${rows.length} cells, ${rows.filter((r) => r.status === 'pass').length} pass, ${failed.length} fail, ${rows.filter((r) => r.status === 'n/a').length} n/a`);
  for (const f of failed) console.log(`  FAIL ${f.engine} ${f.feature}${f.kernel ? ` ${f.kernel}` : ''}: ${f.detail ?? ''}`);
  console.log(`wrote bench/results/matrix-${stamp}.json and .html`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
