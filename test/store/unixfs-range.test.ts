import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import * as raw from 'multiformats/codecs/raw';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterEach, describe, expect, it } from 'vitest';
import { storeFirst } from '../../src/store/block-getter.ts';
import { MemoryBlockstore, type BlockGetter } from '../../src/store/blockstore.ts';
import { importFile } from '../../src/store/cid.ts';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import { coveringBlocks, createRangeSource } from '../../src/store/unixfs-range.ts';
import { buildDag, makeRandom, randomBytes, testSeed } from './helpers.ts';

const seed = testSeed('unixfs-range');
let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** A getter that records what it was asked for. */
function tracking(store: MemoryBlockstore): { get: BlockGetter; asked: CID[] } {
  const asked: CID[] = [];
  return { asked, get: async (cid, o) => (asked.push(cid), store.get(cid, o)) };
}

/**
 * The oracle for coveringBlocks: the same blocks (depth-first pre-order, only children that
 * overlap [from, to)) walked one read at a time, as coveringBlocks did before it read ahead.
 */
async function* sequentialWalk(cid: CID, start: number, from: number, to: number, get: BlockGetter): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const bytes = await get(cid);
  yield { cid, bytes };
  if (cid.code === raw.code) return;
  const node = dagPb.decode(bytes);
  const fs = UnixFS.unmarshal(node.Data!);
  let pos = start + (fs.data?.length ?? 0);
  for (const [i, link] of node.Links.entries()) {
    const size = Number(fs.blockSizes[i]);
    if (pos >= to) break;
    if (size > 0 && pos + size > from) yield* sequentialWalk(link.Hash, pos, from, to, get);
    pos += size;
  }
}

/** A getter over `store` whose reads take 0-2 ms (seeded), out of order, counting reads in flight. */
function slowCounting(store: MemoryBlockstore, rnd: (n: number) => Uint8Array): { get: BlockGetter; max: () => number; reset: () => void } {
  let inFlight = 0;
  let max = 0;
  const get: BlockGetter = async (cid, o) => {
    inFlight++;
    max = Math.max(max, inFlight);
    try {
      await new Promise((r) => setTimeout(r, rnd(1)[0]! % 3));
      return await store.get(cid, o);
    } finally {
      inFlight--;
    }
  };
  return { get, max: () => max, reset: () => void (max = 0) };
}

async function collect(blocks: AsyncIterable<{ cid: CID; bytes: Uint8Array }>): Promise<Array<{ cid: string; bytes: Uint8Array }>> {
  const out: Array<{ cid: string; bytes: Uint8Array }> = [];
  for await (const b of blocks) out.push({ cid: b.cid.toString(), bytes: b.bytes });
  return out;
}

/** READ_AHEAD in src/store/unixfs-range.ts: siblings read while one is yielded. */
const READ_AHEAD = 4;

describe('unixfs range reads', () => {
  it('reads any range of a deep DAG exactly (raw and dag-pb leaves)', async () => {
    for (const rawLeaves of [true, false]) {
      const bytes = randomBytes(seed, 40 * 1024 + 17);
      const { root, store } = await buildDag(bytes, { rawLeaves });
      const src = await createRangeSource(root, (cid) => store.get(cid));
      expect(src.size).toBe(bytes.length);
      const rnd = makeRandom(seed ^ 0x5bd1e995);
      for (let i = 0; i < 60; i++) {
        const [a, b] = new Uint32Array(rnd(8).buffer);
        const offset = a! % (bytes.length + 10);
        const length = b! % 6000;
        const want = bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
        expect(await src.read(offset, length)).toEqual(want);
      }
      expect(await src.read(0, bytes.length)).toEqual(bytes);
      expect((await src.read(bytes.length, 5)).length).toBe(0);
    }
  });

  it('fetches only the covering blocks plus the path to them (count asserted)', async () => {
    const bytes = randomBytes(seed, 40 * 1024); // 40 leaves; fanout 4: root -> 3 -> 10 -> 40
    const { root, store } = await buildDag(bytes);
    const t = tracking(store);
    const src = await createRangeSource(root, t.get);
    expect(src.stats.blocksFetched).toBe(1); // the root
    // Bytes 5000..9215 lie in leaves 4..8, under level-1 nodes 1 and 2, under one level-2 node.
    expect(await src.read(5000, 4216)).toEqual(bytes.subarray(5000, 9216));
    expect(src.stats.blocksFetched).toBe(1 + 1 + 2 + 5);
    // Interior nodes are cached: the same read again costs only its 5 leaves.
    await src.read(5000, 4216);
    expect(src.stats.blocksFetched).toBe(9 + 5);
    // A range ending exactly on a leaf boundary does not touch the next leaf.
    const before = t.asked.length;
    await src.read(0, 1024);
    const leaves = t.asked.slice(before).filter((c) => c.code === raw.code);
    expect(leaves).toHaveLength(1);
  });

  it('Kubo-shaped DAG (256 KiB dag-pb leaves, CIDv0): the first 4 bytes cost root + one leaf', async () => {
    const bytes = randomBytes(seed, 1024 * 1024 + 5);
    const store = new MemoryBlockstore();
    const { root } = await importFile([bytes], { blockstore: store });
    const src = await createRangeSource(root.toString(), (cid) => store.get(cid));
    expect(await src.read(0, 4)).toEqual(bytes.subarray(0, 4));
    expect(src.stats.blocksFetched).toBe(2);
    expect(await src.read(262140, 10)).toEqual(bytes.subarray(262140, 262150));
    expect(await src.read(1024 * 1024, 100)).toEqual(bytes.subarray(1024 * 1024));
  });

  it('a single raw block is a file too', async () => {
    const bytes = randomBytes(seed, 100);
    const cid = CID.createV1(raw.code, await sha256.digest(bytes));
    const store = new MemoryBlockstore();
    await store.put(cid, bytes);
    const src = await createRangeSource(cid, (c) => store.get(c));
    expect(src.size).toBe(100);
    expect(await src.read(10, 5)).toEqual(bytes.subarray(10, 15));
  });

  it('rejects a DAG whose blocksizes lie (UnixFSError) and bad ranges (RangeError)', async () => {
    const leaf = randomBytes(seed, 5);
    const leafCid = CID.createV1(raw.code, await sha256.digest(leaf));
    const fs = new UnixFS({ type: 'file', blockSizes: [10n] });
    const node = dagPb.encode(dagPb.prepare({ Data: fs.marshal(), Links: [{ Hash: leafCid, Tsize: 5 }] }));
    const rootCid = CID.createV1(dagPb.code, await sha256.digest(node));
    const store = new MemoryBlockstore();
    await store.put(leafCid, leaf);
    await store.put(rootCid, node);
    const src = await createRangeSource(rootCid, (c) => store.get(c));
    await expect(src.read(0, 4)).rejects.toMatchObject({ name: 'UnixFSError' });
    await expect(src.read(-1, 4)).rejects.toBeInstanceOf(RangeError);
  });

  it('through the gateway client: only covering blocks cross the network and land in the store', async () => {
    const bytes = randomBytes(seed, 40 * 1024);
    const { root, store: remote } = await buildDag(bytes);
    gw = await startGateway({ store: remote });
    const client = new GatewayClient({ gateways: [gw.url] });
    const local = new MemoryBlockstore();
    const src = await createRangeSource(root, storeFirst(local, (c, o) => client.getBlock(c, o)));
    expect(await src.read(1020, 8)).toEqual(bytes.subarray(1020, 1028)); // leaves 0 and 1
    expect(gw.stats.blocksServed).toBe(1 + 1 + 1 + 2);
    expect(local.size).toBe(5);
    // A second source over the same store needs no network for what is already local.
    const again = await createRangeSource(root, storeFirst(local, (c, o) => client.getBlock(c, o)));
    await again.read(1020, 8);
    expect(gw.stats.blocksServed).toBe(5);
  });

  it('an aborted read rejects with AbortError', async () => {
    const { root, store } = await buildDag(randomBytes(seed, 8 * 1024));
    const src = await createRangeSource(root, (c) => store.get(c));
    await expect(src.read(0, 10, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('coveringBlocks reads ahead: the same blocks in the same order as a sequential walk, reads in flight bounded', async () => {
    const rnd = makeRandom(seed ^ 0x2545f491);
    const bytes = randomBytes(seed, 64 * 1024 + 100);
    // fanout 128: root -> 65 leaves (one level, Kubo's shape up to 174 leaves); fanout 8: root -> 9 -> 65.
    for (const [fanout, levels] of [[128, 1], [8, 2]] as const) {
      const { root, store } = await buildDag(bytes, { chunk: 1024, fanout });
      const slow = slowCounting(store, rnd);
      const ranges: Array<[number, number]> = [[0, bytes.length], [0, 1], [1023, 1025], [bytes.length - 1, bytes.length], [5, 5]];
      for (let i = 0; i < 8; i++) {
        const [a, b] = new Uint32Array(rnd(8).buffer);
        const from = a! % bytes.length;
        ranges.push([from, Math.min(bytes.length, from + (b! % 20_000))]);
      }
      let maxSeen = 0;
      for (const [from, to] of ranges) {
        const want = await collect(sequentialWalk(root, 0, from, to, (c) => store.get(c)));
        slow.reset();
        const got = await collect(coveringBlocks(root, from, to, slow.get));
        expect(got.map((b) => b.cid), `fanout ${fanout} [${from}, ${to})`).toEqual(want.map((b) => b.cid));
        for (let i = 0; i < want.length; i++) expect(got[i]!.bytes).toEqual(want[i]!.bytes);
        // Each level on the path reads ahead on its own: READ_AHEAD pending at each interior level,
        // 1 + READ_AHEAD at the deepest. One level of leaves: at most 5 reads at once.
        expect(slow.max()).toBeLessThanOrEqual(READ_AHEAD * levels + 1);
        maxSeen = Math.max(maxSeen, slow.max());
      }
      expect(maxSeen, `fanout ${fanout}`).toBeGreaterThan(1); // reads really overlap
    }
  });

  it('coveringBlocks: a consumer that stops early leaves no unhandled rejection from a failed read-ahead; one that goes on gets the error', async () => {
    const bytes = randomBytes(seed, 16 * 1024);
    const { root, store } = await buildDag(bytes, { chunk: 1024, fanout: 32 }); // root -> 16 leaves
    const leaves = dagPb.decode(await store.get(root)).Links.map((l) => l.Hash.toString());
    const bad = leaves[3]!; // read ahead while leaf 0 is yielded
    let failedReads = 0;
    const get: BlockGetter = async (cid, o) => {
      await new Promise((r) => setTimeout(r, cid.toString() === bad ? 5 : 1));
      if (cid.toString() === bad) {
        failedReads++;
        throw new Error(`injected read failure of ${cid}`);
      }
      return store.get(cid, o);
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const seen: string[] = [];
      for await (const b of coveringBlocks(root, 0, bytes.length, get)) {
        seen.push(b.cid.toString());
        if (seen.length === 2) break; // root and leaf 0
      }
      expect(seen).toEqual([root.toString(), leaves[0]]);
      await new Promise((r) => setTimeout(r, 30)); // the bad read fails after the consumer left
      expect(failedReads).toBe(1);
      expect(unhandled).toEqual([]);
      // Going on, the consumer meets the failure at that block's turn (after leaves 0..2).
      const got: string[] = [];
      const err = await (async () => {
        for await (const b of coveringBlocks(root, 0, bytes.length, get)) got.push(b.cid.toString());
      })().catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/injected read failure/);
      expect(got).toEqual([root.toString(), ...leaves.slice(0, 3)]);
      await new Promise((r) => setTimeout(r, 30));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
