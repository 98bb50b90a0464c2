// Loader cost, side by side in one run against one local gateway (Node): a verified load into a
// blockstore (hash every block, store it, walk the DAG, progress) vs a plain fetch of the same
// bytes from the same server, as a ratio; time to the first file byte; and a warm read of the
// whole file from the store, in MB/s. `--quick`: 32 MiB instead of 256.
// Two plain fetches are measured and the faster is the yardstick: the same raw blocks at the same
// concurrency (what a non-verifying block client does) and the whole file in one GET (what an app
// that trusts its server does). Two verified loads: one request per block, and the default, where
// runs of leaves come as trustless CAR ranges (one request per 32 MiB, CAR_RUN_BYTES).
// `--browser` (needs `npm run build`): the same comparison in headless Chromium, through the app's
// loader worker into IndexedDB (bench/pages/store.ts), the page served by the same gateway.
// `--browser firefox`: the same in Firefox ESR (with --link too).
// `--link 50,100,200` (needs the build too): the browser comparison again behind gateways whose
// links are paced at those MiB/s, as remote gateways are (GatewayFaults.bytesPerSecond).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, firefox, type Page } from 'playwright-core';
import { firefoxPrefs } from '../playwright.config.ts';
import type { LinkBenchResult, StoreBenchInput, StoreBenchResult } from './pages/store.ts';
import type { GatewayFaults } from '../src/store/gateway-faults.ts';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { importFile } from '../src/store/cid.ts';
import { openStore } from '../src/store/fs-blockstore.ts';
import { GatewayClient } from '../src/store/gateway-client.ts';
import { Loader } from '../src/store/loader.ts';
import { MemoryModelStore } from '../src/store/memory-model-store.ts';
import { decodeFileNode } from '../src/store/unixfs-range.ts';
import { RAW } from '../src/store/verify.ts';

const MiB = 2 ** 20;
const CONCURRENCY = 6;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function* randomChunks(size: number): AsyncGenerator<Uint8Array> {
  for (let left = size; left > 0; left -= MiB) yield randomBytes(Math.min(MiB, left));
}

/** Every block CID of the DAG (interior nodes read from the store, leaves only listed). */
async function allCids(root: CID, get: (c: CID) => Promise<Uint8Array>): Promise<CID[]> {
  const out: CID[] = [];
  const visit = async (cid: CID): Promise<void> => {
    out.push(cid);
    if (cid.code === RAW) return;
    for (const child of decodeFileNode(cid, await get(cid)).children) await visit(child.cid);
  };
  await visit(root);
  return out;
}

/** The yardstick: the same raw-block requests, bodies read and dropped, no hashing, no storing. */
async function plainFetch(url: string, cids: CID[]): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  let next = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < cids.length) {
      const res = await fetch(`${url}/ipfs/${cids[next++]!}?format=raw`, { headers: { accept: 'application/vnd.ipld.raw' } });
      bytes += (await res.arrayBuffer()).byteLength;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

/** The gateway client alone (hedging, limits, one sha256 per block), bodies dropped: splits the cost. */
async function clientOnly(url: string, cids: CID[]): Promise<number> {
  const client = new GatewayClient({ gateways: [url], fetch: (i, init) => fetch(i, { ...init, cache: 'no-store' }) });
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cids.length) await client.getBlock(cids[next++]!);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (performance.now() - t0) / 1000;
}

/** The other yardstick: the file itself in one GET (the gateway walks the DAG), read and dropped. */
async function plainFile(url: string, root: CID): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/ipfs/${root}/`);
  const reader = res.body!.getReader();
  for (;;) if ((await reader.read()).done) break;
  return (performance.now() - t0) / 1000;
}

async function verifiedLoad(url: string, root: CID, car = true): Promise<{ seconds: number; ttfbMs: number; store: MemoryModelStore; loader: Loader }> {
  const store = new MemoryModelStore();
  const loader = new Loader({ store });
  const t0 = performance.now();
  let ttfbMs = NaN;
  await loader.load(root.toString(), {
    gateways: [url], concurrency: CONCURRENCY, car,
    onProgress: (e) => {
      if (Number.isNaN(ttfbMs) && e.bytesDone > 0) ttfbMs = performance.now() - t0;
    },
  });
  return { seconds: (performance.now() - t0) / 1000, ttfbMs, store, loader };
}

/**
 * The gateway in its own process, as a real one would be: in this process its work would share
 * one JS thread with the client's hashing and make the ratio measure the event loop instead.
 */
async function spawnGateway(storeDir: string, staticDir?: string, faults: GatewayFaults = {}): Promise<{ url: string; child: ChildProcess }> {
  const script = `import { startGateway } from './src/store/gateway-server.ts';
    const g = await startGateway({ store: ${JSON.stringify(storeDir)}, staticDir: ${JSON.stringify(staticDir)}, faults: ${JSON.stringify(faults)} });
    console.log(g.url);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: line.toString().trim(), child };
}

type StoreBenchPage = { run(i: StoreBenchInput): Promise<StoreBenchResult>; runLink(i: StoreBenchInput): Promise<LinkBenchResult> };

type Engine = 'chromium' | 'firefox';
const engineName = (e: Engine): string => (e === 'chromium' ? 'Chromium' : 'Firefox');

/** The bench page in a headless browser (the Debian builds), served by the gateway at `url`. */
async function withBenchPage<T>(engine: Engine, url: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const browser = engine === 'chromium'
    ? await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking'] })
    : await firefox.launch({ channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr', firefoxUserPrefs: firefoxPrefs });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.error(`[page] ${m.text()}`);
    });
    await page.goto(`${url}/bench/pages/store.html`);
    await page.waitForFunction(() => 'storeBench' in globalThis);
    return await fn(page);
  } finally {
    await browser.close();
  }
}

/** The browser part: the app's loader worker, IndexedDB; the page from the same gateway. */
async function browserPart(engine: Engine, url: string, input: StoreBenchInput): Promise<Record<string, unknown>> {
  return withBenchPage(engine, url, async (page) => {
    const r = await page.evaluate((i) => (globalThis as unknown as { storeBench: StoreBenchPage }).storeBench.run(i), input);
    const mib = input.size / MiB;
    const rate = (s: number): string => `${(mib / s).toFixed(0)} MiB/s`;
    const [pb, pf, lc, lb] = [median(r.plainBlocks), median(r.plainFile), median(r.loadCar), median(r.loadPerBlock)];
    const best = Math.min(pb, pf);
    console.log(`${engineName(engine)}, loader worker into IndexedDB (medians of ${input.repeats}):`);
    console.log(`  plain fetch, the raw blocks (6 at a time): ${rate(pb)}`);
    console.log(`  plain fetch, the whole file in one GET:    ${rate(pf)}`);
    console.log(`  verified load, a request per block:        ${rate(lb)} = ${(lb / pb).toFixed(3)} x plain blocks`);
    console.log(`  breakdown in the page, the loader's CAR ranges: read and dropped ${rate(median(r.carDrop))}; parsed ${rate(median(r.carParse))}; ` +
      `verified by the gateway client ${rate(median(r.clientCar))}; the IdbBlockstore alone (leaves from memory) ${rate(median(r.storeOnly))}; ` +
      `Loader + IndexedDB without the worker ${rate(median(r.loadInPage))}`);
    console.log(`  verified load, CAR ranges (default):       ${rate(lc)} = ${(lc / pb).toFixed(3)} x plain blocks, ${(lc / pf).toFixed(3)} x plain file; first file byte after ${median(r.ttfbMs).toFixed(0)} ms`);
    console.log(`  warm load() ${r.warmLoadMs.toFixed(0)} ms; warm read of the whole file from IndexedDB: ${(input.size / 1e6 / r.warmReadSeconds).toFixed(0)} MB/s`);
    console.log(`browser: verified load / the faster plain fetch = ${(lc / best).toFixed(3)} (cost ${(100 * (lc / best - 1)).toFixed(1)}%, goal < 5%)`);
    return {
      ...r, ratio: lc / best, loadOverPlainBlocks: lc / pb, loadOverPlainFile: lc / pf, perBlockLoadOverPlainBlocks: lb / pb,
      warmReadMBps: input.size / 1e6 / r.warmReadSeconds,
    };
  });
}

/**
 * The same comparison behind gateways whose links are paced (`--link 50,100,200`, MiB/s), as
 * remote gateways are: what verification and storage cost when the network, not loopback, sets
 * the pace. Each rate: a gateway process of its own, the whole file in one plain GET against the
 * default verified load into IndexedDB, alternating, in Chromium.
 */
async function linkPart(engine: Engine, dir: string, input: StoreBenchInput, rates: number[]): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  console.log(`${engineName(engine)} behind a paced gateway link (medians of ${input.repeats}), the whole file in one GET vs the verified load into IndexedDB:`);
  for (const mibps of rates) {
    const gw = await spawnGateway(dir, 'dist', { bytesPerSecond: mibps * MiB });
    try {
      const r = await withBenchPage(engine, gw.url, (page) => page.evaluate((i) => (globalThis as unknown as { storeBench: StoreBenchPage }).storeBench.runLink(i), input));
      const [pf, lc] = [median(r.plainFile), median(r.loadCar)];
      const mib = input.size / MiB;
      console.log(`  link ${String(mibps).padStart(4)} MiB/s: plain file ${(mib / pf).toFixed(1)} MiB/s, verified load ${(mib / lc).toFixed(1)} MiB/s = ${(lc / pf).toFixed(3)} x plain file (cost ${(100 * (lc / pf - 1)).toFixed(1)}%)`);
      rows.push({ linkMiBps: mibps, ...r, ratio: lc / pf });
    } finally {
      gw.child.kill();
    }
  }
  return rows;
}

export async function run(args: string[]) {
  const browser = args.includes('--browser');
  // `--browser` alone: Chromium; `--browser firefox`: Firefox ESR (for --link too).
  const named = args[args.indexOf('--browser') + 1];
  const engine: Engine = browser && named === 'firefox' ? 'firefox' : 'chromium';
  const linkArg = args.indexOf('--link');
  const links = linkArg < 0 ? [] : (args[linkArg + 1] ?? '').split(',').map(Number);
  if (links.some((r) => !(r > 0))) throw new Error('--link: a comma-separated list of link rates in MiB/s, e.g. --link 50,100,200');
  if ((browser || links.length > 0) && !existsSync('dist/bench/pages/store.html')) throw new Error('--browser/--link: run `npm run build` first');
  const size = (args.includes('--quick') ? 32 : 256) * MiB;
  const repeats = args.includes('--quick') ? 3 : 5;
  const dir = await mkdtemp(join(tmpdir(), 'tabshard-bench-store-'));
  let gw: { url: string; child: ChildProcess } | undefined;
  try {
    const blocks = openStore(dir);
    const t0 = performance.now();
    const { root } = await importFile(randomChunks(size), { rawLeaves: true, blockstore: blocks });
    console.log(`published ${size / MiB} MiB of random bytes as ${root} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const cids = await allCids(root, (c) => blocks.get(c));
    gw = await spawnGateway(dir, browser ? 'dist' : undefined);

    // First byte: the header read a GGUF parse starts with (64 KiB), cold, through the loader.
    const cold = new Loader({ store: new MemoryModelStore() });
    const t1 = performance.now();
    const head = await cold.readRange(root.toString(), 0, 64 * 1024, { gateways: [gw.url] });
    const firstRangeMs = performance.now() - t1;
    console.log(`first 64 KiB (cold, ${head.blocksFetched} blocks): ${firstRangeMs.toFixed(1)} ms`);

    // Warm-up: the gateway's files in the page cache, sockets open, code compiled.
    await plainFetch(gw.url, cids);
    await plainFile(gw.url, root);
    await verifiedLoad(gw.url, root, false);
    await verifiedLoad(gw.url, root);
    const plain: number[] = [];
    const file: number[] = [];
    const client: number[] = [];
    const perBlock: number[] = [];
    const loaded: number[] = [];
    const ttfb: number[] = [];
    let last: Awaited<ReturnType<typeof verifiedLoad>> | undefined;
    for (let i = 0; i < repeats; i++) {
      last = undefined; // let the previous run's blocks go before the next fills memory again
      globalThis.gc?.();
      plain.push((await plainFetch(gw.url, cids)).seconds);
      file.push(await plainFile(gw.url, root));
      client.push(await clientOnly(gw.url, cids));
      perBlock.push((await verifiedLoad(gw.url, root, false)).seconds);
      globalThis.gc?.();
      last = await verifiedLoad(gw.url, root);
      loaded.push(last.seconds);
      ttfb.push(last.ttfbMs);
    }
    const rate = (s: number): string => `${(size / MiB / s).toFixed(0)} MiB/s`;
    const plainS = median(plain);
    const fileS = median(file);
    const bestPlainS = Math.min(plainS, fileS);
    const loadS = median(loaded);
    const perBlockS = median(perBlock);
    const ratio = loadS / bestPlainS;
    const clientS = median(client);
    console.log(`medians of ${repeats}, ${size / MiB} MiB, ${cids.length} blocks:`);
    console.log(`  plain fetch, the raw blocks (${CONCURRENCY} at a time): ${rate(plainS)}`);
    console.log(`  plain fetch, the whole file in one GET:          ${rate(fileS)}`);
    console.log(`  gateway client alone (verify, drop):             ${rate(clientS)} = ${(clientS / plainS).toFixed(3)} x plain blocks`);
    console.log(`  verified load, a request per block:              ${rate(perBlockS)} = ${(perBlockS / plainS).toFixed(3)} x plain blocks`);
    console.log(`  verified load, CAR ranges (default):             ${rate(loadS)} = ${(loadS / plainS).toFixed(3)} x plain blocks, ${(loadS / fileS).toFixed(3)} x plain file; first file byte after ${median(ttfb).toFixed(1)} ms`);
    console.log(`verified load / the faster plain fetch = ${ratio.toFixed(3)} (verification + storage cost ${(100 * (ratio - 1)).toFixed(1)}%, goal < 5%)`);

    // Warm: everything stored, no gateway at all.
    const { loader } = last!;
    const w0 = performance.now();
    const again = await loader.load(root.toString(), {});
    const warmLoadMs = performance.now() - w0;
    const r0 = performance.now();
    const all = await loader.readRange(root.toString(), 0, size);
    const warmReadS = (performance.now() - r0) / 1000;
    if (all.blocksFetched !== 0 || again.blocksFetched !== 0) throw new Error('warm load touched the network');
    console.log(`warm load() of the stored model: ${warmLoadMs.toFixed(1)} ms; warm read of the whole file: ${(size / 1e6 / warmReadS).toFixed(0)} MB/s`);
    const input = { root: root.toString(), cids: cids.map(String), size, repeats };
    const inBrowser = browser ? await browserPart(engine, gw.url, input) : undefined;
    const behindLinks = links.length > 0 ? await linkPart(engine, dir, { ...input, repeats: 3 }, links) : undefined;
    return {
      engine: browser || links.length > 0 ? engine : undefined, browser: inBrowser, links: behindLinks,
      bytes: size, blocks: cids.length, concurrency: CONCURRENCY, repeats,
      firstRangeMs, ttfbMs: median(ttfb),
      plainBlocksSeconds: plain, plainFileSeconds: file, clientSeconds: client, perBlockLoadSeconds: perBlock, loadSeconds: loaded,
      clientOverPlainBlocks: clientS / plainS, perBlockLoadOverPlainBlocks: perBlockS / plainS,
      loadOverPlainBlocks: loadS / plainS, loadOverPlainFile: loadS / fileS, ratio, overheadPercent: 100 * (ratio - 1),
      warmLoadMs, warmReadMBps: size / 1e6 / warmReadS,
    };
  } finally {
    gw?.child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
