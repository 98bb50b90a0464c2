// A shard's view of a model in the browser: the GGUF file behind its root CID, read by verified
// range reads, so a participant fetches the header and then only the tensors of the range it is
// told to hold. Blocks come from this browser's IndexedDB first (tabs of one browser share it, so a
// helper tab of the coordinator's browser fetches nothing), then from the gateways; either way each
// block is hashed against its CID before use, and fetched blocks are kept in the store.
import type { CID } from 'multiformats/cid';
import type { Backend } from '../engine/backend.ts';
import { createCpuBackend } from '../engine/cpu/index.ts';
import type { GgufFile } from '../formats/gguf-types.ts';
import { readGgufHeader } from '../formats/gguf-reader.ts';
import { browserEnvironment } from '../gpu/capabilities.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import type { AbortOptions, BlockGetter } from '../store/blockstore.ts';
import { storeFirst } from '../store/block-getter.ts';
import { GatewayClient } from '../store/gateway-client.ts';
import { IdbBlockstore } from '../store/idb-blockstore.ts';
import { createRangeSource, type UnixFSRangeSource } from '../store/unixfs-range.ts';
import type { BackendFactory } from './participant.ts';

export interface SliceCounts {
  /** Blocks read from this browser's store. */
  fromStore: number;
  /** Blocks fetched from gateways (each verified, then stored). */
  fromGateways: number;
  bytesFromGateways: number;
}

export interface ModelSlice {
  readonly root: string;
  readonly file: GgufFile;
  readonly source: UnixFSRangeSource;
  readonly counts: SliceCounts;
  close(): void;
}

export interface OpenSliceOptions {
  dbName?: string;
  gateways: readonly string[];
  signal?: AbortSignal;
  /** After every block, with the counts so far. */
  onProgress?: (c: SliceCounts) => void;
}

/** Opens the model's file and reads its header (nothing else). */
export async function openModelSlice(root: string, o: OpenSliceOptions): Promise<ModelSlice> {
  const store = await IdbBlockstore.open({ dbName: o.dbName });
  const gw = new GatewayClient({ gateways: [...o.gateways] });
  const counts: SliceCounts = { fromStore: 0, fromGateways: 0, bytesFromGateways: 0 };
  const fromGateway: BlockGetter = async (cid: CID, opts?: AbortOptions) => {
    const bytes = await gw.getBlock(cid, opts);
    counts.fromGateways++;
    counts.bytesFromGateways += bytes.length;
    return bytes;
  };
  const getter = storeFirst(store, fromGateway);
  const counted: BlockGetter = async (cid, opts) => {
    const before = counts.fromGateways;
    const bytes = await getter(cid, opts);
    if (counts.fromGateways === before) counts.fromStore++;
    o.onProgress?.(counts);
    return bytes;
  };
  try {
    const source = await createRangeSource(root, counted, { signal: o.signal });
    const file = await readGgufHeader(source, { signal: o.signal });
    return { root, file, source, counts, close: () => store.close() };
  } catch (e) {
    store.close();
    throw e;
  }
}

export type SliceBackend = 'auto' | 'webgpu' | 'cpu';

let runtime: Promise<GpuRuntime> | undefined;

/**
 * Makes backends for layer ranges of `slice` (no embedding, no head): WebGPU where asked and
 * present, else the CPU. The KV cache is f32 on the CPU so greedy answers match one device exactly.
 */
export function sliceBackendFactory(slice: ModelSlice, o: { backend: SliceBackend; nCtx: number; delayMs?: number }): BackendFactory {
  return async (from, to, signal) => {
    const wantGpu = o.backend !== 'cpu' && typeof navigator !== 'undefined' && !!navigator.gpu;
    if (o.backend === 'webgpu' && !wantGpu) throw new Error('WebGPU was requested but this browser has none');
    let be: Backend;
    if (wantGpu) {
      const { createGpuBackend } = await import('../engine/gpu/index.ts');
      runtime ??= GpuRuntime.create(browserEnvironment());
      be = await createGpuBackend(slice.file, slice.source, { runtime: await runtime, layerRange: [from, to], embedding: false, head: false, nCtx: o.nCtx, signal });
    } else {
      be = await createCpuBackend(slice.file, slice.source, { layers: [from, to], embed: false, head: false, nCtx: o.nCtx, kv: { mode: 'f32' }, signal });
    }
    return o.delayMs ? slowed(be, o.delayMs) : be;
  };
}

/** A backend that waits before each layers call (a slow device, for demos and failover tests). */
export function slowed(be: Backend, ms: number): Backend {
  const layers = be.layers.bind(be);
  be.layers = async (...a) => { await new Promise((r) => setTimeout(r, ms)); return layers(...a); };
  return be;
}
