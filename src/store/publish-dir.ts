// Publish a model folder (node-only), e.g. a transformers.js LlamaForCausalLM export: every file is
// imported as its own UnixFS file DAG (Kubo's chunking, as for single files) under one UnixFS
// directory, the whole DAG is written as a CAR, and the registry gets one entry of kind
// 'transformers.js' whose `files` map each path to its file CID, size and sha256; a loader can then
// fetch and verify any one file by its CID without walking the directory.
// The entry's sha256 is that of the listing: one line `${path}\t${sha256}\t${size}\n` per file,
// sorted by path (a folder has no single byte stream to hash).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { importer } from 'ipfs-unixfs-importer';
import type { CID } from 'multiformats/cid';
import { carStream, scopeBlocks } from './car.ts';
import { RegistryError } from './errors.ts';
import { openStore } from './fs-blockstore.ts';
import { loadRegistry, type PublishOptions, type PublishResult } from './publish.ts';
import { addEntry, exportRegistry, isValidName, type RegistryEntry, type RegistryFile } from './registry.ts';
import { parseVersion } from './semver.ts';

export interface PublishDirOptions extends Omit<PublishOptions, 'onProgress'> {
  /** Pipeline tasks the folder serves (default ['text-generation']). */
  tasks?: string[];
}

/** Regular files under `dir`, as '/'-separated relative paths, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (d.isFile()) out.push(relative(dir, join(d.parentPath, d.name)).split(sep).join('/'));
  }
  return out.sort();
}

export function listingSha256(files: Record<string, RegistryFile>): string {
  const h = createHash('sha256');
  for (const path of Object.keys(files).sort()) h.update(`${path}\t${files[path]!.sha256}\t${files[path]!.size}\n`);
  return h.digest('hex');
}

export async function publishDir(dir: string, options: PublishDirOptions): Promise<PublishResult> {
  const { name, version, signal } = options;
  if (!isValidName(name)) throw new RegistryError(`bad model name ${JSON.stringify(name)}`);
  if (!parseVersion(version)) throw new RegistryError(`version ${JSON.stringify(version)} is not semver (x.y.z)`);
  const storeDir = options.storeDir ?? '.store';
  const registryPath = join(storeDir, 'registry.json');
  const before = await loadRegistry(registryPath);
  const store = openStore(storeDir);
  const paths = await listFiles(dir);
  if (paths.length === 0) throw new RegistryError(`${dir} has no files to publish`);

  const hashes = new Map<string, ReturnType<typeof createHash>>();
  async function* content(path: string): AsyncGenerator<Uint8Array> {
    const sha = createHash('sha256');
    hashes.set(path, sha);
    for await (const chunk of createReadStream(join(dir, path), { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
      sha.update(chunk);
      yield chunk;
    }
  }
  const rawLeaves = options.rawLeaves ?? true;
  const files: Record<string, RegistryFile> = {};
  let root: CID | undefined;
  const source = paths.map((path) => ({ path, content: content(path) }));
  // The importer's blockstore contract returns the CID from put; ours resolves to nothing.
  const sink = { put: async (cid: CID, bytes: Uint8Array): Promise<CID> => { await store.put(cid, bytes, { signal }); return cid; } };
  for await (const entry of importer(source, sink, {
    profile: 'unixfs-v0-2015', rawLeaves, cidVersion: rawLeaves ? 1 : 0, wrapWithDirectory: true, blockWriteConcurrency: 4,
  })) {
    if (entry.path === '' || entry.path === undefined) root = entry.cid;
    else if (paths.includes(entry.path)) {
      files[entry.path] = { cid: entry.cid.toString(), size: Number(entry.unixfs?.fileSize() ?? entry.size), sha256: hashes.get(entry.path)!.digest('hex') };
    }
  }
  if (!root) throw new RegistryError(`importing ${dir} gave no directory root`);

  await mkdir(join(storeDir, 'cars'), { recursive: true });
  const carPath = join(storeDir, 'cars', `${root}.car`);
  const tmp = `${carPath}.tmp-${process.pid}`;
  await pipeline(Readable.from(carStream(root, scopeBlocks(root, 'all', (cid, o) => store.get(cid, o), undefined, { signal }))), createWriteStream(tmp), { signal });
  await rename(tmp, carPath);

  const entry: RegistryEntry = {
    name,
    version,
    cid: root.toString(),
    size: Object.values(files).reduce((a, f) => a + f.size, 0),
    sha256: listingSha256(files),
    format: 'onnx',
    tags: options.tags ?? [],
    publishedAt: new Date().toISOString(),
    kind: 'transformers.js',
    tasks: options.tasks ?? ['text-generation'],
    files,
  };
  const current = (await stat(registryPath).catch(() => undefined)) ? await loadRegistry(registryPath) : before;
  const tmpReg = `${registryPath}.tmp-${process.pid}`;
  await writeFile(tmpReg, exportRegistry(addEntry(current, entry)));
  await rename(tmpReg, registryPath);
  return { entry, carPath, registryPath };
}
