// The join flow's block chain (slice-blocks.ts: this browser's store, then the room's peers over
// bitswap, then the gateway), as the join panel builds it: sliceBlockGetter over an IdbBlockstore
// (fake-indexeddb), usePeers with the stage a libp2p room gives (Libp2pRoom.blockGetter is
// exchange.getter(linked peers, gateway); Node has no RTCPeerConnection, so the nodes link over
// WebSockets on 127.0.0.1). A real local gateway counts what it had to serve. The app offers no way
// to make a lying peer, so the corrupted-blocks case of the WebRTC e2e lives here.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import type { Libp2p } from '@libp2p/interface';
import type { CID } from 'multiformats/cid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, readTensorBytes, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import type { GgufTensorInfo } from '../../src/formats/gguf-types.ts';
import { BlockExchange, type BlockExchangeEvent } from '../../src/shard/block-exchange.ts';
import { sliceBlockGetter, type SliceCounts } from '../../src/shard/slice-blocks.ts';
import type { BlockGetter } from '../../src/store/blockstore.ts';
import { importFile } from '../../src/store/cid.ts';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import type { ListableBlockstore } from '../../src/store/helia-blockstore.ts';
import { bitswapNode } from '../helpers/bitswap-node.ts';
import { IdbBlockstore } from '../../src/store/idb-blockstore.ts';
import { MemoryModelStore } from '../../src/store/memory-model-store.ts';
import { createRangeSource } from '../../src/store/unixfs-range.ts';

const file = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
let held: MemoryModelStore;
let root: CID;
let gw: RunningGateway;
let range: GgufTensorInfo[];
let dbs = 0;

beforeAll(async () => {
  held = new MemoryModelStore();
  root = (await importFile([file], { blockstore: held })).root;
  gw = await startGateway({ port: 0, store: held });
  const header = await readGgufHeader(await createRangeSource(root, (cid) => held.get(cid)));
  range = header.tensors.filter((t) => /^blk\.[12]\./.test(t.name));
  expect(range.length).toBeGreaterThan(0);
});
afterAll(async () => { await gw.close(); });

const stops: (() => Promise<void>)[] = [];
afterEach(async () => { for (const f of stops.splice(0).reverse()) await f(); });

async function node(blocks: ListableBlockstore): Promise<{ node: Libp2p; exchange: BlockExchange }> {
  const p = await bitswapNode(blocks);
  stops.push(async () => { await p.exchange.stop(); await p.node.stop(); });
  return p;
}

/** What openModelSlice builds: counted gateway reads under sliceBlockGetter over a fresh IndexedDB store. */
async function participant(): Promise<{ store: IdbBlockstore; counts: SliceCounts; getter: BlockGetter; usePeers: ReturnType<typeof sliceBlockGetter>['usePeers']; gateway: BlockGetter }> {
  const store = await IdbBlockstore.open({ dbName: `slice-peers-${process.pid}-${dbs++}` });
  stops.push(async () => store.close());
  const client = new GatewayClient({ gateways: [gw.url], retries: 0, timeoutMs: 5000 });
  const counts: SliceCounts = { fromStore: 0, fromGateways: 0, bytesFromGateways: 0, fromPeers: 0, bytesFromPeers: 0 };
  const gateway: BlockGetter = async (cid, o) => {
    const b = await client.getBlock(cid, o);
    counts.fromGateways++;
    counts.bytesFromGateways += b.length;
    return b;
  };
  return { store, counts, gateway, ...sliceBlockGetter(store, gateway, counts) };
}

async function readRange(get: BlockGetter): Promise<boolean> {
  const src = await createRangeSource(root, get, { concurrency: 4 });
  let ok = true;
  for (const t of range) ok &&= Buffer.from(await readTensorBytes(src, t)).equals(Buffer.from(tensorBytesOf(file, t)));
  return ok;
}

describe("a participant's slice reads: store, then room peers over bitswap, then the gateway", () => {
  it("reads its layers from the coordinator with 0 gateway blocks, keeps them, and rereads them from its store", async () => {
    const coord = await node(held);
    const p = await participant();
    const me = await node(p.store);
    await me.node.dial(coord.node.getMultiaddrs()[0]!);
    // The header before joining: no room yet, so the gateway.
    await readGgufHeader(await createRangeSource(root, p.getter));
    const headerBlocks = p.counts.fromGateways;
    expect(headerBlocks).toBeGreaterThan(0);
    const served0 = gw.stats.blocksServed;
    const events: BlockExchangeEvent[] = [];
    p.usePeers((gateway) => me.exchange.getter(() => [coord.node.peerId], gateway, { timeoutMs: 5000, onEvent: (e) => events.push(e) }));
    expect(await readRange(p.getter)).toBe(true);
    expect(p.counts.fromGateways).toBe(headerBlocks);
    expect(gw.stats.blocksServed - served0).toBe(0);
    expect(p.counts.fromPeers).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'block').every((e) => e.type === 'block' && e.source === coord.node.peerId.toString())).toBe(true);
    const peers = p.counts.fromPeers;
    const stored = p.counts.fromStore;
    expect(await readRange(p.getter)).toBe(true);
    expect(p.counts.fromPeers).toBe(peers);
    expect(p.counts.fromStore).toBeGreaterThan(stored);
  });

  it('a coordinator serving corrupted blocks is caught and banned; the layers come from the gateway, correct', async () => {
    let corrupted = 0;
    const liar: ListableBlockstore = {
      has: (cid) => held.has(cid),
      async get(cid) { const b = (await held.get(cid)).slice(); b[b.length >> 1] ^= 0x5a; corrupted++; return b; },
      put: () => Promise.reject(new Error('read-only')),
    };
    const coord = await node(liar);
    const p = await participant();
    const me = await node(p.store);
    await me.node.dial(coord.node.getMultiaddrs()[0]!);
    const events: BlockExchangeEvent[] = [];
    p.usePeers((gateway) => me.exchange.getter(() => [coord.node.peerId], gateway, { timeoutMs: 5000, onEvent: (e) => events.push(e) }));
    expect(await readRange(p.getter)).toBe(true);
    expect(corrupted).toBeGreaterThan(0);
    expect(p.counts.fromPeers).toBe(0);
    expect(p.counts.fromGateways).toBeGreaterThan(0);
    expect(events).toContainEqual({ type: 'banned', peer: coord.node.peerId.toString(), reason: 'integrity' });
    expect(events.filter((e) => e.type === 'integrity').length).toBeGreaterThan(0);
    // What the participant kept is the gateway's verified bytes, not the liar's.
    for (const cid of [root]) expect(Buffer.from(await p.store.get(cid)).equals(Buffer.from(await held.get(cid)))).toBe(true);
  });
});
