// WebKitGTK (Safari's engine) through WebDriver: WebKitWebDriver + MiniBrowser, run under
// `xvfb-run -a`. WebKitGTK here has no WebGPU and no WebRTC, so it tests the CPU fallback path.
// Serves the built app (dist/) and the demo model through the local gateway (scripts/serve.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { webkitCases } from './cases.ts';
import { chatCases } from './chat-cases.ts';

const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${url} did not come up in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr?.on('data', (d: Buffer) => process.env.TABSHARD_DEBUG && process.stderr.write(d));
  return p;
}

async function main(): Promise<number> {
  const appPort = await freePort();
  const wdPort = await freePort();
  const procs: ChildProcess[] = [];
  let driver: WebDriver | undefined;
  let passed = 0;
  let failed = 0;
  try {
    procs.push(start('node', ['scripts/serve.ts', String(appPort)]));
    procs.push(start('/usr/bin/WebKitWebDriver', [`--port=${wdPort}`]));
    const base = `http://localhost:${appPort}/`;
    await waitForHttp(base, 30_000);
    await waitForHttp(`http://127.0.0.1:${wdPort}/status`, 30_000);
    driver = await new Builder()
      .usingServer(`http://127.0.0.1:${wdPort}`)
      .withCapabilities({
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
      })
      .build();
    // TABSHARD_WEBKIT_FILTER (a substring of a case's name) runs only the cases that match.
    const only = process.env.TABSHARD_WEBKIT_FILTER;
    for (const c of [...webkitCases, ...chatCases].filter((k) => !only || k.name.includes(only))) {
      const t0 = Date.now();
      try {
        await c.run(driver, base);
        passed++;
        console.log(`  ✓ [webkit] ${c.name} (${Date.now() - t0} ms)`);
      } catch (err) {
        failed++;
        console.log(`  ✘ [webkit] ${c.name}\n    ${(err as Error).stack ?? err}`);
      }
    }
  } finally {
    await driver?.quit().catch(() => undefined);
    for (const p of procs) p.kill('SIGTERM');
  }
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/webkit.json', JSON.stringify({ passed, failed }));
  console.log(`webkit: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
