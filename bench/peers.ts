// `npm run bench -- peers [--shape tinyllama --layers N] [--types q4_k,q2_k]`: tabshard (WebGPU) and
// wllama (llama.cpp WASM, 2 threads) side by side in one headless Chromium page on the same GGUF.
// The page is served cross-origin isolated (COOP/COEP) so wllama really gets 2 threads, as in
// ANCHORS.md. Needs `npm run build` first (bench/pages/peers.html is a Vite input).
import { createReadStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { ggmlTypeByName } from '../src/quant/ggml-types.ts';
import { SHAPES, syntheticGguf } from './_synthetic.ts';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.gguf': 'application/octet-stream', '.json': 'application/json' };

// Synthetic models live outside dist/ (a concurrent `vite build` empties dist/).
const MODELS = '/tmp/tabshard-bench-models';

function serveIsolated(dir: string) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const base = url.startsWith('/bench-models/') ? MODELS : root;
    const path = resolve(join(base, url.replace(/^\/bench-models\//, '/')));
    if (!path.startsWith(base) || !existsSync(path) || statSync(path).isDirectory()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    createReadStream(path).pipe(res);
  });
  return new Promise<{ port: number; close: () => void }>((ok) => server.listen(0, '127.0.0.1', () => ok({ port: (server.address() as { port: number }).port, close: () => server.close() })));
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]) {
  if (!existsSync('dist/bench/pages/peers.html')) throw new Error('run `npm run build` first');
  const models: string[] = ['models/stories260K.gguf'];
  const shape = arg(args, '--shape');
  mkdirSync(MODELS, { recursive: true });
  if (shape) {
    const layers = Number(arg(args, '--layers') ?? SHAPES[shape].nLayer);
    for (const t of (arg(args, '--types') ?? 'q4_k,q2_k').split(',')) {
      const name = `bench-models/${shape}-${layers}L-${t}.gguf`;
      writeFileSync(`${MODELS}/${name.slice('bench-models/'.length)}`, syntheticGguf({ ...SHAPES[shape], nLayer: layers }, ggmlTypeByName(t)!.id));
      models.push(name);
    }
  }
  const srv = await serveIsolated('dist');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan,WebAssemblyJSPromiseIntegration', '--no-first-run'],
  });
  const results: unknown[] = [];
  try {
    for (const m of models) {
      const page = await browser.newPage();
      await page.goto(`http://localhost:${srv.port}/bench/pages/peers.html?model=${encodeURIComponent(`/${m}`)}&decode=${arg(args, '--decode') ?? 32}`);
      const h = await page.waitForFunction(() => (window as unknown as { __peers?: unknown }).__peers, undefined, { timeout: 1_800_000, polling: 1000 });
      const r = (await h.jsonValue()) as { error?: string; tabshard: { decodeTps: number; prefillTps: number }; wllama: { decodeTps: number; prefillTps: number }; ratio: { prefill: number; decode: number } };
      if (r.error) throw new Error(r.error);
      console.log(`${m}: tabshard/wllama prefill ${r.ratio.prefill.toFixed(2)}x, decode ${r.ratio.decode.toFixed(2)}x  (ours ${r.tabshard.prefillTps.toFixed(1)}/${r.tabshard.decodeTps.toFixed(1)}, wllama ${r.wllama.prefillTps.toFixed(1)}/${r.wllama.decodeTps.toFixed(1)} tok/s)`);
      results.push(r);
      await page.close();
    }
  } finally {
    await browser.close();
    srv.close();
    rmSync(MODELS, { recursive: true, force: true });
  }
  return results;
}
