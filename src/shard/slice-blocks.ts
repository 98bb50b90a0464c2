// Where a model slice's blocks come from, counted for the join panel: this browser's store, else
// (in a libp2p room, once joined) the room's peers over bitswap, else the gateways. Every source
// verifies before a block is used (the gateway client, the block exchange, the store's put), and a
// fetched block is kept in the store, so the next read of it is local.
import type { BlockGetter, Blockstore } from '../store/blockstore.ts';

export interface SliceCounts {
  /** Blocks read from this browser's store. */
  fromStore: number;
  /** Blocks fetched from gateways (each verified, then stored). */
  fromGateways: number;
  bytesFromGateways: number;
  /** Blocks from room peers over bitswap (each verified, then stored). */
  fromPeers: number;
  bytesFromPeers: number;
}

/** Wraps the gateway stage with a peer stage: `room.blockGetter` of a libp2p room has this shape. */
export type PeerStage = (gateway: BlockGetter) => BlockGetter;

/**
 * Where a slice's blocks come from, counted: the store, else the peer stage (when set), else the
 * gateways (`fromGateway` counts its own). Reads run concurrently (the range reader keeps several
 * in flight), so each read attributes its block itself rather than diffing shared counters.
 */
export function sliceBlockGetter(store: Blockstore, fromGateway: BlockGetter, counts: SliceCounts, onProgress?: (c: SliceCounts) => void): { getter: BlockGetter; usePeers(stage: PeerStage): void } {
  let remote: BlockGetter = fromGateway;
  const usePeers = (stage: PeerStage): void => {
    // CIDs the peer stage fell back to the gateway for (not a peer's block).
    const viaGateway = new Set<string>();
    const peers = stage(async (cid, opts) => {
      const bytes = await fromGateway(cid, opts);
      viaGateway.add(cid.toString());
      return bytes;
    });
    remote = async (cid, opts) => {
      const bytes = await peers(cid, opts);
      if (!viaGateway.delete(cid.toString())) {
        counts.fromPeers++;
        counts.bytesFromPeers += bytes.length;
      }
      return bytes;
    };
  };
  const getter: BlockGetter = async (cid, opts) => {
    let bytes: Uint8Array;
    if (await store.has(cid, opts)) {
      bytes = await store.get(cid, opts);
      counts.fromStore++;
    } else {
      bytes = await remote(cid, opts);
      // The store's put verifies again; the block is then local for the next read.
      await store.put(cid, bytes, opts);
    }
    onProgress?.(counts);
    return bytes;
  };
  return { getter, usePeers };
}
