// Joining a room as a helper, shared by the app's join panel and the widget's <tabshard-helper>:
// open the room's transport (over a libp2p room the layers' blocks then come from room peers
// before the gateways), settle 'auto' before joining (the backend goes in the join info, and the
// planner caps a CPU helper at the WASM memory limit), and start the JoinSession.
import type { BlockExchangeEvent } from '../block-exchange.ts';
import { resolveSliceBackend, sliceBackendFactory, type ModelSlice, type SliceBackend } from '../model-slice.ts';
import { rangeMemory } from '../planner.ts';
import type { ModelCosts } from '../plan-types.ts';
import { JoinSession } from '../session-join.ts';
import type { ShareInvite } from '../share-link.ts';
import { openRoomSource } from './room-source.ts';

export interface HelperJoinOptions {
  invite: ShareInvite;
  slice: ModelSlice;
  /** This helper's peer id in the room. */
  self: string;
  memoryBytes: number;
  backend: SliceBackend;
  label: string;
  /** IndexedDB name for the calibration cache of 'auto'. */
  dbName?: string;
  /** Test pages only: an added delay per layers call (a slow device). */
  delayMs?: number;
  onChange: () => void;
  /** The block exchange's events (a peer banned for wrong bytes or silence). */
  onBlockEvent?: (e: BlockExchangeEvent) => void;
}

export async function joinAsHelper(o: HelperJoinOptions): Promise<JoinSession> {
  const { invite: inv, slice } = o;
  const { source, peerBlocks } = await openRoomSource(inv.transport, inv.relay, inv.room.id, o.self, 'participant', { blocks: slice.store });
  if (peerBlocks) slice.usePeers((gateway) => peerBlocks(gateway, { onEvent: o.onBlockEvent }));
  const { backend } = await resolveSliceBackend(slice, o.backend, { dbName: o.dbName });
  return new JoinSession({
    room: inv.room, self: o.self, source,
    info: { memoryBytes: o.memoryBytes, speed: 1, wire: ['f32', 'f16'], backend, label: o.label, model: inv.model },
    factory: sliceBackendFactory(slice, { backend, nCtx: inv.nCtx, delayMs: o.delayMs }),
    onChange: o.onChange,
  });
}

/** Layers from layer 0 that `memoryBytes` holds (the planner's estimate is per range). */
export function layersFitting(costs: ModelCosts | undefined, memoryBytes: number): number {
  if (!costs) return 0;
  let n = 0;
  while (n < costs.nLayer && rangeMemory(costs, 0, n + 1) <= memoryBytes) n++;
  return n;
}
