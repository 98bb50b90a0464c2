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
import { createRangeSource } from '../../src/store/unixfs-range.ts';
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
});
