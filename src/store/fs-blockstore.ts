// Node-only blockstore: one file per block, named by the block's multihash (base32), in 2-letter
// shard folders so no directory grows past a few thousand entries for multi-GiB models. Writes go
// to a temp file and are renamed into place, so a crash or a concurrent reader never sees half a block.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import type { AbortOptions, Blockstore } from './blockstore.ts';
import { NotFoundError, throwIfAborted } from './errors.ts';
import { blockKey, verifyBlock } from './verify.ts';

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export class FsBlockstore implements Blockstore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Where a block lives: `<dir>/<2 letters>/<key>`; the shard is the key's next-to-last letters (as flatfs). */
  pathOf(cid: CID): string {
    const key = blockKey(cid);
    return join(this.dir, key.slice(-3, -1), key);
  }

  async has(cid: CID): Promise<boolean> {
    try {
      return (await stat(this.pathOf(cid))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async get(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    try {
      const buf = await readFile(this.pathOf(cid), { signal: options?.signal });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`block ${cid} not in ${this.dir}`);
      throw err;
    }
  }

  async put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (await this.has(cid)) return;
    await verifyBlock(cid, bytes, 'put');
    const path = this.pathOf(cid);
    const shard = join(path, '..');
    await mkdir(shard, { recursive: true });
    const tmp = join(shard, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(tmp, bytes, { flag: 'wx' });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async delete(cid: CID): Promise<void> {
    await rm(this.pathOf(cid), { force: true });
  }
}

/** The blocks folder of a store directory (`<store>/blocks`), shared by publish and the gateway. */
export function openStore(storeDir: string): FsBlockstore {
  return new FsBlockstore(join(storeDir, 'blocks'));
}
