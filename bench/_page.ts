// The built bench page (dist/bench.html) in a headless browser, served from loopback: runs the
// given suites and returns the page's report (window.__benchResult). Firefox runs WebGPU on Mesa
// lavapipe here (shader-f16), Chromium on SwiftShader.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { chromium, firefox } from 'playwright-core';
import { serveStatic } from '../src/store/static-files.ts';
import { chromiumArgs, firefoxPrefs } from '../playwright.config.ts';
import type { BenchReport } from '../src/ui/bench-run.ts';

/** dist/ on a loopback port (close the server when done). */
export async function serveDist(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void serveStatic('dist', new URL(req.url ?? '/', 'http://x').pathname, req, res).then((done) => {
      if (!done) res.writeHead(404).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, port: (server.address() as { port: number }).port };
}

export async function benchPage(name: string | undefined, suites: string[], quick: boolean): Promise<{ browser: string; version: string; report: BenchReport }> {
  if (name !== 'firefox' && name !== 'chromium') throw new Error('--browser takes firefox or chromium');
  if (!existsSync('dist/bench.html')) throw new Error('run `npm run build` first');
  const { server, port } = await serveDist();
  const browser = name === 'chromium'
    ? await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs })
    : await firefox.launch({
        channel: 'moz-firefox',
        executablePath: '/usr/bin/firefox-esr',
        firefoxUserPrefs: firefoxPrefs,
        env: { ...process.env, VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' } as Record<string, string>,
      });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.log(`[page error] ${m.text()}`);
    });
    await page.goto(`http://localhost:${port}/bench.html?auto&suites=${suites.join(',')}${quick ? '&quick' : ''}`);
    const h = await page.waitForFunction(() => (window as unknown as { __benchResult?: unknown }).__benchResult, undefined, { timeout: 1_800_000, polling: 1000 });
    const report = (await h.jsonValue()) as BenchReport & { error?: string };
    if (report.error) throw new Error(report.error);
    return { browser: browser.browserType().name(), version: browser.version(), report };
  } finally {
    await browser.close();
    server.close();
  }
}
