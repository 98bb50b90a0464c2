// `npm run bench -- ort [--quick] [--runs N]`: our quantized matvec (Q4_K, Q2_K, Q8_0) beside
// onnxruntime-web's WebGPU MatMulNBits (4-bit, and 2-bit where the EP takes it) in one headless
// Chromium page on the same SwiftShader adapter, as time ratios. The page (bench/pages/ort.html, a
// Vite input) does the work; this drives it. Needs `npm run build` first. Served cross-origin
// isolated like the app, so ORT's WASM side may use SharedArrayBuffer.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { serveDist } from './_page.ts';

interface PageResult {
  error?: string;
  ortEp: string;
  webgpuError?: string;
  results: {
    shape: string;
    ort: { ep: string; bits: number; seconds?: number; error?: string; correctness?: { ok: boolean; worstRatio: number } }[];
    ours: { type: string; seconds: number; correctness: { ok: boolean; worstRatio: number } }[];
    kernelOnly: { type: string; seconds: number }[];
    ratios: { type: string; vsOrt4bit: number | null; vsOrt2bit: number | null }[];
  }[];
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const ms = (s: number | undefined) => (s === undefined ? '-' : `${(s * 1e3).toFixed(2)} ms`);
const x = (r: number | null | undefined) => (r == null ? '-' : `${r.toFixed(2)}x`);

export async function run(args: string[]) {
  if (!existsSync('dist/bench/pages/ort.html')) throw new Error('run `npm run build` first');
  const { server, port } = await serveDist();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') console.log(`[page ${m.type()}] ${m.text()}`);
    });
    const shapes = args.includes('--quick') ? '2048x2048' : '2048x2048,8192x2048';
    await page.goto(`http://localhost:${port}/bench/pages/ort.html?shapes=${shapes}&runs=${arg(args, '--runs') ?? 20}`);
    const h = await page.waitForFunction(() => (window as unknown as { __ort?: unknown }).__ort, undefined, { timeout: 1_800_000, polling: 1000 });
    const r = (await h.jsonValue()) as PageResult;
    console.log(await page.locator('#out').textContent());
    if (r.error) throw new Error(r.error);
    if (r.webgpuError) console.log(`ORT WebGPU EP failed (${r.webgpuError}); the peer below is ORT's WASM EP`);
    for (const s of r.results) {
      console.log(`\n${s.shape} (ORT EP ${r.ortEp}); round trip = upload x + matvec + read y, median`);
      for (const p of s.ort) console.log(`  ORT ${p.bits}-bit ${p.ep}: ${p.error ?? `${ms(p.seconds)}, check ${p.correctness?.ok ? 'ok' : 'FAILED'}`}`);
      for (const o of s.ours) {
        const k = s.kernelOnly.find((m) => m.type === o.type);
        const ra = s.ratios.find((m) => m.type === o.type);
        console.log(`  ours ${o.type}: ${ms(o.seconds)} round trip (kernel only ${ms(k?.seconds)}), check ${o.correctness.ok ? 'ok' : 'FAILED'}; ours/ORT ${x(ra?.vsOrt4bit)} vs 4-bit, ${x(ra?.vsOrt2bit)} vs 2-bit`);
      }
    }
    return r;
  } finally {
    await browser.close();
    server.close();
  }
}
