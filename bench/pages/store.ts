// The browser side of `npm run bench -- store --browser`: in one page, against one local gateway
// (same origin), a plain fetch of the file's bytes (the raw blocks 6 at a time, and the whole file
// in one GET) and a verified load through the app's own loader worker into IndexedDB (CAR ranges,
// and one request per block), then a warm read of the whole file from IndexedDB. Each verified
// load starts from an empty store (the model is deleted and its blocks freed between runs).
import { CID } from 'multiformats/cid';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { IdbBlockstore } from '../../src/store/idb-blockstore.ts';
import { Loader, type LoadResult } from '../../src/store/loader.ts';
import { LoaderClient } from '../../src/workers/loader-client.ts';

export interface StoreBenchInput {
  root: string;
  /** Every block of the DAG, for the plain block fetch. */
  cids: string[];
  size: number;
  repeats: number;
}

export interface StoreBenchResult {
  plainBlocks: number[];
  plainFile: number[];
  loadCar: number[];
  loadPerBlock: number[];
  /** The breakdown: the gateway client's CAR ranges verified and dropped, in the page. */
  clientCar: number[];
  /** The Loader with an IdbBlockstore in the page itself (no worker, no comlink). */
  loadInPage: number[];
  ttfbMs: number[];
  warmLoadMs: number;
  warmReadSeconds: number;
  storage: { usage: number | null; quota: number | null };
}

const log = (line: string): void => {
  const el = document.getElementById('log')!;
  el.textContent = el.textContent === 'idle' ? line : `${el.textContent}\n${line}`;
};
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

async function plainBlocks(cids: string[]): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cids.length) {
      const res = await fetch(`/ipfs/${cids[next++]!}?format=raw`, { headers: { accept: 'application/vnd.ipld.raw' }, cache: 'no-store' });
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return seconds(t0);
}

async function plainFile(root: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`/ipfs/${root}/`, { cache: 'no-store' });
  const reader = res.body!.getReader();
  for (;;) if ((await reader.read()).done) break;
  return seconds(t0);
}

async function verified(client: LoaderClient, root: string, car: boolean): Promise<{ s: number; ttfbMs: number; r: LoadResult }> {
  await client.api.deleteModel(root).catch(() => undefined);
  const t0 = performance.now();
  let ttfbMs = NaN;
  const r = await client.load(root, {
    gateways: [location.origin], car,
    onProgress: (e) => {
      if (Number.isNaN(ttfbMs) && e.bytesDone > 0) ttfbMs = performance.now() - t0;
    },
  });
  if (r.blocksFetched !== input.cids.length) throw new Error(`expected ${input.cids.length} blocks fetched, got ${r.blocksFetched}`);
  return { s: seconds(t0), ttfbMs, r };
}

/** CAR ranges of 8 MiB, 3 at a time, each block verified and dropped: no store, no DAG walk. */
async function clientCar(root: string, size: number): Promise<number> {
  const client = new GatewayClient({ gateways: [location.origin], fetch: (i, init) => fetch(i, { ...init, cache: 'no-store' }) });
  const cid = CID.parse(root);
  const step = 8 * 2 ** 20;
  const ranges: number[] = [];
  for (let at = 0; at < size; at += step) ranges.push(at);
  const t0 = performance.now();
  let next = 0;
  let blocks = 0;
  const worker = async (): Promise<void> => {
    while (next < ranges.length) {
      const from = ranges[next++]!;
      const got = await client.streamRange(cid, from, Math.min(size, from + step), { wanted: (c) => c.code === 0x55, onBlock: async () => undefined });
      blocks += got.blocks;
    }
  };
  await Promise.all(Array.from({ length: 3 }, worker));
  if (blocks < size / 262144) throw new Error(`CAR ranges delivered ${blocks} leaves`);
  return seconds(t0);
}

async function loadInPage(root: string): Promise<number> {
  const store = await IdbBlockstore.open({ dbName: 'tabshard-bench-store-page' });
  try {
    await store.deleteModel(root);
    const t0 = performance.now();
    await new Loader({ store }).load(root, { gateways: [location.origin] });
    const s = seconds(t0);
    await store.deleteModel(root);
    return s;
  } finally {
    store.close();
  }
}

let input: StoreBenchInput;

async function run(given: StoreBenchInput): Promise<StoreBenchResult> {
  input = given;
  const client = new LoaderClient();
  await client.configure({ dbName: 'tabshard-bench-store' });
  // Warm-up: code compiled, sockets open, the gateway's files in the page cache.
  await plainBlocks(input.cids);
  await verified(client, input.root, true);
  await clientCar(input.root, input.size);
  await loadInPage(input.root);
  const out: StoreBenchResult = { plainBlocks: [], plainFile: [], loadCar: [], loadPerBlock: [], clientCar: [], loadInPage: [], ttfbMs: [], warmLoadMs: 0, warmReadSeconds: 0, storage: { usage: null, quota: null } };
  for (let i = 0; i < input.repeats; i++) {
    out.plainBlocks.push(await plainBlocks(input.cids));
    out.plainFile.push(await plainFile(input.root));
    out.loadPerBlock.push((await verified(client, input.root, false)).s);
    out.clientCar.push(await clientCar(input.root, input.size));
    out.loadInPage.push(await loadInPage(input.root));
    const car = await verified(client, input.root, true);
    out.loadCar.push(car.s);
    out.ttfbMs.push(car.ttfbMs);
    log(`run ${i + 1}: plain blocks ${out.plainBlocks.at(-1)!.toFixed(2)} s, plain file ${out.plainFile.at(-1)!.toFixed(2)} s, ` +
      `verified per block ${out.loadPerBlock.at(-1)!.toFixed(2)} s, verified CAR ${car.s.toFixed(2)} s`);
  }
  const w0 = performance.now();
  const again = await client.load(input.root, {});
  out.warmLoadMs = performance.now() - w0;
  if (again.blocksFetched !== 0) throw new Error('warm load touched the network');
  const r0 = performance.now();
  const all = await client.readRange(input.root, 0, input.size, {});
  out.warmReadSeconds = seconds(r0);
  if (all.blocksFetched !== 0 || all.bytes.length !== input.size) throw new Error('warm read touched the network or came back short');
  const est = await navigator.storage?.estimate?.();
  out.storage = { usage: est?.usage ?? null, quota: est?.quota ?? null };
  await client.api.deleteModel(input.root);
  client.terminate();
  return out;
}

(globalThis as unknown as { storeBench: unknown }).storeBench = { run };
log('ready');
