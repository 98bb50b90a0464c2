// CIDs against the `ipfs_cid` oracle (Debian `ipfs-cid`, which implements `ipfs add` defaults and
// prints CIDv0 + the same DAG's CIDv1). It has no raw-leaves mode, so raw leaves are checked
// structurally: leaves must be the sha256 of each 256 KiB slice, hashed independently by node:crypto.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { describe, expect, it } from 'vitest';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { CHUNK_SIZE, MAX_LINKS, computeCids, importFile } from '../../src/store/cid.ts';
import { randomBytes, testSeed, withTempDir, writeRandomFile } from './helpers.ts';

const run = promisify(execFile);

async function oracle(path: string): Promise<{ CIDv0: string; CIDv1: string }> {
  const { stdout } = await run('ipfs_cid', [path], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { CIDv0: string; CIDv1: string };
}

const KiB = 1024;
const MiB = 1024 * KiB;
const sizes: Array<[string, number]> = [
  ['0 B', 0],
  ['1 B', 1],
  ['256 KiB - 1', 256 * KiB - 1],
  ['256 KiB', 256 * KiB],
  ['256 KiB + 1', 256 * KiB + 1],
  ['1 MiB', MiB],
  ['174 chunks exactly (one full node)', MAX_LINKS * CHUNK_SIZE],
  ['174 chunks + 1 B (second level)', MAX_LINKS * CHUNK_SIZE + 1],
  ['45 MiB', 45 * MiB],
];

describe('cid: ipfs add defaults vs ipfs_cid', () => {
  const seed = testSeed('cid');
  for (const [label, size] of sizes) {
    it(`${label} (${size} bytes)`, async () => {
      await withTempDir(async (dir) => {
        const path = join(dir, 'f.bin');
        await writeRandomFile(path, size, seed + size);
        const [ours, want] = await Promise.all([
          computeCids(() => createReadStream(path, { highWaterMark: 300 * KiB })),
          oracle(path),
        ]);
        expect(ours.cidv0).toBe(want.CIDv0);
        expect(ours.cidv1).toBe(want.CIDv1);
        expect(ours.size).toBe(size);
      });
    });
  }

  it('does not depend on how the input is split into chunks', async () => {
    const bytes = randomBytes(seed, 600 * KiB + 7);
    const whole = await importFile([bytes]);
    const odd = await importFile((function* () {
      for (let i = 0; i < bytes.length; i += 4099) yield bytes.subarray(i, i + 4099);
    })());
    expect(odd.root.toString()).toBe(whole.root.toString());
  });

  it('puts every block of a two-level DAG into the blockstore', async () => {
    const store = new MemoryBlockstore();
    const chunks = MAX_LINKS + 3;
    const next = randomBytes(seed, chunks * CHUNK_SIZE);
    const res = await importFile([next], { blockstore: store });
    // 177 leaves + 2 level-one nodes + root.
    expect(res.blocks).toBe(chunks + 3);
    expect(store.size).toBe(chunks + 3);
    const root = dagPb.decode(await store.get(res.root));
    expect(root.Links).toHaveLength(2);
    expect(UnixFS.unmarshal(root.Data!).fileSize()).toBe(BigInt(chunks * CHUNK_SIZE));
  });
});

function sha256Cid(codec: number, bytes: Uint8Array): CID {
  const digest = createHash('sha256').update(bytes).digest();
  return CID.createV1(codec, Digest.create(0x12, new Uint8Array(digest)));
}

describe('cid: --raw-leaves (no oracle: ipfs_cid lacks the mode; checked structurally)', () => {
  const seed = testSeed('cid-raw');

  it('empty and single-chunk files are one raw block: the CID is sha256 of the content', async () => {
    for (const size of [0, 1, 256 * KiB - 1, 256 * KiB]) {
      const bytes = randomBytes(seed + size, size);
      const { root } = await importFile([bytes], { rawLeaves: true });
      expect(root.toString()).toBe(sha256Cid(0x55, bytes).toString());
    }
    // Kubo's well-known CID of the empty file with raw leaves.
    const empty = await importFile([], { rawLeaves: true });
    expect(empty.root.toString()).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  });

  it('multi-chunk: CIDv1 dag-pb root linking raw leaves with Kubo blocksizes', async () => {
    const bytes = randomBytes(seed, 3 * CHUNK_SIZE + 5);
    const store = new MemoryBlockstore();
    const { root } = await importFile([bytes], { rawLeaves: true, blockstore: store });
    expect(root.version).toBe(1);
    expect(root.code).toBe(dagPb.code);
    const node = dagPb.decode(await store.get(root));
    const fs = UnixFS.unmarshal(node.Data!);
    expect(fs.type).toBe('file');
    expect(fs.blockSizes).toEqual([CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, 5].map(BigInt));
    node.Links.forEach((link, i) => {
      const slice = bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
      expect(link.Hash.toString()).toBe(sha256Cid(0x55, slice).toString());
      expect(link.Tsize).toBe(slice.length);
      expect(link.Name).toBe('');
    });
    // Same root whatever produced it: dag-pb encoding is canonical, so rebuild and compare.
    const rebuilt = dagPb.encode({ Data: node.Data, Links: node.Links });
    expect(sha256Cid(dagPb.code, rebuilt).toString()).toBe(root.toString());
  });

  it('the CLI prints the JSON report', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'x.bin');
      await writeRandomFile(path, 300 * KiB, seed);
      const { stdout } = await run(process.execPath, ['bin/tabshard.js', 'cid', path, '--raw-leaves']);
      const report = JSON.parse(stdout) as Record<string, unknown>;
      const want = await oracle(path);
      expect(report).toMatchObject({ size: 300 * KiB, cidv0: want.CIDv0, cidv1: want.CIDv1 });
      expect(String(report.cidv1RawLeaves)).toMatch(/^bafybei/);
      expect((await readFile(path)).length).toBe(300 * KiB);
    });
  });
});
