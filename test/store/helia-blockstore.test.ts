// HeliaBlockstore: interface-blockstore's contract over our stores, on fresh seeded blocks. What
// bitswap relies on (has, get as chunks, NotFoundError by name) and what a Helia caller may use
// (put with chunks, putMany, getMany, getAll, delete, deleteMany), and that put never stores bytes
// that do not hash to the CID. IndexedDB in Node is fake-indexeddb (an implementation of the spec):
// the browsers run the same store in the e2e store tests.
import 'fake-indexeddb/auto';
import * as raw from 'multiformats/codecs/raw';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { describe, expect, it } from 'vitest';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { FsBlockstore } from '../../src/store/fs-blockstore.ts';
import { HeliaBlockstore } from '../../src/store/helia-blockstore.ts';
import { IdbBlockstore } from '../../src/store/idb-blockstore.ts';
import { makeRandom, testSeed, withTempDir } from './helpers.ts';

async function blocks(n: number, label: string): Promise<{ cid: CID; bytes: Uint8Array }[]> {
  const rand = makeRandom(testSeed(label));
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const bytes = rand(1 + ((i * 7919) % 70_000));
    return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes };
  }));
}

async function collect<T>(it: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function joined(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  return Buffer.concat(await collect(chunks));
}

describe('HeliaBlockstore over MemoryBlockstore', () => {
  it('put (whole or in chunks), has, get, getMany, getAll, delete, deleteMany', async () => {
    const inner = new MemoryBlockstore();
    const bs = new HeliaBlockstore(inner);
    const [a, b, c, d] = await blocks(4, 'helia-blockstore');
    expect(await bs.put(a!.cid, a!.bytes)).toBe(a!.cid);
    // Chunks as a sync iterable and as an async one: joined before hashing.
    const half = b!.bytes.length >> 1;
    await bs.put(b!.cid, [b!.bytes.subarray(0, half), b!.bytes.subarray(half)]);
    await bs.put(c!.cid, (async function* () { yield c!.bytes.subarray(0, 10); yield c!.bytes.subarray(10); })());
    expect(inner.size).toBe(3);
    expect(await bs.has(b!.cid)).toBe(true);
    expect(await bs.has(d!.cid)).toBe(false);
    expect(await joined(bs.get(c!.cid))).toEqual(Buffer.from(c!.bytes));

    const many = await collect(bs.getMany([a!.cid, b!.cid]));
    expect(many.map((p) => p.cid.toString())).toEqual([a!.cid.toString(), b!.cid.toString()]);
    expect(await joined(many[1]!.bytes)).toEqual(Buffer.from(b!.bytes));

    const all = await collect(bs.getAll());
    expect(all.map((p) => p.cid.toString()).sort()).toEqual([a, b, c].map((x) => x!.cid.toString()).sort());

    expect(await collect(bs.putMany([{ cid: d!.cid, bytes: d!.bytes }]))).toEqual([d!.cid]);
    await bs.delete(a!.cid);
    expect(await bs.has(a!.cid)).toBe(false);
    expect(await collect(bs.deleteMany([b!.cid, c!.cid]))).toEqual([b!.cid, c!.cid]);
    expect((await collect(bs.getAll())).map((p) => p.cid.toString())).toEqual([d!.cid.toString()]);
  });

  it('refuses bytes that do not hash to the CID (IntegrityError), and keeps nothing', async () => {
    const inner = new MemoryBlockstore();
    const bs = new HeliaBlockstore(inner);
    const [a] = await blocks(1, 'helia-blockstore-integrity');
    const bad = a!.bytes.slice();
    bad[bad.length >> 1]! ^= 0x01;
    await expect(bs.put(a!.cid, bad)).rejects.toMatchObject({ name: 'IntegrityError' });
    await expect(collect(bs.putMany([{ cid: a!.cid, bytes: [bad] }]))).rejects.toMatchObject({ name: 'IntegrityError' });
    expect(inner.size).toBe(0);
    expect(await bs.has(a!.cid)).toBe(false);
  });

  it('a missing block is a NotFoundError (bitswap tells the asker DONT_HAVE by that name)', async () => {
    const bs = new HeliaBlockstore(new MemoryBlockstore());
    const [a] = await blocks(1, 'helia-blockstore-missing');
    await expect(collect(bs.get(a!.cid))).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(collect(bs.getMany([a!.cid]))).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('honours an aborted signal', async () => {
    const bs = new HeliaBlockstore(new MemoryBlockstore());
    const [a] = await blocks(1, 'helia-blockstore-abort');
    const ac = new AbortController();
    ac.abort();
    await expect(bs.put(a!.cid, a!.bytes, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('HeliaBlockstore over FsBlockstore', () => {
  it('serves and stores through the file store; getAll says the store cannot list', async () => {
    await withTempDir(async (dir) => {
      const bs = new HeliaBlockstore(new FsBlockstore(dir));
      const [a] = await blocks(1, 'helia-blockstore-fs');
      await bs.put(a!.cid, a!.bytes);
      expect(await joined(bs.get(a!.cid))).toEqual(Buffer.from(a!.bytes));
      await expect(collect(bs.getAll())).rejects.toMatchObject({ name: 'UnsupportedStoreOperationError' });
    });
  });
});

describe('HeliaBlockstore over IdbBlockstore', () => {
  it('put, has, get, getAll (the CIDs as stored), delete; wrong bytes refused', async () => {
    const idb = await IdbBlockstore.open({ dbName: `helia-blockstore-${Date.now()}` });
    try {
      const bs = new HeliaBlockstore(idb);
      const [a, b, c] = await blocks(3, 'helia-blockstore-idb');
      await bs.put(a!.cid, a!.bytes);
      await bs.put(b!.cid, [b!.bytes]);
      const bad = c!.bytes.slice();
      bad[0]! ^= 0x80;
      await expect(bs.put(c!.cid, bad)).rejects.toMatchObject({ name: 'IntegrityError' });
      expect(await bs.has(c!.cid)).toBe(false);
      expect(await joined(bs.get(b!.cid))).toEqual(Buffer.from(b!.bytes));
      expect((await collect(bs.getAll())).map((p) => p.cid.toString()).sort()).toEqual([a, b].map((x) => x!.cid.toString()).sort());
      await bs.delete(a!.cid);
      expect(await bs.has(a!.cid)).toBe(false);
      await expect(collect(bs.get(a!.cid))).rejects.toMatchObject({ name: 'NotFoundError' });
    } finally {
      idb.close();
    }
  });
});
