// Which blocks a trustless-gateway CAR response holds (dag-scope, entity-bytes) and the CAR bytes
// themselves (via @ipld/car). Browser-safe: the gateway server and publish both use it.
import * as dagPb from '@ipld/dag-pb';
import { CarWriter } from '@ipld/car/writer';
import type { CID } from 'multiformats/cid';
import type { AbortOptions, BlockGetter } from './blockstore.ts';
import { throwIfAborted } from './errors.ts';
import { coveringBlocks, decodeFileNode } from './unixfs-range.ts';
import { DAG_PB, RAW } from './verify.ts';

export type DagScope = 'block' | 'entity' | 'all';

/** Inclusive `from:to` as in the spec; negative values count from the end, `to` may be '*'. */
export interface EntityBytes {
  from: number;
  to: number | '*';
}

export interface Block {
  cid: CID;
  bytes: Uint8Array;
}

/** Parse `entity-bytes=from:to`; undefined when malformed. */
export function parseEntityBytes(text: string): EntityBytes | undefined {
  const m = /^(-?\d+):(-?\d+|\*)$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === '*' ? '*' : Number(m[2]);
  if (!Number.isSafeInteger(from) || (to !== '*' && !Number.isSafeInteger(to))) return undefined;
  if (from >= 0 && to !== '*' && to >= 0 && to < from) return undefined;
  return { from, to };
}

/** Resolve a spec range against a file size into a half-open [from, to). */
export function resolveEntityBytes(range: EntityBytes, size: number): [number, number] {
  const from = range.from < 0 ? Math.max(0, size + range.from) : Math.min(range.from, size);
  const last = range.to === '*' ? size - 1 : range.to < 0 ? size + range.to : range.to;
  return [from, Math.max(from, Math.min(last + 1, size))];
}

function isUnixFSFile(cid: CID, bytes: Uint8Array): number | undefined {
  try {
    return decodeFileNode(cid, bytes).size;
  } catch {
    return undefined;
  }
}

async function* everything(cid: CID, getBlock: BlockGetter, seen: Set<string>, options: AbortOptions): AsyncGenerator<Block> {
  throwIfAborted(options.signal);
  if (seen.has(cid.toString())) return;
  seen.add(cid.toString());
  const bytes = await getBlock(cid, options);
  yield { cid, bytes };
  if (cid.code !== DAG_PB) return; // raw and other leaves have no links we can follow
  for (const link of dagPb.decode(bytes).Links) yield* everything(link.Hash, getBlock, seen, options);
}

/**
 * The blocks of a CAR response, depth-first pre-order (the spec's `order=dfs`), root first.
 * `entity` on a UnixFS file walks only the blocks covering `range`; on anything else (a directory,
 * a non-UnixFS node) the entity is the root block itself. HAMT shards are not walked as one entity.
 */
export async function* scopeBlocks(
  root: CID,
  scope: DagScope,
  getBlock: BlockGetter,
  range?: EntityBytes,
  options: AbortOptions = {},
): AsyncGenerator<Block> {
  if (scope === 'all') {
    yield* everything(root, getBlock, new Set(), options);
    return;
  }
  const bytes = await getBlock(root, options);
  const size = scope === 'entity' && (root.code === DAG_PB || root.code === RAW) ? isUnixFSFile(root, bytes) : undefined;
  if (size === undefined) {
    yield { cid: root, bytes };
    return;
  }
  const [from, to] = range ? resolveEntityBytes(range, size) : [0, size];
  const cached: BlockGetter = async (cid, o) => (cid.equals(root) ? bytes : getBlock(cid, o));
  yield* coveringBlocks(root, from, to, cached, options);
}

/** Encode blocks as a CARv1 stream with `root` as its only root. */
export async function* carStream(root: CID, blocks: AsyncIterable<Block>): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([root]);
  // The writer is a channel: feed it in the background while this generator drains `out`.
  const feeding = (async () => {
    try {
      for await (const b of blocks) await writer.put(b);
    } finally {
      await writer.close();
    }
  })();
  let failed: unknown;
  feeding.catch((err: unknown) => {
    failed = err;
  });
  for await (const chunk of out) yield chunk;
  await feeding.catch(() => undefined);
  if (failed !== undefined) throw failed;
}
