import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as raw from 'multiformats/codecs/raw';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { describe, expect, it } from 'vitest';
import { MemoryBlockstore, type Blockstore } from '../../src/store/blockstore.ts';
import { FsBlockstore } from '../../src/store/fs-blockstore.ts';
import { isValidBlock, verifyBlock } from '../../src/store/verify.ts';
import { randomBytes, testSeed, withTempDir } from './helpers.ts';

async function rawCid(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes));
}

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return (err as Error).name;
  }
}

const seed = testSeed('blockstore');

async function contract(store: Blockstore): Promise<void> {
  const bytes = randomBytes(seed, 1000);
  const cid = await rawCid(bytes);
  expect(await store.has(cid)).toBe(false);
  expect(await errorName(store.get(cid))).toBe('NotFoundError');
  await store.put(cid, bytes);
  expect(await store.has(cid)).toBe(true);
  expect(await store.get(cid)).toEqual(bytes);
  // A v0/v1 or raw/dag-pb twin with the same multihash is the same stored block.
  expect(await store.has(CID.createV1(0x70, cid.multihash))).toBe(true);
  // Wrong bytes never go in.
  const other = randomBytes(seed + 1, 1000);
  const otherCid = await rawCid(other);
  const bad = other.slice();
  bad[500]! ^= 1;
  expect(await errorName(store.put(otherCid, bad))).toBe('IntegrityError');
  expect(await store.has(otherCid)).toBe(false);
  await store.delete?.(cid);
  expect(await store.has(cid)).toBe(false);
  const ac = new AbortController();
  ac.abort();
  expect(await errorName(store.get(otherCid, { signal: ac.signal }))).toBe('AbortError');
}

describe('verifyBlock', () => {
  it('accepts matching bytes and rejects a flipped bit with IntegrityError', async () => {
    const bytes = randomBytes(seed, 4096);
    const cid = await rawCid(bytes);
    expect(await isValidBlock(cid, bytes)).toBe(true);
    await verifyBlock(cid, bytes);
    const bad = bytes.slice();
    bad[0]! ^= 0x80;
    expect(await errorName(verifyBlock(cid, bad, 'http://x'))).toBe('IntegrityError');
  });

  it('refuses hashes it cannot check', async () => {
    const cid = CID.parse('bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fin2iiyvreuzzab4'); // blake3
    expect(await errorName(verifyBlock(cid, new Uint8Array(1)))).toBe('UnsupportedHashError');
  });
});

describe('MemoryBlockstore', () => {
  it('follows the blockstore contract', async () => {
    await contract(new MemoryBlockstore());
  });
});

describe('FsBlockstore', () => {
  it('follows the blockstore contract', async () => {
    await withTempDir(async (dir) => contract(new FsBlockstore(dir)));
  });

  it('stores one file per block, sharded, with no temp files left behind', async () => {
    await withTempDir(async (dir) => {
      const store = new FsBlockstore(dir);
      const cids: CID[] = [];
      for (let i = 0; i < 20; i++) {
        const bytes = randomBytes(seed + i, 100 + i);
        const cid = await rawCid(bytes);
        cids.push(cid);
        await store.put(cid, bytes);
        await store.put(cid, bytes); // idempotent
      }
      const files: string[] = [];
      for (const shard of await readdir(dir)) files.push(...(await readdir(join(dir, shard))));
      expect(files).toHaveLength(20);
      expect(files.some((f) => f.startsWith('.tmp-'))).toBe(false);
      expect(await readFile(store.pathOf(cids[3]!))).toHaveLength(103);
    });
  });

  it('concurrent puts of the same block are safe', async () => {
    await withTempDir(async (dir) => {
      const store = new FsBlockstore(dir);
      const bytes = randomBytes(seed, 50_000);
      const cid = await rawCid(bytes);
      await Promise.all(Array.from({ length: 8 }, () => store.put(cid, bytes)));
      expect(await store.get(cid)).toEqual(bytes);
    });
  });

  it('a block corrupted on disk is still served as is (readers verify; the client never trusts)', async () => {
    await withTempDir(async (dir) => {
      const store = new FsBlockstore(dir);
      const bytes = randomBytes(seed, 64);
      const cid = await rawCid(bytes);
      await store.put(cid, bytes);
      await writeFile(store.pathOf(cid), new Uint8Array(64));
      expect(await isValidBlock(cid, await store.get(cid))).toBe(false);
    });
  });
});
