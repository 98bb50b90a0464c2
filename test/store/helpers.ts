// Shared test helpers: seeded random bytes (the seed is printed so a failure can be replayed with
// TABSHARD_TEST_SEED=<seed>), temp dirs, and files written chunk by chunk.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importByteStream } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';

export function testSeed(label: string): number {
  const env = process.env.TABSHARD_TEST_SEED;
  const seed = env ? Number(env) >>> 0 : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  console.log(`[${label}] seed ${seed} (replay with TABSHARD_TEST_SEED=${seed})`);
  return seed;
}

/** xorshift32 stream: deterministic, fast, and good enough to make every 256 KiB chunk distinct. */
export function makeRandom(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 0x9e3779b9;
  return (n: number) => {
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      words[i] = s;
    }
    return new Uint8Array(words.buffer, 0, n);
  };
}

export function randomBytes(seed: number, n: number): Uint8Array {
  return makeRandom(seed)(n);
}

/** Write `size` seeded random bytes to `path` in 1 MiB pieces (no whole-file buffer). */
export async function writeRandomFile(path: string, size: number, seed: number): Promise<void> {
  const next = makeRandom(seed);
  const out = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 20);
    if (!out.write(next(n))) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tabshard-store-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}


/**
 * A small but deep UnixFS file DAG (tiny chunks, few links per node), so multi-level walks are
 * tested without 45 MiB fixtures. Not Kubo's shape; the walkers must not care.
 */
export async function buildDag(
  bytes: Uint8Array,
  opts: { chunk?: number; fanout?: number; rawLeaves?: boolean; store?: MemoryBlockstore } = {},
): Promise<{ root: CID; store: MemoryBlockstore }> {
  const store = opts.store ?? new MemoryBlockstore();
  const rawLeaves = opts.rawLeaves ?? true;
  const res = await importByteStream([bytes], { put: async (cid: CID, b: Uint8Array) => (await store.put(cid, b), cid) }, {
    chunker: fixedSize({ chunkSize: opts.chunk ?? 1024 }),
    layout: balanced({ maxChildrenPerNode: opts.fanout ?? 4 }),
    rawLeaves,
    cidVersion: rawLeaves ? 1 : 0,
  });
  return { root: res.cid, store };
}
