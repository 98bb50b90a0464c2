// Block exchange between room peers over Helia's bitswap: real libp2p nodes in this process
// (WebSockets on 127.0.0.1, Noise, yamux, as the room's node uses), each with its own store behind
// HeliaBlockstore. Participant B reads a layer range of the fixture model through the exchange, with
// A holding every block and a real local gateway (127.0.0.1) as the fallback whose stats say how many
// blocks it had to serve. Waits on honest peers are generous (seconds): this machine may be loaded,
// and a timeout there would be a strike against a peer that did nothing wrong.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import type { Libp2p } from '@libp2p/interface';
import type { CID } from 'multiformats/cid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, readTensorBytes, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import type { GgufTensorInfo } from '../../src/formats/gguf-types.ts';
import { BlockExchange, type BlockExchangeEvent, type PeerBlockOptions } from '../../src/shard/block-exchange.ts';
import { ShardHost, type BackendFactory } from '../../src/shard/participant.ts';
import { storeFirst } from '../../src/store/block-getter.ts';
import { MemoryBlockstore, type BlockGetter } from '../../src/store/blockstore.ts';
import { importFile } from '../../src/store/cid.ts';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import type { ListableBlockstore } from '../../src/store/helia-blockstore.ts';
import { bitswapNode } from '../helpers/bitswap-node.ts';
import { IdbBlockstore } from '../../src/store/idb-blockstore.ts';
import { MemoryModelStore } from '../../src/store/memory-model-store.ts';
import { createRangeSource } from '../../src/store/unixfs-range.ts';

const file = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
const noLayers: BackendFactory = () => Promise.reject(new Error('this peer only shares blocks'));

let store: MemoryModelStore;
let root: CID;
let gw: RunningGateway;
/** The tensors of layers 1..2 (a participant's range). */
let range: GgufTensorInfo[];

beforeAll(async () => {
  store = new MemoryModelStore();
  root = (await importFile([file], { blockstore: store })).root;
  gw = await startGateway({ port: 0, store });
  const header = await readGgufHeader(await createRangeSource(root, (cid) => store.get(cid)));
  range = header.tensors.filter((t) => /^blk\.[12]\./.test(t.name));
  expect(range.length).toBeGreaterThan(0);
});
afterAll(async () => {
  await gw.close();
});

const stops: (() => Promise<void>)[] = [];
afterEach(async () => { for (const f of stops.splice(0).reverse()) await f(); });

async function peer(blocks: ListableBlockstore): Promise<{ node: Libp2p; exchange: BlockExchange }> {
  const p = await bitswapNode(blocks);
  stops.push(async () => { await p.exchange.stop(); await p.node.stop(); });
  return p;
}

async function connect(from: Libp2p, to: Libp2p): Promise<void> {
  await from.dial(to.getMultiaddrs()[0]!);
}

/** A fresh gateway client and counters: each test reads gw.stats as a difference. */
function gateway(): { get: BlockGetter; served: () => number; requests: () => number } {
  const client = new GatewayClient({ gateways: [gw.url], retries: 0, timeoutMs: 5000 });
  const before = gw.stats.blocksServed;
  const requests = gw.stats.requests;
  return { get: (cid, o) => client.getBlock(cid, o), served: () => gw.stats.blocksServed - before, requests: () => gw.stats.requests - requests };
}

/** A peer store that holds every block but serves `bad` ones with a byte flipped; counts what it served. */
function lying(bad: (cid: CID) => boolean = () => true): ListableBlockstore & { served: number } {
  return {
    served: 0,
    has: (cid) => store.has(cid),
    async get(cid) {
      const b = (await store.get(cid)).slice();
      if (bad(cid)) { b[b.length >> 1] ^= 0x5a; this.served++; }
      return b;
    },
    put: () => Promise.reject(new Error('read-only')),
  };
}

/** A peer store that never answers (a hung peer); counts the requests it swallowed. */
function hung(): ListableBlockstore & { asked: number } {
  return {
    asked: 0,
    has() { this.asked++; return new Promise<boolean>(() => undefined); },
    get: () => new Promise<Uint8Array>(() => undefined),
    put: () => Promise.reject(new Error('read-only')),
  };
}

async function readRange(get: BlockGetter): Promise<{ ok: boolean; fetched: number }> {
  const src = await createRangeSource(root, get, { concurrency: 4 });
  let ok = true;
  for (const t of range) ok &&= Buffer.from(await readTensorBytes(src, t)).equals(Buffer.from(tensorBytesOf(file, t)));
  return { ok, fetched: src.stats.blocksFetched };
}

function getter(ex: BlockExchange, peers: Libp2p[], fallback: BlockGetter, opts: PeerBlockOptions = {}): { get: BlockGetter; events: BlockExchangeEvent[] } {
  const events: BlockExchangeEvent[] = [];
  return { events, get: ex.getter(peers.map((p) => p.peerId), fallback, { timeoutMs: 2000, ...opts, onEvent: (e) => events.push(e) }) };
}

const sources = (events: BlockExchangeEvent[]): string[] => events.flatMap((e) => (e.type === 'block' ? [e.source] : []));
const ofType = <T extends BlockExchangeEvent['type']>(events: BlockExchangeEvent[], type: T): Extract<BlockExchangeEvent, { type: T }>[] =>
  events.filter((e): e is Extract<BlockExchangeEvent, { type: T }> => e.type === type);

describe('block exchange over bitswap', () => {
  it("B gets a layer range's blocks from A with zero gateway requests, and keeps them", async () => {
    const a = await peer(store);
    const bStore = new MemoryBlockstore();
    const b = await peer(bStore);
    await connect(b.node, a.node);
    const gwy = gateway();
    const { get, events } = getter(b.exchange, [a.node], gwy.get, { timeoutMs: 5000 });
    const r = await readRange(storeFirst(bStore, get));
    expect(r.ok).toBe(true);
    expect(gwy.requests()).toBe(0);
    expect(new Set(sources(events))).toEqual(new Set([a.node.peerId.toString()]));
    expect(sources(events).length).toBe(bStore.size); // each verified again by the store's put, and kept
    console.log(`[block-exchange] layers 1-2 (${range.length} tensors): ${bStore.size} blocks from A over bitswap, 0 gateway requests`);

    // Read again (a second tab of B's browser: same store): no exchange at all, no gateway.
    const again = getter(b.exchange, [a.node], gwy.get);
    expect((await readRange(storeFirst(bStore, again.get))).ok).toBe(true);
    expect(again.events).toEqual([]);
    expect(gwy.requests()).toBe(0);

    // B asks A again for blocks A sent it a moment ago (a reader that lost them): A's bitswap ledger
    // drops such a repeat once (RESEND_WINDOW_MS in block-exchange.ts); they still come from A.
    const fresh = getter(b.exchange, [a.node], gwy.get, { timeoutMs: 3000 });
    expect((await readRange(storeFirst(new MemoryBlockstore(), fresh.get))).ok).toBe(true);
    expect(gwy.requests()).toBe(0);
    expect(ofType(fresh.events, 'banned')).toEqual([]);

    // The same block asked again right after A sent it: A's ledger drops that ask once, so it times
    // out, and the second ask (A has served this node) gets it; no gateway.
    const first = getter(b.exchange, [a.node], gwy.get);
    await first.get(root);
    const repeat = getter(b.exchange, [a.node], gwy.get, { timeoutMs: 2000 });
    expect(await repeat.get(root)).toEqual(await store.get(root));
    expect(gwy.requests()).toBe(0);
    expect(sources(repeat.events)).toEqual([a.node.peerId.toString()]);
  });

  it("over IndexedDB stores on both sides (the browser's store; fake-indexeddb in Node)", async () => {
    const aIdb = await IdbBlockstore.open({ dbName: `bx-a-${Date.now()}` });
    const bIdb = await IdbBlockstore.open({ dbName: `bx-b-${Date.now()}` });
    stops.push(async () => { aIdb.close(); bIdb.close(); });
    const src = await createRangeSource(root, storeFirst(aIdb, (cid) => store.get(cid)));
    await src.read(0, src.size); // A holds the whole file, as a coordinator that loaded the model
    const a = await peer(aIdb);
    const b = await peer(bIdb);
    await connect(b.node, a.node);
    const gwy = gateway();
    const { get, events } = getter(b.exchange, [a.node], gwy.get, { timeoutMs: 5000 });
    expect((await readRange(storeFirst(bIdb, get))).ok).toBe(true);
    expect(gwy.requests()).toBe(0);
    expect((await bIdb.stats()).blocks).toBe(sources(events).length);
    expect(new Set(sources(events))).toEqual(new Set([a.node.peerId.toString()]));
  });

  it('a peer serving corrupted bytes is caught as they arrive, banned and not asked again; the blocks come from the gateway', async () => {
    const liarStore = lying();
    const liar = await peer(liarStore);
    const b = await peer(new MemoryBlockstore());
    expect(b.exchange.catchesWrongBlocks).toBe(true); // @helia/bitswap still announces received blocks
    await connect(b.node, liar.node);
    const gwy = gateway();
    // A wait far longer than the test: the liar must be caught by its bytes, not by a timeout.
    const { get, events } = getter(b.exchange, [liar.node], gwy.get, { timeoutMs: 60_000, maxIntegrityFailures: 2 });
    const r = await readRange(get);
    expect(r.ok).toBe(true); // no corrupted byte was used
    expect(liarStore.served).toBeGreaterThan(0); // it did answer, with wrong bytes
    expect(ofType(events, 'timeout')).toEqual([]);
    const integrity = ofType(events, 'integrity');
    expect(integrity.length).toBeGreaterThanOrEqual(2);
    expect(integrity.every((e) => e.error.name === 'IntegrityError' && e.peer === liar.node.peerId.toString())).toBe(true);
    expect(ofType(events, 'banned')).toEqual([{ type: 'banned', peer: liar.node.peerId.toString(), reason: 'integrity' }]);
    expect(sources(events).every((s) => s === 'gateway')).toBe(true);
    expect(gwy.served()).toBe(r.fetched);
    // Banned: another read through the same getter never reaches it.
    const served = liarStore.served;
    const asks = events.length;
    expect((await readRange(get)).ok).toBe(true);
    expect(liarStore.served).toBe(served);
    expect(events.slice(asks).every((e) => e.type === 'block' && e.source === 'gateway')).toBe(true);
  });

  it('an honest peer beside a liar: the liar is dropped, the rest comes from the honest one', async () => {
    const liarStore = lying();
    const liar = await peer(liarStore);
    const a = await peer(store);
    const b = await peer(new MemoryBlockstore());
    await connect(b.node, liar.node);
    await connect(b.node, a.node);
    // Asked in this order: the liar first (both have served nothing yet).
    const gwy = gateway();
    const { get, events } = getter(b.exchange, [liar.node, a.node], gwy.get, { timeoutMs: 60_000, maxIntegrityFailures: 1 });
    const r = await readRange(storeFirst(new MemoryBlockstore(), get));
    expect(r.ok).toBe(true);
    const short = (p: string): string => (p === a.node.peerId.toString() ? 'A' : p === liar.node.peerId.toString() ? 'liar' : p);
    expect(gwy.requests(), events.map((e) => `${e.type} ${short('peer' in e ? e.peer : e.source)}`).join(', ')).toBe(0);
    expect(liarStore.served).toBe(1); // it answered the first ask, with wrong bytes
    expect(ofType(events, 'integrity').map((e) => e.peer)).toEqual([liar.node.peerId.toString()]);
    expect(ofType(events, 'banned')).toEqual([{ type: 'banned', peer: liar.node.peerId.toString(), reason: 'integrity' }]);
    expect(new Set(sources(events))).toEqual(new Set([a.node.peerId.toString()]));
  });

  it('a peer that never answers times out within the bound, is dropped, and the gateway serves', async () => {
    const h = hung();
    const slow = await peer(h);
    const b = await peer(new MemoryBlockstore());
    await connect(b.node, slow.node);
    const gwy = gateway();
    const { get, events } = getter(b.exchange, [slow.node], gwy.get, { timeoutMs: 200, maxTimeouts: 2 });
    const r = await readRange(get);
    expect(r.ok).toBe(true);
    expect(ofType(events, 'timeout').map((e) => e.ms)).toEqual([200, 200]);
    expect(ofType(events, 'banned')).toEqual([{ type: 'banned', peer: slow.node.peerId.toString(), reason: 'timeout' }]);
    expect(h.asked).toBeGreaterThan(0);
    expect(gwy.served()).toBe(r.fetched);
  });

  it('a peer without the blocks answers at once (a miss, no strike), and abort is honoured without a fallback', async () => {
    const empty = await peer(new MemoryBlockstore());
    const b = await peer(new MemoryBlockstore());
    await connect(b.node, empty.node);
    const gwy = gateway();
    const { get, events } = getter(b.exchange, [empty.node], gwy.get, { timeoutMs: 5000 });
    expect(await get(root)).toEqual(await store.get(root));
    expect(ofType(events, 'miss')).toHaveLength(1);
    expect(ofType(events, 'timeout')).toHaveLength(0);
    expect(gwy.served()).toBe(1);

    const h = await peer(hung());
    await connect(b.node, h.node);
    const before = gwy.requests();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const hungGet = b.exchange.getter([h.node.peerId], gwy.get, { timeoutMs: 30_000 });
    await expect(hungGet(root, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(gwy.requests()).toBe(before);
  });
});

describe('ShardHost block requests (the shard link still answers them)', () => {
  it('answers held blocks, no-block for others, an error for a malformed CID', async () => {
    const host = new ShardHost(noLayers, { blocks: store });
    const signal = new AbortController().signal;
    const res = await host.handle({ op: 'block', cid: root.toString() }, signal);
    expect(res.op).toBe('block');
    if (res.op !== 'block') return;
    expect(new Uint8Array(res.bytes)).toEqual(await store.get(root));
    expect(await new ShardHost(noLayers, { blocks: new MemoryBlockstore() }).handle({ op: 'block', cid: root.toString() }, signal)).toEqual({ op: 'no-block', cid: root.toString() });
    expect(await host.handle({ op: 'block', cid: 'not-a-cid' }, signal)).toMatchObject({ op: 'error', name: 'InvalidCidError' });
  });
});
