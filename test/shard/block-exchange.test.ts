// Block exchange between room peers: participant A reads the fixture model's bytes through
// peerBlockGetter, with peer B (a ShardHost behind a LocalLink) holding the blocks and a real local
// gateway (127.0.0.1) as the fallback whose stats say how many blocks it had to serve.
import { readFileSync } from 'node:fs';
import type { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, readTensorBytes, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import type { GgufTensorInfo } from '../../src/formats/gguf-types.ts';
import { peerBlockGetter, type BlockExchangeEvent, type PeerBlockOptions } from '../../src/shard/block-exchange.ts';
import { LocalLink, type LinkFaults } from '../../src/shard/local-link.ts';
import { ShardHost, type BackendFactory, type BlockSource } from '../../src/shard/participant.ts';
import type { ParticipantLink } from '../../src/shard/wire.ts';
import { MemoryBlockstore, type BlockGetter } from '../../src/store/blockstore.ts';
import { importFile } from '../../src/store/cid.ts';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import { MemoryModelStore } from '../../src/store/memory-model-store.ts';
import { createRangeSource } from '../../src/store/unixfs-range.ts';

const file = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
const noLayers: BackendFactory = () => Promise.reject(new Error('this peer only shares blocks'));

let store: MemoryModelStore;
let root: CID;
let nBlocks: number;
let gw: RunningGateway;
let tensor: GgufTensorInfo;

beforeAll(async () => {
  store = new MemoryModelStore();
  const imported = await importFile([file], { blockstore: store });
  root = imported.root;
  nBlocks = imported.blocks;
  gw = await startGateway({ port: 0, store });
  // A tensor whose bytes straddle a 256 KiB leaf boundary, so one tensor read needs two leaves.
  const header = await readGgufHeader(await createRangeSource(root, (cid) => store.get(cid)));
  const leaf = (at: number): number => Math.floor(at / 262144);
  tensor = header.tensors.find((t) => leaf(t.absoluteOffset) !== leaf(t.absoluteOffset + t.byteSize - 1))!;
  expect(tensor).toBeDefined();
});
afterAll(async () => {
  await gw.close();
});

/** A fresh gateway client and counters: each test reads gw.stats as a difference. */
function gateway(): { get: BlockGetter; served: () => number } {
  const client = new GatewayClient({ gateways: [gw.url], retries: 0, timeoutMs: 5000 });
  const before = gw.stats.blocksServed;
  return { get: (cid, o) => client.getBlock(cid, o), served: () => gw.stats.blocksServed - before };
}

function peer(id: string, blocks: BlockSource | undefined, faults: LinkFaults = {}): LocalLink {
  return new LocalLink(id, new ShardHost(noLayers, { blocks }), faults);
}

/** A peer store that flips a byte of every block `bad` picks (all by default). */
function lying(bad: (cid: CID) => boolean = () => true): BlockSource {
  return {
    async get(cid) {
      const b = (await store.get(cid)).slice();
      if (bad(cid)) b[b.length >> 1] ^= 0x5a;
      return b;
    },
  };
}

function blockAsks(link: LocalLink): number {
  return link.log.filter((op) => op === 'block').length;
}

async function readThrough(
  peers: ParticipantLink[] | (() => ParticipantLink[]),
  fallback: BlockGetter,
  opts: PeerBlockOptions = {},
  concurrency = 8,
): Promise<{ events: BlockExchangeEvent[]; tensorBytes: Uint8Array; whole: Uint8Array; fetched: number }> {
  const events: BlockExchangeEvent[] = [];
  const get = peerBlockGetter(peers, fallback, { timeoutMs: 2000, ...opts, onEvent: (e) => events.push(e) });
  const src = await createRangeSource(root, get, { concurrency });
  const tensorBytes = await readTensorBytes(src, tensor);
  const whole = await src.read(0, src.size);
  return { events, tensorBytes, whole, fetched: src.stats.blocksFetched };
}

const sources = (events: BlockExchangeEvent[]): string[] => events.flatMap((e) => (e.type === 'block' ? [e.source] : []));
const ofType = <T extends BlockExchangeEvent['type']>(events: BlockExchangeEvent[], type: T): Extract<BlockExchangeEvent, { type: T }>[] =>
  events.filter((e): e is Extract<BlockExchangeEvent, { type: T }> => e.type === type);

describe('ShardHost block requests', () => {
  it('answers held blocks, no-block for others, an error for a malformed CID', async () => {
    const host = new ShardHost(noLayers, { blocks: store });
    const signal = new AbortController().signal;
    const res = await host.handle({ op: 'block', cid: root.toString() }, signal);
    expect(res.op).toBe('block');
    if (res.op !== 'block') return;
    expect(new Uint8Array(res.bytes)).toEqual(await store.get(root));
    const empty = new ShardHost(noLayers, { blocks: new MemoryBlockstore() });
    expect(await empty.handle({ op: 'block', cid: root.toString() }, signal)).toEqual({ op: 'no-block', cid: root.toString() });
    expect(await new ShardHost(noLayers).handle({ op: 'block', cid: root.toString() }, signal)).toEqual({ op: 'no-block', cid: root.toString() });
    expect(await host.handle({ op: 'block', cid: 'not-a-cid' }, signal)).toMatchObject({ op: 'error', name: 'InvalidCidError' });
  });

  it('does not queue block requests behind a slow load', async () => {
    const host = new ShardHost(() => new Promise(() => undefined), { blocks: store });
    const signal = new AbortController().signal;
    void host.handle({ op: 'load', from: 0, to: 1 }, signal); // never finishes
    expect((await host.handle({ op: 'block', cid: root.toString() }, signal)).op).toBe('block');
  });
});

describe('peerBlockGetter', () => {
  it('reads a tensor and the whole file from a peer with zero gateway requests', async () => {
    const gwy = gateway();
    const requests = gw.stats.requests;
    const b = peer('B', store);
    const r = await readThrough([b], gwy.get);
    expect(r.tensorBytes).toEqual(tensorBytesOf(file, tensor));
    expect(r.whole).toEqual(file);
    expect(gw.stats.requests - requests).toBe(0);
    expect(gwy.served()).toBe(0);
    expect(new Set(sources(r.events))).toEqual(new Set(['B']));
    expect(sources(r.events).length).toBe(r.fetched);
    console.log(`[block-exchange] ${nBlocks} blocks in the DAG; tensor ${tensor.name} (${tensor.byteSize} B) + whole file: ${r.fetched} blocks from peer B, 0 from the gateway`);
  });

  it('takes a corrupted block from the gateway and never asks that peer for it again', async () => {
    const gwy = gateway();
    const target = root; // every range source reads the root first, so a second source asks again
    const b = peer('B', lying((cid) => cid.equals(target)));
    const events: BlockExchangeEvent[] = [];
    const get = peerBlockGetter([b], gwy.get, { onEvent: (e) => events.push(e) });
    for (let i = 0; i < 2; i++) {
      const src = await createRangeSource(root, get);
      expect(await readTensorBytes(src, tensor)).toEqual(tensorBytesOf(file, tensor));
    }
    const integrity = ofType(events, 'integrity');
    expect(integrity).toHaveLength(1);
    expect(integrity[0]!.error.name).toBe('IntegrityError');
    expect(integrity[0]!.cid).toBe(target.toString());
    expect(gwy.served()).toBe(2); // the root, twice; the second time without asking B
    expect(events.filter((e) => e.type === 'block' && e.cid === target.toString()).map((e) => (e as { source: string }).source)).toEqual(['gateway', 'gateway']);
    expect(ofType(events, 'banned')).toHaveLength(0); // one bad block is not yet a ban
  });

  it('stops asking a peer at all after repeated bad blocks; bytes still right', async () => {
    const gwy = gateway();
    const b = peer('B', lying());
    const r = await readThrough([b], gwy.get, { maxIntegrityFailures: 2 }, 1);
    expect(r.tensorBytes).toEqual(tensorBytesOf(file, tensor));
    expect(r.whole).toEqual(file);
    expect(ofType(r.events, 'integrity')).toHaveLength(2);
    expect(ofType(r.events, 'banned')).toEqual([{ type: 'banned', peer: 'B', reason: 'integrity' }]);
    expect(blockAsks(b)).toBe(2);
    expect(sources(r.events).every((s) => s === 'gateway')).toBe(true);
    expect(gwy.served()).toBe(r.fetched);
  });

  it('falls back to the gateway for blocks a peer lacks, and uses a second peer that has them', async () => {
    const gwy = gateway();
    const empty = peer('E', new MemoryBlockstore());
    const r = await readThrough([empty], gwy.get);
    expect(r.whole).toEqual(file);
    expect(ofType(r.events, 'miss').length).toBe(r.fetched);
    expect(gwy.served()).toBe(r.fetched);
    expect(ofType(r.events, 'banned')).toHaveLength(0); // not holding a block is no fault

    const gwy2 = gateway();
    const r2 = await readThrough([peer('E', new MemoryBlockstore()), peer('B', store)], gwy2.get);
    expect(r2.whole).toEqual(file);
    expect(gwy2.served()).toBe(0);
    expect(new Set(sources(r2.events))).toEqual(new Set(['B']));
  });

  it('times out a hung peer, then uses the gateway (or the next peer) and drops the hung one', async () => {
    const gwy = gateway();
    const hung = peer('H', store, { delayMs: 60_000 });
    const t0 = performance.now();
    const r = await readThrough([hung], gwy.get, { timeoutMs: 100, maxTimeouts: 2 }, 1);
    const ms = performance.now() - t0;
    expect(r.whole).toEqual(file);
    expect(ofType(r.events, 'timeout')).toHaveLength(2);
    expect(ofType(r.events, 'banned')).toEqual([{ type: 'banned', peer: 'H', reason: 'timeout' }]);
    expect(blockAsks(hung)).toBe(2);
    expect(gwy.served()).toBe(r.fetched);

    const gwy2 = gateway();
    const r2 = await readThrough([peer('H', store, { delayMs: 60_000 }), peer('B', store)], gwy2.get, { timeoutMs: 100 }, 1);
    expect(r2.whole).toEqual(file);
    expect(gwy2.served()).toBe(0);
    console.log(`[block-exchange] hung peer: 2 timeouts of 100 ms, then banned; ${r.fetched} blocks from the gateway in ${ms.toFixed(0)} ms`);
  });

  it('sees peers that join later when given a function', async () => {
    const gwy = gateway();
    const room: ParticipantLink[] = [];
    const get = peerBlockGetter(() => room, gwy.get);
    await get(root);
    expect(gwy.served()).toBe(1);
    room.push(peer('B', store));
    expect(await get(root)).toEqual(await store.get(root));
    expect(gwy.served()).toBe(1);
  });

  it('honours abort while a peer hangs, without falling back', async () => {
    const gwy = gateway();
    const requests = gw.stats.requests;
    const get = peerBlockGetter([peer('H', store, { delayMs: 60_000 })], gwy.get, { timeoutMs: 30_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(get(root, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(gw.stats.requests - requests).toBe(0);
  });
});
