// Quantized matvec bandwidth per weight type and shape, side by side in one run on one adapter;
// where the device has `shader-f16`, the f16 variant beside the f32 one as a time ratio.
// The measurement lives in src/gpu/bench/quant.ts, shared with the browser bench page.
//   npm run bench -- quant [--quick] [--big]            Dawn in Node (SwiftShader here: no shader-f16)
//   npm run bench -- quant --quick --browser firefox    the bench page (bench.html) in headless Firefox
//     on Mesa lavapipe, which offers shader-f16 here; needs `npm run build` first. Also: chromium.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium, firefox } from 'playwright-core';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { runQuantBench, type QuantBenchResult } from '../src/gpu/bench/quant.ts';
import { serveStatic } from '../src/store/static-files.ts';
import { chromiumArgs, firefoxPrefs } from '../playwright.config.ts';

export async function run(args: string[]) {
  const i = args.indexOf('--browser');
  if (i >= 0) return inBrowser(args[i + 1], args.includes('--quick'));
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const a = rt.report.adapter;
  console.log(`adapter: ${a?.vendor} ${a?.architecture} ${a?.description}; subgroups ${rt.has('subgroups')}, shader-f16 ${rt.has('shader-f16')}`);
  try {
    const r = await runQuantBench(rt, { quick: args.includes('--quick'), big: args.includes('--big'), log: (l) => console.log(l) });
    printF16Table(r);
    return r;
  } finally {
    rt.destroy();
  }
}

function printF16Table(r: QuantBenchResult): void {
  if ('skipped' in r.f16Variant) {
    console.log(`f16 variant vs f32 variant: not measured here (${r.f16Variant.skipped})`);
    return;
  }
  console.log('\nf16 variant vs f32 variant (same tensors, same run):');
  console.log('type  shape        f32 variant   f16 variant   f16/f32 time');
  for (const x of r.f16Variant.rows) {
    const ms = (s: number) => `${(s * 1e3).toFixed(3)} ms`.padEnd(14);
    console.log(`${x.type.padEnd(5)} ${`${x.rows}x${x.cols}`.padEnd(12)} ${ms(x.f32Seconds)}${ms(x.f16Seconds)}${x.timeVsF32Variant.toFixed(2)}x`);
  }
}

/** The bench page's quant suite in a headless browser (Firefox on lavapipe has shader-f16 here). */
async function inBrowser(name: string | undefined, quick: boolean) {
  if (name !== 'firefox' && name !== 'chromium') throw new Error('--browser takes firefox or chromium');
  if (!existsSync('dist/bench.html')) throw new Error('run `npm run build` first');
  const server = createServer((req, res) => {
    void serveStatic('dist', new URL(req.url ?? '/', 'http://x').pathname, req, res).then((done) => {
      if (!done) res.writeHead(404).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
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
    await page.goto(`http://localhost:${port}/bench.html?auto&suites=quant${quick ? '&quick' : ''}`);
    const h = await page.waitForFunction(() => (window as unknown as { __benchResult?: unknown }).__benchResult, undefined, { timeout: 1_800_000, polling: 1000 });
    const report = (await h.jsonValue()) as { userAgent?: string; adapter?: unknown; quant?: QuantBenchResult | { error: { message: string } }; error?: string };
    if (report.error) throw new Error(report.error);
    if (!report.quant || 'error' in report.quant) throw new Error(`quant suite failed: ${report.quant ? report.quant.error.message : 'no result'}`);
    const q = report.quant;
    console.log(`${browser.browserType().name()} ${browser.version()}: adapter ${JSON.stringify(q.adapter)}; features ${q.features.join(' ')}`);
    for (const x of q.matvec) console.log(`${x.type} ${x.rows}x${x.cols}: ${(100 * x.fractionOfCopy).toFixed(0)}% copy, ${x.timeVsF16.toFixed(2)}x F16 time`);
    printF16Table(q);
    return { browser: name, version: browser.version(), userAgent: report.userAgent, ...q };
  } finally {
    await browser.close();
    server.close();
  }
}
