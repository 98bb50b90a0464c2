// Publish a model file (node-only): import it into the store's blocks, write a CAR of its DAG, and
// add a registry entry (name, version, root CID, size, sha256, format and GGUF facts).
// Everything lands under one store directory: blocks/, cars/<root>.car, registry.json.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { CID } from 'multiformats/cid';
import { carStream, scopeBlocks } from './car.ts';
import { importFile } from './cid.ts';
import { RegistryError } from './errors.ts';
import { openStore, type FsBlockstore } from './fs-blockstore.ts';
import { summarizeGguf } from './gguf-summary.ts';
import {
  addEntry, emptyRegistry, exportRegistry, importRegistry, isValidName,
  type GgufSummary, type Registry, type RegistryEntry,
} from './registry.ts';
import { parseVersion } from './semver.ts';
import { createRangeSource } from './unixfs-range.ts';

export type PublishProgress =
  | { phase: 'import'; bytes: number; total: number }
  | { phase: 'car'; bytes: number }
  | { phase: 'registry' };

export interface PublishOptions {
  name: string;
  version: string;
  tags?: string[];
  /** Default `.store` in the current directory. */
  storeDir?: string;
  /** Default true: CIDv1 with raw leaves (`ipfs add --cid-version=1`); false: Kubo's CIDv0 DAG. */
  rawLeaves?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: PublishProgress) => void;
}

export interface PublishResult {
  entry: RegistryEntry;
  carPath: string;
  registryPath: string;
}

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

/** Architecture, parameter count, context length and tensor types, read back through the DAG. */
async function ggufSummary(root: CID, store: FsBlockstore, signal?: AbortSignal): Promise<GgufSummary | undefined> {
  return summarizeGguf(await createRangeSource(root, (cid, o) => store.get(cid, o), { signal }), signal);
}

async function writeAtomically(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function loadRegistry(path: string): Promise<Registry> {
  try {
    return importRegistry(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyRegistry();
    throw err;
  }
}

export async function publish(file: string, options: PublishOptions): Promise<PublishResult> {
  const { name, version, signal, onProgress } = options;
  const tags = options.tags ?? [];
  if (!isValidName(name)) throw new RegistryError(`bad model name ${JSON.stringify(name)}`);
  if (!parseVersion(version)) throw new RegistryError(`version ${JSON.stringify(version)} is not semver (x.y.z)`);
  const storeDir = options.storeDir ?? '.store';
  const registryPath = join(storeDir, 'registry.json');
  // Read the registry first: a malformed registry.json should fail before gigabytes are hashed.
  const before = await loadRegistry(registryPath);
  const store = openStore(storeDir);
  const total = (await stat(file)).size;

  const sha = createHash('sha256');
  const head: number[] = [];
  async function* tapped(): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
      sha.update(chunk);
      for (let i = 0; head.length < 4 && i < chunk.length; i++) head.push(chunk[i]!);
      yield chunk;
    }
  }
  const imported = await importFile(tapped(), {
    rawLeaves: options.rawLeaves ?? true,
    blockstore: store,
    signal,
    onProgress: (e) => {
      if (e.type === 'bytes') onProgress?.({ phase: 'import', bytes: e.bytes, total });
    },
  });
  const root = imported.root;
  const isGguf = GGUF_MAGIC.every((b, i) => head[i] === b);
  const gguf = isGguf ? await ggufSummary(root, store, signal) : undefined;

  await mkdir(join(storeDir, 'cars'), { recursive: true });
  const carPath = join(storeDir, 'cars', `${root}.car`);
  let carBytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of carStream(root, scopeBlocks(root, 'all', (cid, o) => store.get(cid, o), undefined, { signal }))) {
      carBytes += chunk.length;
      onProgress?.({ phase: 'car', bytes: carBytes });
      yield chunk;
    }
  }
  await writeAtomically(carPath, (tmp) => pipeline(Readable.from(counted()), createWriteStream(tmp), { signal }));

  const entry: RegistryEntry = {
    name,
    version,
    cid: root.toString(),
    size: imported.size,
    sha256: sha.digest('hex'),
    format: isGguf ? 'gguf' : 'raw',
    tags,
    publishedAt: new Date().toISOString(),
    ...(gguf ? { gguf } : {}),
  };
  onProgress?.({ phase: 'registry' });
  // Re-read just before writing so a publish that ran meanwhile is not lost (best effort, no lock).
  const current = (await stat(registryPath).catch(() => undefined)) ? await loadRegistry(registryPath) : before;
  const next = addEntry(current, entry);
  await writeAtomically(registryPath, (tmp) => writeFile(tmp, exportRegistry(next)));
  return { entry, carPath, registryPath };
}
