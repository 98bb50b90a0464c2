// Random access into a UnixFS file: fetch only the blocks that cover a byte range, plus the nodes
// on the path to them. Written by hand rather than with ipfs-unixfs-exporter's `content({offset,
// length})` because the exporter (v16) also fetches the block that *starts* at the range's end
// (an off-by-one in its inclusion test), re-reads the root and every interior node on each call,
// and cannot report how many blocks a read cost. Here interior nodes are cached per source and
// each read copies leaf bytes straight into one output buffer.
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import type { AbortOptions, BlockGetter } from './blockstore.ts';
import { InvalidCidError, UnixFSError, throwIfAborted } from './errors.ts';
import { DAG_PB, RAW, parseCid } from './verify.ts';

/** What the GGUF reader (src/formats) consumes: a sized file readable at any offset. */
export interface RangeSource {
  size: number;
  read(offset: number, length: number, options?: AbortOptions): Promise<Uint8Array>;
}

export interface RangeStats {
  /** Blocks asked of the getter (root included); cached interior nodes are not asked again. */
  blocksFetched: number;
  bytesFetched: number;
}

export interface UnixFSRangeSource extends RangeSource {
  root: CID;
  stats: RangeStats;
}

export interface FileChild {
  cid: CID;
  /** File bytes under this child (the parent's blocksize entry). */
  size: number;
}

/** A node of a UnixFS file DAG: inline bytes (a leaf's data) followed by children, in file order. */
export interface FileNode {
  data: Uint8Array | undefined;
  children: FileChild[];
  size: number;
}

export function decodeFileNode(cid: CID, bytes: Uint8Array): FileNode {
  if (cid.code === RAW) return { data: bytes, children: [], size: bytes.length };
  if (cid.code !== DAG_PB) throw new InvalidCidError(`${cid}: codec 0x${cid.code.toString(16)} is not a UnixFS file`);
  let unixfs: UnixFS;
  let node: dagPb.PBNode;
  try {
    node = dagPb.decode(bytes);
    if (!node.Data) throw new Error('no Data field');
    unixfs = UnixFS.unmarshal(node.Data);
  } catch (err) {
    throw new UnixFSError(`${cid}: not a UnixFS node (${(err as Error).message})`, { cause: err });
  }
  if (unixfs.type !== 'file' && unixfs.type !== 'raw') throw new UnixFSError(`${cid}: UnixFS ${unixfs.type}, not a file`);
  if (unixfs.blockSizes.length !== node.Links.length) {
    throw new UnixFSError(`${cid}: ${node.Links.length} links but ${unixfs.blockSizes.length} blocksizes`);
  }
  const children = node.Links.map((l, i) => ({ cid: l.Hash, size: Number(unixfs.blockSizes[i]) }));
  const data = unixfs.data?.length ? unixfs.data : undefined;
  const size = (data?.length ?? 0) + children.reduce((a, c) => a + c.size, 0);
  return { data, children, size };
}

/** Children overlapping [from, to) of a node whose first byte is at `start`, with their offsets. */
function covering(node: FileNode, start: number, from: number, to: number): Array<FileChild & { start: number }> {
  const out: Array<FileChild & { start: number }> = [];
  let pos = start + (node.data?.length ?? 0);
  for (const child of node.children) {
    if (pos >= to) break;
    if (child.size > 0 && pos + child.size > from) out.push({ ...child, start: pos });
    pos += child.size;
  }
  return out;
}

function checkSize(cid: CID, node: FileNode, expected: number): void {
  if (node.size !== expected) throw new UnixFSError(`${cid}: holds ${node.size} bytes, its parent says ${expected}`);
}

/** Sibling blocks read ahead of the one being yielded by coveringBlocks. */
const READ_AHEAD = 4;

/**
 * Blocks covering file bytes [from, to) in depth-first pre-order (root first): what a trustless
 * gateway's `entity-bytes` CAR holds. Meant for a local store: at each level, the next READ_AHEAD
 * siblings are read while one is yielded (one read at a time, a CAR from a disk store went at
 * disk-latency speed).
 */
export async function* coveringBlocks(
  root: CID,
  from: number,
  to: number,
  getBlock: BlockGetter,
  options: AbortOptions = {},
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  async function* visit(cid: CID, start: number, expected: number | undefined, read?: Promise<Uint8Array>): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
    throwIfAborted(options.signal);
    const bytes = await (read ?? getBlock(cid, options));
    const node = decodeFileNode(cid, bytes);
    if (expected !== undefined) checkSize(cid, node, expected);
    yield { cid, bytes };
    const kids = covering(node, start, from, to);
    const reads: Array<Promise<Uint8Array> | undefined> = [];
    for (let i = 0; i < kids.length; i++) {
      for (let j = i; j < Math.min(kids.length, i + 1 + READ_AHEAD); j++) {
        if (reads[j]) continue;
        reads[j] = getBlock(kids[j]!.cid, options);
        reads[j]!.catch(() => undefined); // seen when its turn comes; unseen if the consumer stops first
      }
      const child = kids[i]!;
      yield* visit(child.cid, child.start, child.size, reads[i]);
      reads[i] = undefined;
    }
  }
  yield* visit(root, 0, undefined);
}

/** Run fn over items with at most `limit` in flight; rejects on the first failure. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface RangeSourceOptions extends AbortOptions {
  /** Blocks fetched at once within one read (the gateway client bounds HTTP concurrency itself). */
  concurrency?: number;
  /** Called for each block fetched (e.g. to drive a progress bar). */
  onBlock?: (cid: CID, bytes: number) => void;
}

/**
 * Open a UnixFS file (dag-pb with blocksizes, raw leaves, or a single raw block) for random access.
 * Fetches the root now; each read() fetches only the blocks that cover it.
 */
export async function createRangeSource(
  rootCid: CID | string,
  getBlock: BlockGetter,
  options: RangeSourceOptions = {},
): Promise<UnixFSRangeSource> {
  const root = parseCid(rootCid);
  const stats: RangeStats = { blocksFetched: 0, bytesFetched: 0 };
  const interior = new Map<string, FileNode>();
  const concurrency = options.concurrency ?? 8;

  async function load(cid: CID, signal: AbortSignal | undefined): Promise<FileNode> {
    const cached = interior.get(cid.toString());
    if (cached) return cached;
    const bytes = await getBlock(cid, { signal });
    stats.blocksFetched++;
    stats.bytesFetched += bytes.length;
    options.onBlock?.(cid, bytes.length);
    const node = decodeFileNode(cid, bytes);
    // Interior nodes are small (~8 KiB for 174 links) and on every path: keep them. Leaves are not.
    if (node.children.length > 0) interior.set(cid.toString(), node);
    return node;
  }

  const rootNode = await load(root, options.signal);

  async function fill(node: FileNode, start: number, from: number, to: number, out: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (node.data) {
      const a = Math.max(from, start);
      const b = Math.min(to, start + node.data.length);
      if (a < b) out.set(node.data.subarray(a - start, b - start), a - from);
    }
    await eachLimit(covering(node, start, from, to), concurrency, async (child) => {
      throwIfAborted(signal);
      const childNode = await load(child.cid, signal);
      checkSize(child.cid, childNode, child.size);
      await fill(childNode, child.start, from, to, out, signal);
    });
  }

  return {
    root,
    size: rootNode.size,
    stats,
    /** Reads past the end are clipped, like a file read: the result may be shorter than `length`. */
    async read(offset: number, length: number, readOptions?: AbortOptions): Promise<Uint8Array> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw new RangeError(`bad range: offset ${offset}, length ${length}`);
      }
      const signal = readOptions?.signal ?? options.signal;
      throwIfAborted(signal);
      const from = Math.min(offset, rootNode.size);
      const to = Math.min(offset + length, rootNode.size);
      const out = new Uint8Array(to - from);
      if (out.length > 0) await fill(rootNode, 0, from, to, out, signal);
      return out;
    },
  };
}
