// CIDs as Kubo's `ipfs add` computes them, built by ipfs-unixfs-importer (it has Kubo's 2015
// profile: 256 KiB fixed chunks, balanced DAG with 174 links per node, dag-pb/UnixFS leaves, CIDv0).
// This module only pins the options and streams: the input is consumed chunk by chunk and only a
// few blocks are in flight at once, so a multi-GiB file never sits in memory.
import { importByteStream } from 'ipfs-unixfs-importer';
import type { CID } from 'multiformats/cid';
import type { Blockstore } from './blockstore.ts';
import { throwIfAborted } from './errors.ts';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;

export type ImportProgress =
  | { type: 'bytes'; bytes: number }
  | { type: 'block'; cid: CID; size: number };

export interface ImportOptions {
  /**
   * false (default): `ipfs add` defaults, a CIDv0 DAG with dag-pb leaves.
   * true: `ipfs add --cid-version=1 --raw-leaves`, leaves are raw blocks, nodes CIDv1 dag-pb.
   */
  rawLeaves?: boolean;
  /** Receives every block as it is made; omit to compute the CID only. */
  blockstore?: Pick<Blockstore, 'put'>;
  signal?: AbortSignal;
  onProgress?: (event: ImportProgress) => void;
  /** Blocks hashed and stored at once (default 4); 1 stores them strictly in file order. */
  blockWriteConcurrency?: number;
}

export interface ImportResult {
  /** CIDv0 for the default DAG, CIDv1 with raw leaves. */
  root: CID;
  /** File size in bytes. */
  size: number;
  blocks: number;
}

/** 256 KiB, Kubo's default `size-262144` chunker. */
export const CHUNK_SIZE = 262144;
/** Links per node in Kubo's balanced layout. */
export const MAX_LINKS = 174;

/** Browsers without ReadableStream async iteration (Safari) need the reader loop. */
async function* iterate(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

async function* counted(source: ByteSource, options: ImportOptions): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of iterate(source)) {
    throwIfAborted(options.signal);
    bytes += chunk.length;
    options.onProgress?.({ type: 'bytes', bytes });
    yield chunk;
  }
  throwIfAborted(options.signal);
}

/** Chunk, build and hash a file's UnixFS DAG exactly as Kubo would; returns the root CID. */
export async function importFile(source: ByteSource, options: ImportOptions = {}): Promise<ImportResult> {
  let blocks = 0;
  const sink = {
    put: async (cid: CID, bytes: Uint8Array): Promise<CID> => {
      throwIfAborted(options.signal);
      blocks++;
      await options.blockstore?.put(cid, bytes, { signal: options.signal });
      options.onProgress?.({ type: 'block', cid, size: bytes.length });
      return cid;
    },
  };
  const rawLeaves = options.rawLeaves ?? false;
  const result = await importByteStream(counted(source, options), sink, {
    profile: 'unixfs-v0-2015',
    rawLeaves,
    cidVersion: rawLeaves ? 1 : 0,
    // Few blocks in flight: bounded memory matters more than hashing in parallel.
    blockWriteConcurrency: options.blockWriteConcurrency ?? 4,
  });
  return { root: result.cid, size: Number(result.unixfs?.fileSize() ?? result.size), blocks };
}

export interface CidReport {
  size: number;
  /** `ipfs add` (defaults). */
  cidv0: string;
  /** The same DAG's root as CIDv1 base32 (`ipfs cid base32 <cidv0>`). */
  cidv1: string;
  /** `ipfs add --cid-version=1 --raw-leaves`: a different DAG, so a different CID. */
  cidv1RawLeaves?: string;
}

/** Both CID forms of the default DAG, plus the raw-leaves CID when asked (the source is read twice). */
export async function computeCids(
  open: () => ByteSource,
  options: { rawLeaves?: boolean; signal?: AbortSignal; onProgress?: (e: ImportProgress) => void } = {},
): Promise<CidReport> {
  const { signal, onProgress } = options;
  const v0 = await importFile(open(), { signal, onProgress });
  const report: CidReport = { size: v0.size, cidv0: v0.root.toString(), cidv1: v0.root.toV1().toString() };
  if (options.rawLeaves) {
    report.cidv1RawLeaves = (await importFile(open(), { rawLeaves: true, signal, onProgress })).root.toString();
  }
  return report;
}
