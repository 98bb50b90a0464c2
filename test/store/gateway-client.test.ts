// The gateway client against real local gateways (127.0.0.1), one per fault option.
import * as raw from 'multiformats/codecs/raw';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterEach, describe, expect, it } from 'vitest';
import { storeFirst } from '../../src/store/block-getter.ts';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import type { AllGatewaysFailedError } from '../../src/store/errors.ts';
import { FsBlockstore } from '../../src/store/fs-blockstore.ts';
import { GatewayClient, type GatewayClientEvent, type GatewayClientOptions } from '../../src/store/gateway-client.ts';
import { startGateway, type GatewayServerOptions, type RunningGateway } from '../../src/store/gateway-server.ts';
import { coveringBlocks } from '../../src/store/unixfs-range.ts';
import { buildDag, randomBytes, testSeed, withTempDir } from './helpers.ts';

const seed = testSeed('gateway-client');
const running: RunningGateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.close()));
});

async function gateway(store: MemoryBlockstore, opts: Omit<GatewayServerOptions, 'store'> = {}): Promise<RunningGateway> {
  const gw = await startGateway({ ...opts, store });
  running.push(gw);
  return gw;
}

async function blocks(n: number, size = 1024): Promise<{ store: MemoryBlockstore; cids: CID[]; bytes: Uint8Array[] }> {
  const store = new MemoryBlockstore();
  const cids: CID[] = [];
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = randomBytes(seed + i, size);
    const cid = CID.createV1(raw.code, await sha256.digest(b));
    await store.put(cid, b);
    cids.push(cid);
    bytes.push(b);
  }
  return { store, cids, bytes };
}

function client(gateways: RunningGateway[], opts: Partial<GatewayClientOptions> = {}) {
  const events: GatewayClientEvent[] = [];
  const c = new GatewayClient({
    gateways: gateways.map((g) => g.url),
    hedgeDelayMs: 50,
    timeoutMs: 2000,
    retries: 2,
    backoffMs: 5,
    maxBackoffMs: 20,
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    ...opts,
  });
  return { c, events };
}

async function failure(p: Promise<unknown>): Promise<Error & { causes?: AllGatewaysFailedError['causes'] }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const served = (events: GatewayClientEvent[]) => events.filter((e) => e.type === 'block').map((e) => e.gateway);

describe('gateway client', () => {
  it('fetches and verifies a block and reports which gateway served it', async () => {
    const { store, cids, bytes } = await blocks(1);
    const gw = await gateway(store);
    const { c, events } = client([gw]);
    const perCall: GatewayClientEvent[] = [];
    const got = await c.fetchBlock(cids[0]!.toString(), { onEvent: (e) => perCall.push(e) });
    expect(got.bytes).toEqual(bytes[0]);
    expect(got.gateway).toBe(gw.url);
    expect(served(events)).toEqual([gw.url]);
    expect(served(perCall)).toEqual([gw.url]);
  });

  it('corrupt: IntegrityError from the bad gateway, the good block from another; the bad one is penalised', async () => {
    const { store, cids, bytes } = await blocks(3);
    const bad = await gateway(store, { faults: { corrupt: { fraction: 1 } } });
    const good = await gateway(store);
    const { c, events } = client([bad, good], { hedgeDelayMs: 5000 });
    expect(await c.getBlock(cids[0]!)).toEqual(bytes[0]);
    const fail = events.find((e) => e.type === 'failure');
    expect(fail?.type === 'failure' && fail.error.name).toBe('IntegrityError');
    expect(fail?.type === 'failure' && fail.gateway).toBe(bad.url);
    expect(served(events)).toEqual([good.url]);
    const [sBad, sGood] = c.status();
    expect(sBad!.integrityFailures).toBe(1);
    expect(sGood!.score).toBeGreaterThan(sBad!.score);
    // Now the good gateway ranks first: the bad one is not even asked.
    const before = bad.stats.requests;
    expect(await c.getBlock(cids[1]!)).toEqual(bytes[1]);
    expect(bad.stats.requests).toBe(before);
  });

  it('corrupt specific CIDs only', async () => {
    const { store, cids, bytes } = await blocks(2);
    const gw = await gateway(store, { faults: { corrupt: { cids: [cids[1]!.toString()] } } });
    const { c } = client([gw], { retries: 0 });
    expect(await c.getBlock(cids[0]!)).toEqual(bytes[0]);
    const err = await failure(c.getBlock(cids[1]!));
    expect(err.name).toBe('AllGatewaysFailedError');
    expect(err.causes!.map((x) => x.error.name)).toEqual(['IntegrityError']);
  });

  it('a gateway serving wrong bytes never gets a block into the store', async () => {
    await withTempDir(async (dir) => {
      const { store, cids, bytes } = await blocks(2);
      const bad = await gateway(store, { faults: { corrupt: { fraction: 1 } } });
      const local = new FsBlockstore(dir);
      const { c } = client([bad], { retries: 1 });
      const get = storeFirst(local, (cid, o) => c.getBlock(cid, o));
      expect((await failure(get(cids[0]!))).name).toBe('AllGatewaysFailedError');
      expect(await local.has(cids[0]!)).toBe(false);
      // With a good gateway next to it, the good bytes (and only those) are stored.
      const good = await gateway(store);
      const { c: c2 } = client([bad, good], { hedgeDelayMs: 5000 });
      const get2 = storeFirst(local, (cid, o) => c2.getBlock(cid, o));
      expect(await get2(cids[1]!)).toEqual(bytes[1]);
      expect(await local.get(cids[1]!)).toEqual(bytes[1]);
    });
  });

  it('5xx: retried with backoff until the gateway answers', async () => {
    const { store, cids, bytes } = await blocks(1);
    const gw = await gateway(store, { faults: { error5xx: { firstN: 2, status: 502 } } });
    const { c, events } = client([gw], { retries: 3 });
    expect(await c.getBlock(cids[0]!)).toEqual(bytes[0]);
    expect(gw.stats.requests).toBe(3);
    expect(gw.stats.faults.error5xx).toBe(2);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => e.type === 'retry' && e.round)).toEqual([1, 2]);
    const fails = events.filter((e) => e.type === 'failure');
    expect(fails.map((e) => e.type === 'failure' && e.error.name)).toEqual(['GatewayError', 'GatewayError']);
  });

  it('stall: the hedge asks the next gateway; a lone stalled gateway times out', async () => {
    const { store, cids, bytes } = await blocks(1);
    const stall = await gateway(store, { faults: { stall: { fraction: 1 } } });
    const good = await gateway(store);
    const { c, events } = client([stall, good], { hedgeDelayMs: 30, timeoutMs: 5000 });
    const t0 = performance.now();
    expect(await c.getBlock(cids[0]!)).toEqual(bytes[0]);
    expect(performance.now() - t0).toBeLessThan(4000); // did not wait for the stalled one's timeout
    expect(served(events)).toEqual([good.url]);
    expect(events.some((e) => e.type === 'request' && e.hedge && e.gateway === good.url)).toBe(true);

    const { c: lone } = client([stall], { timeoutMs: 100, retries: 1 });
    const err = await failure(lone.getBlock(cids[0]!));
    expect(err.name).toBe('AllGatewaysFailedError');
    expect(err.causes!.map((x) => x.error.name)).toEqual(['TimeoutError', 'TimeoutError']);
  });

  it('close mid-body: a GatewayError, then a retry succeeds', async () => {
    const { store, cids, bytes } = await blocks(1, 200_000);
    const gw = await gateway(store, { faults: { closeMidBody: { firstN: 1 } } });
    const { c, events } = client([gw]);
    expect(await c.getBlock(cids[0]!)).toEqual(bytes[0]);
    expect(gw.stats.faults.closeMidBody).toBe(1);
    const fail = events.find((e) => e.type === 'failure');
    expect(fail?.type === 'failure' && fail.error.name).toBe('GatewayError');
  });

  it('delay: a slow gateway is overtaken by the hedge; alone it still answers within the timeout', async () => {
    const { store, cids, bytes } = await blocks(2);
    const slow = await gateway(store, { faults: { delayMs: 400 } });
    const fast = await gateway(store);
    const { c, events } = client([slow, fast], { hedgeDelayMs: 30 });
    expect(await c.getBlock(cids[0]!)).toEqual(bytes[0]);
    expect(served(events)).toEqual([fast.url]);
    const { c: lone, events: e2 } = client([slow], { timeoutMs: 3000 });
    expect(await lone.getBlock(cids[1]!)).toEqual(bytes[1]);
    expect(served(e2)).toEqual([slow.url]);
    const { c: impatient } = client([slow], { timeoutMs: 100, retries: 0 });
    expect((await failure(impatient.getBlock(cids[1]!))).causes![0]!.error.name).toBe('TimeoutError');
  });

  it('404 from every gateway is NotFoundError; a bad CID is InvalidCidError', async () => {
    const { store } = await blocks(0);
    const a = await gateway(store);
    const b = await gateway(store);
    const { c } = client([a, b]);
    const missing = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
    expect((await failure(c.getBlock(missing))).name).toBe('NotFoundError');
    expect(a.stats.requests + b.stats.requests).toBe(2); // no retries for a definite answer
    expect((await failure(c.getBlock('nope'))).name).toBe('InvalidCidError');
  });

  it('abort: a pending request rejects with AbortError at once; a pre-aborted signal never fetches', async () => {
    const { store, cids } = await blocks(1);
    const stall = await gateway(store, { faults: { stall: { fraction: 1 } } });
    const { c } = client([stall], { timeoutMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t0 = performance.now();
    expect((await failure(c.getBlock(cids[0]!, { signal: ac.signal }))).name).toBe('AbortError');
    expect(performance.now() - t0).toBeLessThan(2000);
    const before = stall.stats.requests;
    expect((await failure(c.getBlock(cids[0]!, { signal: AbortSignal.abort() }))).name).toBe('AbortError');
    expect(stall.stats.requests).toBe(before);
    // Aborts are not the gateway's fault.
    expect(c.status()[0]!.failures).toBe(0);
  });

  it('circuit breaker: opens after N failures, skips the gateway, half-opens after the cool-down', async () => {
    const { store, cids } = await blocks(1);
    const gw = await gateway(store, { faults: { error5xx: { fraction: 1 } } });
    let now = 1000;
    const { c, events } = client([gw], { retries: 0, breakerThreshold: 2, breakerCooldownMs: 60_000, now: () => now });
    for (let i = 0; i < 2; i++) expect((await failure(c.getBlock(cids[0]!))).name).toBe('AllGatewaysFailedError');
    expect(c.status()[0]!.state).toBe('open');
    expect(events.filter((e) => e.type === 'circuit').map((e) => e.type === 'circuit' && e.state)).toEqual(['open']);
    const err = await failure(c.getBlock(cids[0]!));
    expect(err.causes!.map((x) => x.error.name)).toEqual(['CircuitOpenError']);
    expect(gw.stats.requests).toBe(2); // the open circuit kept the request off the wire
    now += 60_000;
    expect(c.status()[0]!.state).toBe('half-open');
    await failure(c.getBlock(cids[0]!)); // the trial request fails: open again
    expect(gw.stats.requests).toBe(3);
    expect(c.status()[0]!.state).toBe('open');
  });

  it('refuses blocks over the limit, by Content-Length and by counting a stream', async () => {
    const { store, cids } = await blocks(1, 4096);
    const gw = await gateway(store);
    const { c } = client([gw], { maxBlockBytes: 1000, retries: 0 });
    expect((await failure(c.getBlock(cids[0]!))).causes![0]!.error.name).toBe('BlockTooLargeError');
    // A body without Content-Length: counted while reading.
    const chunked: typeof fetch = async () => {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (sent++ < 10) ctl.enqueue(new Uint8Array(300));
          else ctl.close();
        },
      });
      return new Response(body, { status: 200 });
    };
    const { c: c2 } = client([gw], { maxBlockBytes: 1000, retries: 0, fetch: chunked });
    expect((await failure(c2.getBlock(cids[0]!))).causes![0]!.error.name).toBe('BlockTooLargeError');
  });

  it('bounds concurrent HTTP requests', async () => {
    const { store, cids, bytes } = await blocks(12);
    const gw = await gateway(store, { faults: { delayMs: 20 } });
    let inFlight = 0;
    let peak = 0;
    const counting: typeof fetch = async (input, init) => {
      peak = Math.max(peak, ++inFlight);
      try {
        const res = await fetch(input, init);
        return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
      } finally {
        inFlight--;
      }
    };
    const { c } = client([gw], { concurrency: 3, fetch: counting });
    const got = await Promise.all(cids.map((cid) => c.getBlock(cid)));
    got.forEach((b, i) => expect(b).toEqual(bytes[i]));
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });

  it('streamRange: one CAR request, only wanted blocks, each verified before the caller sees it; bad bytes reject it', async () => {
    const size = 40 * 1024;
    const bytes = randomBytes(seed + 99, size);
    const { root, store } = await buildDag(bytes, { chunk: 1024, fanout: 4 });
    const leaves: CID[] = [];
    for await (const b of coveringBlocks(root, 8192, 20480, (c) => store.get(c))) if (b.cid.code === raw.code) leaves.push(b.cid);
    const want = new Set(leaves.map((c) => c.toString()));
    const good = await gateway(store);
    const { c } = client([good]);
    const got: Uint8Array[] = [];
    const r = await c.streamRange(root, 8192, 20480, { wanted: (cid) => want.has(cid.toString()), onBlock: async (_, b) => void got.push(b) });
    expect(r).toEqual({ gateway: good.url, blocks: 12 });
    expect(good.stats.requests).toBe(1);
    expect(Buffer.concat(got)).toEqual(Buffer.from(bytes.subarray(8192, 20480)));

    // The fourth leaf corrupted: the three before it were verified and delivered, the bad one
    // rejects the stream and never reaches the caller.
    const bad = await gateway(store, { faults: { corrupt: { cids: [leaves[3]!.toString()] } } });
    const { c: c2 } = client([bad]);
    const seen: CID[] = [];
    const err = await failure(c2.streamRange(root, 8192, 20480, { wanted: (cid) => want.has(cid.toString()), onBlock: async (cid) => void seen.push(cid) }));
    expect(err.name).toBe('IntegrityError');
    expect(seen.map(String)).toEqual(leaves.slice(0, 3).map(String));
    expect(c2.status()[0]).toMatchObject({ integrityFailures: 1, failures: 1 });

    // A gateway that does not do CAR: a GatewayError, and it is not asked for a CAR again.
    const rawOnly = await gateway(store, { car: false });
    const { c: c3 } = client([rawOnly]);
    const opts = { wanted: () => true, onBlock: async () => undefined };
    expect((await failure(c3.streamRange(root, 0, size, opts))).name).toBe('GatewayError');
    expect((await failure(c3.streamRange(root, 0, size, opts))).message).toMatch(/no gateway available for a CAR/);
    expect(rawOnly.stats.requests).toBe(1);

    // A body that runs past what the range can need is cut off (no unbounded buffering).
    const endless: typeof fetch = async () => new Response(new ReadableStream({
      pull(ctl) {
        ctl.enqueue(new Uint8Array(64 * 1024));
      },
    }), { status: 200, headers: { 'content-type': 'application/vnd.ipld.car; version=1' } });
    const { c: c4 } = client([good], { fetch: endless, maxBlockBytes: 4096 });
    expect((await failure(c4.streamRange(root, 0, 1024, opts))).name).toBe('GatewayError');
  });
});
