// The browser side of `npm run bench -- store --browser`: in one page, against one local gateway
// (same origin), a plain fetch of the file's bytes (the raw blocks 6 at a time, and the whole file
// in one GET) and a verified load through the app's own loader worker into IndexedDB (CAR ranges,
// and one request per block), then a warm read of the whole file from IndexedDB. Each verified
// load starts from an empty store (the model is deleted and its blocks freed between runs).
import { CID } from 'multiformats/cid';
import { ByteBudget } from '../../src/store/async-utils.ts';
import { carStreamBlocks } from '../../src/store/car-stream.ts';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { IdbBlockstore } from '../../src/store/idb-blockstore.ts';
import { CAR_CONCURRENCY, CAR_RUN_BYTES, Loader, WRITE_BEHIND_BYTES, type LoadResult } from '../../src/store/loader.ts';
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
  /** The breakdown: the same CAR ranges read and dropped; parsed, not hashed; and through the
   * gateway client (verified) and dropped, all in the page. */
  carDrop: number[];
  carParse: number[];
  clientCar: number[];
  /** The IdbBlockstore alone: the leaves from memory, put as the loader puts them. */
  storeOnly: number[];
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

/** The file's CAR ranges as the loader asks for them (CAR_RUN_BYTES each, CAR_CONCURRENCY at a time), `fn` run on each. */
async function eachRange(root: string, size: number, fn: (from: number, to: number) => Promise<void>): Promise<number> {
  const step = CAR_RUN_BYTES;
  const ranges: number[] = [];
  for (let at = 0; at < size; at += step) ranges.push(at);
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ranges.length) {
      const from = ranges[next++]!;
      await fn(from, Math.min(size, from + step));
    }
  };
  await Promise.all(Array.from({ length: CAR_CONCURRENCY }, worker));
  return seconds(t0);
}

/** One of the loader's CAR ranges, not from the HTTP cache. */
function fetchCar(root: string, from: number, to: number): Promise<Response> {
  return fetch(`/ipfs/${root}?format=car&dag-scope=entity&entity-bytes=${from}:${to - 1}`, { headers: { accept: 'application/vnd.ipld.car' }, cache: 'no-store' });
}

/** The breakdown's floor: the same CAR ranges, bytes read and dropped (no parse, no hash). */
async function carDrop(root: string, size: number): Promise<number> {
  return eachRange(root, size, async (from, to) => {
    const reader = (await fetchCar(root, from, to)).body!.getReader();
    for (;;) if ((await reader.read()).done) break;
  });
}

/** The same CAR ranges parsed into blocks by the client's reader (car-stream.ts), nothing hashed. */
async function carParse(root: string, size: number): Promise<number> {
  return eachRange(root, size, async (from, to) => {
    const { blocks } = await carStreamBlocks((await fetchCar(root, from, to)).body! as unknown as AsyncIterable<Uint8Array>);
    for await (const _ of blocks) void _;
  });
}

/** The same CAR ranges, each block verified and dropped: no store, no DAG walk. */
async function clientCar(root: string, size: number): Promise<number> {
  const client = new GatewayClient({ gateways: [location.origin], fetch: (i, init) => fetch(i, { ...init, cache: 'no-store' }) });
  const cid = CID.parse(root);
  let blocks = 0;
  const s = await eachRange(root, size, async (from, to) => {
    const got = await client.streamRange(cid, from, to, { wanted: (c) => c.code === 0x55, onBlock: async () => undefined });
    blocks += got.blocks; // not `blocks += await ...`: that reads `blocks` before the await
  });
  if (blocks < size / 262144) throw new Error(`CAR ranges delivered ${blocks} leaves`);
  return s;
}

/**
 * The store alone: the file's leaves (fetched and verified beforehand, held in memory) put into an
 * IdbBlockstore as the loader's CAR runs put them (write-behind within its byte budget).
 */
async function storeOnly(root: string, size: number): Promise<number> {
  const client = new GatewayClient({ gateways: [location.origin], fetch: (i, init) => fetch(i, { ...init, cache: 'no-store' }) });
  const leaves: Array<{ cid: CID; bytes: Uint8Array }> = [];
  await eachRange(root, size, async (from, to) => {
    await client.streamRange(CID.parse(root), from, to, { wanted: (c) => c.code === 0x55, onBlock: async (cid, bytes) => void leaves.push({ cid, bytes }) });
  });
  const store = await IdbBlockstore.open({ dbName: 'tabshard-bench-store-only' });
  try {
    const budget = new ByteBudget(WRITE_BEHIND_BYTES);
    const t0 = performance.now();
    const writes: Promise<void>[] = [];
    for (const { cid, bytes } of leaves) {
      const release = await budget.acquire(bytes.length);
      writes.push(store.put(cid, bytes).finally(release));
    }
    await Promise.all(writes);
    const s = seconds(t0);
    for (const { cid } of leaves) await store.delete(cid);
    return s;
  } finally {
    store.close();
  }
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
  const out: StoreBenchResult = { plainBlocks: [], plainFile: [], loadCar: [], loadPerBlock: [], carDrop: [], carParse: [], clientCar: [], storeOnly: [], loadInPage: [], ttfbMs: [], warmLoadMs: 0, warmReadSeconds: 0, storage: { usage: null, quota: null } };
  for (let i = 0; i < input.repeats; i++) {
    out.plainBlocks.push(await plainBlocks(input.cids));
    out.plainFile.push(await plainFile(input.root));
    out.loadPerBlock.push((await verified(client, input.root, false)).s);
    out.carDrop.push(await carDrop(input.root, input.size));
    out.carParse.push(await carParse(input.root, input.size));
    out.clientCar.push(await clientCar(input.root, input.size));
    out.storeOnly.push(await storeOnly(input.root, input.size));
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

export interface LinkBenchResult {
  plainFile: number[];
  loadCar: number[];
}

/**
 * Behind a gateway whose link is paced (GatewayFaults.bytesPerSecond), as a remote gateway is:
 * the whole file in one plain GET against the default verified load into IndexedDB, alternating.
 */
async function runLink(given: StoreBenchInput): Promise<LinkBenchResult> {
  input = given;
  const client = new LoaderClient();
  await client.configure({ dbName: 'tabshard-bench-store-link' });
  await verified(client, input.root, true); // warm-up: code compiled, sockets open
  const out: LinkBenchResult = { plainFile: [], loadCar: [] };
  for (let i = 0; i < input.repeats; i++) {
    out.plainFile.push(await plainFile(input.root));
    out.loadCar.push((await verified(client, input.root, true)).s);
    log(`link run ${i + 1}: plain file ${out.plainFile.at(-1)!.toFixed(2)} s, verified CAR ${out.loadCar.at(-1)!.toFixed(2)} s`);
  }
  await client.api.deleteModel(input.root);
  client.terminate();
  return out;
}

(globalThis as unknown as { storeBench: unknown }).storeBench = { run, runLink };
log('ready');
