// `npm run bench -- onnx-browser [--decode 60] [--reps 2] [--threads 1]`: the browser side of issue 9.
// Exports stories260K to ONNX (fp32 and q4 MatMulNBits) into a temp folder, serves it beside dist/,
// and runs bench/pages/onnx.html in one headless Chromium (SwiftShader WebGPU): tabshard's WebGPU and
// CPU backends on the GGUF vs transformers.js 'webgpu' and 'wasm' on the export. Prints tok/s, the
// ratios ours/theirs, and whether the greedy tokens agree (a mismatch is reported, not fatal).
// Needs `npm run build` first (bench/pages/onnx.html is a Vite input). bench/onnx.ts stays the Node run.
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { chromium } from 'playwright-core';
import { exportOnnx } from '../src/onnx/export.ts';

const GGUF = 'public/models/stories260K.gguf';
const NAME = 'stories260k';
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

interface Rates { prefillTps: number; decodeTps: number; tokens: number[] }
type Entry = { name: string; ok: true; rates: Rates } | { name: string; ok: false; error: string };
interface PageResult { error?: string; promptTokens: number; decode: number; adapter?: string; entries: Entry[] }

/** dist/ at /, the export at /bench-models/ (kept out of dist/: a concurrent build empties it); COOP/COEP like bench/peers.ts. */
function serve(dist: string, models: string) {
  const roots: [string, string][] = [['/bench-models/', resolve(models)], ['/', resolve(dist)]];
  const server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [prefix, root] = roots.find(([p]) => url.startsWith(p))!;
    const path = resolve(root, url.slice(prefix.length));
    const ok = (path === root || path.startsWith(root + sep)) && existsSync(path) && !statSync(path).isDirectory();
    if (!ok) return void res.writeHead(404).end();
    res.writeHead(200, {
      'Content-Type': MIME[extname(path)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    createReadStream(path).pipe(res);
  });
  return new Promise<{ port: number; close: () => void }>((done) =>
    server.listen(0, '127.0.0.1', () => done({ port: (server.address() as { port: number }).port, close: () => server.close() })));
}

const opt = (args: string[], name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};

/** Greedy ids up to the first difference; ours is the reference. */
function agreement(ref: number[], other: number[]): string {
  const n = Math.min(ref.length, other.length);
  for (let i = 0; i < n; i++) if (ref[i] !== other[i]) return `MISMATCH at step ${i} (ours ${ref[i]}, theirs ${other[i]})`;
  return ref.length === other.length ? `agree (${n}/${n})` : `agree on ${n}, lengths ${ref.length} vs ${other.length}`;
}

export async function run(args: string[]): Promise<unknown> {
  if (!existsSync('dist/bench/pages/onnx.html')) throw new Error('run `npm run build` first');
  const models = mkdtempSync(join(tmpdir(), 'tabshard-bench-onnx-browser-'));
  const srv = await serve('dist', models);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--no-first-run'],
  });
  try {
    await exportOnnx(GGUF, join(models, NAME), { formats: ['f32', 'q4'] });
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.error(`[page] ${m.text()}`); });
    const qs = new URLSearchParams({ model: '/models/stories260K.gguf', onnx: NAME, decode: opt(args, '--decode', '60'), reps: opt(args, '--reps', '2'), threads: opt(args, '--threads', '1') });
    await page.goto(`http://127.0.0.1:${srv.port}/bench/pages/onnx.html?${qs}`);
    const h = await page.waitForFunction(() => (window as unknown as { __onnx?: unknown }).__onnx, undefined, { timeout: 1_800_000, polling: 1000 });
    const r = (await h.jsonValue()) as PageResult;
    if (r.error) throw new Error(r.error);
    const ok = (n: string) => r.entries.find((e): e is Extract<Entry, { ok: true }> => e.name === n && e.ok)?.rates;
    const rows = [];
    console.log(`stories260K, ${r.promptTokens}-token prompt, ${r.decode} greedy steps, adapter: ${r.adapter ?? '?'}`);
    for (const e of r.entries) {
      if (!e.ok) { console.log(`${e.name.padEnd(26)} FAILED: ${e.error}`); rows.push(e); continue; }
      console.log(`${e.name.padEnd(26)} prefill ${e.rates.prefillTps.toFixed(1).padStart(8)} tok/s  decode ${e.rates.decodeTps.toFixed(1).padStart(8)} tok/s`);
      rows.push({ name: e.name, prefillTps: e.rates.prefillTps, decodeTps: e.rates.decodeTps, tokens: e.rates.tokens });
    }
    const ratios: Record<string, { prefill: number; decode: number; tokens: string }> = {};
    for (const ours of ['tabshard-webgpu', 'tabshard-cpu']) {
      const a = ok(ours);
      if (!a) continue;
      for (const e of r.entries) {
        if (!e.name.startsWith('transformers-') || !e.ok) continue;
        const key = `${ours} / ${e.name}`;
        ratios[key] = { prefill: a.prefillTps / e.rates.prefillTps, decode: a.decodeTps / e.rates.decodeTps, tokens: agreement(a.tokens, e.rates.tokens) };
        console.log(`${key.padEnd(50)} prefill ${ratios[key].prefill.toFixed(2)}x  decode ${ratios[key].decode.toFixed(2)}x  tokens: ${ratios[key].tokens}`);
      }
    }
    const g = ok('tabshard-webgpu'), c = ok('tabshard-cpu');
    if (g && c) console.log(`tabshard webgpu vs cpu tokens: ${agreement(g.tokens, c.tokens)}`);
    return { ...r, entries: rows, ratios };
  } finally {
    await browser.close();
    srv.close();
    rmSync(models, { recursive: true, force: true });
  }
}
