// The CPU path side by side in one run, on TinyLlama-shaped synthetic models (bench/_synthetic.ts:
// all 22 layers by default) at Q4_K, Q2_K and Q8_0, 1 and 2 threads:
//  - Node (the CLI's cpu backend): our WASM backend through worker_threads;
//  - one headless Chromium, cross-origin isolated (COOP/COEP from the server below): our WASM
//    backend and wllama (llama.cpp in WASM, driven as ANCHORS.md did) on the same file, a fresh page
//    per engine/model/thread count (bench/pages/cpu.ts);
// prefill (16-token batch) and decode (32 greedy steps) tok/s, ours/wllama ratios at equal threads,
// memory: weights held vs the file's tensor bytes, Node RSS growth at load, and the browser's peak
// RSS growth (all its processes) while each page loads and runs.
//   npm run bench -- cpu [--layers N] [--types q4_k,q2_k,q8_0] [--threads 1,2] [--prefill N]
//                        [--decode N] [--no-browser] [--reference]
// --reference adds the TypeScript f32 backend in Node (slow, ~4.4 GB of f32 weights at 22 layers).
// The browser part needs `npm run build` first (bench/pages/cpu.html is a Vite input); without it,
// it is skipped, saying so. Models live in a temp dir, removed at the end.
import { cpSync, createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { chromium } from 'playwright-core';
import { readGgufHeader } from '../src/formats/gguf-reader.ts';
import { fileRangeSource } from '../src/formats/range-source-node.ts';
import type { Backend } from '../src/engine/backend.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { createWasmBackend } from '../src/engine/wasm/index.ts';
import { ggmlTypeByName } from '../src/quant/ggml-types.ts';
import { SHAPES, syntheticGguf } from './_synthetic.ts';

const MiB = 2 ** 20;
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Speed { prefillTps: number; decodeTps: number }

async function speed(be: Backend, prefill: number, decode: number): Promise<Speed> {
  const toks = Array.from({ length: prefill }, (_, i) => (i === 0 ? 1 : 300 + ((i * 7919) % 1000)));
  let t = performance.now();
  await be.forward(toks, 0);
  const prefillTps = prefill / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < decode; i++) await be.forward([300 + ((i * 31) % 1000)], prefill + i);
  return { prefillTps, decodeTps: decode / ((performance.now() - t) / 1000) };
}

/** RSS of every descendant process of this one (the browser's), from /proc. */
function descendantsRss(): number {
  const kids = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      rss.set(Number(d), m ? Number(m[1]) * 1024 : 0);
    } catch {
      // the process ended while being read
    }
  }
  let sum = 0;
  const stack = [process.pid];
  while (stack.length) for (const k of kids.get(stack.pop()!) ?? []) { sum += rss.get(k) ?? 0; stack.push(k); }
  return sum;
}

/** dist/ at /, models at /bench-models/, cross-origin isolated (wllama and our threads need it). */
function serve(dist: string, models: string) {
  const roots: [string, string][] = [['/bench-models/', resolve(models)], ['/', resolve(dist)]];
  const server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [prefix, root] = roots.find(([p]) => url.startsWith(p))!;
    const path = resolve(root, url.slice(prefix.length));
    if (!(path.startsWith(root + sep)) || !existsSync(path) || statSync(path).isDirectory()) return void res.writeHead(404).end();
    res.writeHead(200, {
      'Content-Type': MIME[extname(path)] ?? 'application/octet-stream', 'Content-Length': statSync(path).size,
      'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    createReadStream(path).pipe(res);
  });
  return new Promise<{ port: number; close: () => void }>((ok) => server.listen(0, '127.0.0.1', () => ok({ port: (server.address() as { port: number }).port, close: () => server.close() })));
}

async function nodeRuns(path: string, threadCounts: number[], prefill: number, decode: number, reference: boolean) {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const src = await fileRangeSource(path);
  const file = await readGgufHeader(src);
  const tensorBytes = file.tensors.reduce((s, t) => s + t.byteSize, 0);
  const runs: Record<string, unknown> = {};
  const backends: [string, () => Promise<Backend & { memory(): { weights: number } }>][] = threadCounts.map((n) => [`wasm-${n}t`, () => createWasmBackend(file, src, { nCtx: Math.max(256, prefill + decode), threads: n })]);
  if (reference) backends.push(['reference', () => createCpuBackend(file, src, { nCtx: Math.max(256, prefill + decode) })]);
  for (const [name, create] of backends) {
    gc();
    const rss0 = process.memoryUsage().rss;
    const be = await create();
    gc();
    const rssGrowthMiB = (process.memoryUsage().rss - rss0) / MiB;
    const s = await speed(be, prefill, decode);
    const weights = be.memory().weights;
    runs[name] = { ...s, weightsMiB: weights / MiB, weightsVsFile: weights / tensorBytes, rssGrowthMiB, cpuPath: (be as { cpuPath?: string }).cpuPath };
    console.log(`  node ${name.padEnd(9)}: prefill ${s.prefillTps.toFixed(2)} tok/s, decode ${s.decodeTps.toFixed(2)} tok/s, weights ${(weights / tensorBytes).toFixed(3)}x the file's tensors, RSS +${rssGrowthMiB.toFixed(0)} MiB`);
    be.dispose();
  }
  await src.close();
  return { tensorMiB: tensorBytes / MiB, runs };
}

export async function run(args: string[]) {
  const layers = Number(arg(args, '--layers') ?? 22);
  const prefill = Number(arg(args, '--prefill') ?? 16);
  const decode = Number(arg(args, '--decode') ?? 32);
  const threadCounts = (arg(args, '--threads') ?? '1,2').split(',').map(Number);
  const browser = !args.includes('--no-browser') && existsSync('dist/bench/pages/cpu.html');
  if (!args.includes('--no-browser') && !browser) console.log('browser part skipped: run `npm run build` first (dist/bench/pages/cpu.html)');
  const shape = { ...SHAPES.tinyllama!, nLayer: layers };
  const models = mkdtempSync(join(tmpdir(), 'tabshard-bench-cpu-'));
  // A copy of the build: a `vite build` elsewhere (e2e runs) empties dist/ while it rebuilds.
  if (browser) cpSync('dist', join(models, 'dist'), { recursive: true });
  const srv = browser ? await serve(join(models, 'dist'), models) : undefined;
  const chrome = browser ? await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--no-first-run', '--enable-features=WebAssemblyJSPromiseIntegration'] }) : undefined;
  const rows: Record<string, unknown>[] = [];
  try {
    for (const tname of (arg(args, '--types') ?? 'q4_k,q2_k,q8_0').split(',')) {
      const name = `tinyllama-${layers}L-${tname}.gguf`;
      const path = join(models, name);
      writeFileSync(path, syntheticGguf(shape, ggmlTypeByName(tname)!.id));
      console.log(`${tname}: ${layers} layers, ${(statSync(path).size / MiB).toFixed(0)} MiB file`);
      const row: Record<string, unknown> = { type: tname, layers, fileMiB: statSync(path).size / MiB, node: await nodeRuns(path, threadCounts, prefill, decode, args.includes('--reference')) };
      if (chrome && srv) {
        const page: Record<string, unknown> = {};
        for (const threads of threadCounts) {
          for (const engine of ['wasm', 'wllama']) {
            const ctx = await chrome.newContext();
            const p = await ctx.newPage();
            const rss0 = descendantsRss();
            let peak = rss0;
            const timer = setInterval(() => { peak = Math.max(peak, descendantsRss()); }, 250);
            // A page that fails before reporting (a module error) ends the wait at once, with its message.
            if (process.env.TABSHARD_BENCH_VERBOSE) p.on('console', (m) => console.log(`    [page] ${m.text()}`));
            const failed = new Promise<never>((_, reject) => p.on('pageerror', (e) => reject(new Error(`bench page (${engine}, ${threads} threads): ${e.message}`))));
            try {
              await p.goto(`http://localhost:${srv.port}/bench/pages/cpu.html?engine=${engine}&threads=${threads}&prefill=${prefill}&decode=${decode}&model=${encodeURIComponent(`/bench-models/${name}`)}`);
              const h = await Promise.race([failed, p.waitForFunction(() => (window as unknown as { __cpu?: unknown }).__cpu, undefined, { timeout: 900_000, polling: 500 })]);
              const r = (await h.jsonValue()) as Record<string, unknown> & Partial<Speed>;
              r.peakRssGrowthMiB = (peak - rss0) / MiB;
              page[`${engine}-${threads}t`] = r;
              console.log(`  chromium ${`${engine}-${threads}t`.padEnd(10)}: ${r.error ?? `prefill ${r.prefillTps!.toFixed(2)} tok/s, decode ${r.decodeTps!.toFixed(2)} tok/s, isolated ${r.crossOriginIsolated}, ${r.cpuPath ?? ''} peak RSS +${(r.peakRssGrowthMiB as number).toFixed(0)} MiB`}`);
            } finally {
              clearInterval(timer);
              await ctx.close();
            }
          }
        }
        row.chromium = page;
      }
      rows.push(row);
      rmSync(path, { force: true });
    }
  } finally {
    await chrome?.close();
    srv?.close();
    rmSync(models, { recursive: true, force: true });
  }
  table(rows, threadCounts);
  // Other work on the machine skews every figure (threads most): the load averages go with them.
  console.log(`load average at the end: ${loadavg().map((v) => v.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
  return { shape: 'tinyllama', nLayer: layers, prefill, decode, threads: threadCounts, loadAverageAtEnd: loadavg(), cores: availableParallelism(), rows };
}

/** The side-by-side table: tok/s, and ours over wllama at the same thread count. */
function table(rows: Record<string, unknown>[], threadCounts: number[]): void {
  const f = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '-');
  console.log('\n| type | threads | Node wasm prefill / decode | Chromium wasm prefill / decode | wllama prefill / decode | ours/wllama (Chromium) prefill / decode | ours/wllama (Node) decode |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const node = (r.node as { runs: Record<string, Speed> }).runs;
    const page = (r.chromium ?? {}) as Record<string, Speed>;
    for (const t of threadCounts) {
      const n = node[`wasm-${t}t`], w = page[`wasm-${t}t`], l = page[`wllama-${t}t`];
      console.log(`| ${r.type} | ${t} | ${f(n?.prefillTps)} / ${f(n?.decodeTps)} | ${f(w?.prefillTps)} / ${f(w?.decodeTps)} | ${f(l?.prefillTps)} / ${f(l?.decodeTps)} `
        + `| ${f(w && l ? w.prefillTps / l.prefillTps : NaN)} / ${f(w && l ? w.decodeTps / l.decodeTps : NaN)} | ${f(n && l ? n.decodeTps / l.decodeTps : NaN)} |`);
    }
  }
}
