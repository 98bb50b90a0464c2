// A shard's view of a model in the browser: the GGUF file behind its root CID, read by verified
// range reads, so a participant fetches the header and then only the tensors of the range it is
// told to hold. Blocks come from this browser's IndexedDB first (tabs of one browser share it, so a
// helper tab of the coordinator's browser fetches nothing), then from the gateways; either way each
// block is hashed against its CID before use, and fetched blocks are kept in the store. In a WebRTC
// room over libp2p, usePeers() puts the room's bitswap between the two: store, then room peers (the
// coordinator serves the blocks it holds), then gateways. The header is read before joining, so
// it comes from the store or gateways; the layers are read after, through the peers.
import type { CID } from 'multiformats/cid';
import type { Backend } from '../engine/backend.ts';
import { autoProbe, chooseAuto } from '../engine/auto/index.ts';
import { createWasmBackend, WASM_CPU_PATH } from '../engine/wasm/index.ts';
import type { GgufFile } from '../formats/gguf-types.ts';
import { readGgufHeader } from '../formats/gguf-reader.ts';
import { browserEnvironment, probeCapabilities } from '../gpu/capabilities.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import type { AbortOptions, BlockGetter } from '../store/blockstore.ts';
import { GatewayClient } from '../store/gateway-client.ts';
import { IdbBlockstore } from '../store/idb-blockstore.ts';
import { createRangeSource, type UnixFSRangeSource } from '../store/unixfs-range.ts';
import { idbCalibrationCache } from '../workers/calibration-cache.ts';
import type { BackendFactory } from './participant.ts';
import { sliceBlockGetter, type PeerStage, type SliceCounts } from './slice-blocks.ts';

export type { PeerStage, SliceCounts } from './slice-blocks.ts';

export interface ModelSlice {
  readonly root: string;
  readonly file: GgufFile;
  readonly source: UnixFSRangeSource;
  readonly counts: SliceCounts;
  /** The browser's block store the slice reads through (a room's bitswap serves from it). */
  readonly store: IdbBlockstore;
  /** From now on, blocks missing from the store are asked of the room's peers before the gateways. */
  usePeers(stage: PeerStage): void;
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
  const counts: SliceCounts = { fromStore: 0, fromGateways: 0, bytesFromGateways: 0, fromPeers: 0, bytesFromPeers: 0 };
  const fromGateway: BlockGetter = async (cid: CID, opts?: AbortOptions) => {
    const bytes = await gw.getBlock(cid, opts);
    counts.fromGateways++;
    counts.bytesFromGateways += bytes.length;
    return bytes;
  };
  const { getter, usePeers } = sliceBlockGetter(store, fromGateway, counts, o.onProgress);
  try {
    const source = await createRangeSource(root, getter, { signal: o.signal });
    const file = await readGgufHeader(source, { signal: o.signal });
    return { root, file, source, counts, store, usePeers, close: () => store.close() };
  } catch (e) {
    store.close();
    throw e;
  }
}

export type SliceBackend = 'auto' | 'webgpu' | 'cpu';

let runtime: Promise<GpuRuntime> | undefined;

// The WebGPU engine is imported when first needed: a CPU helper tab never loads it.
async function createGpuBackend(...a: Parameters<typeof import('../engine/gpu/index.ts').createGpuBackend>): Promise<Backend> {
  return (await import('../engine/gpu/index.ts')).createGpuBackend(...a);
}

function gpuRuntime(): Promise<GpuRuntime> {
  runtime ??= GpuRuntime.create(browserEnvironment());
  return runtime;
}

/**
 * What `choice` means on this device for this model: 'auto' decides as the app does (engine/auto:
 * no WebGPU or a software adapter → the WASM CPU path, else calibration on the model's first
 * layers, cached per device in `<dbName>-calibration`). The helper reports the result as its
 * backend when it joins, so the planner caps a CPU helper's budget at the WASM memory's 4 GiB.
 */
export async function resolveSliceBackend(slice: ModelSlice, choice: SliceBackend, o: { dbName?: string; signal?: AbortSignal } = {}): Promise<{ backend: 'cpu' | 'webgpu'; reason: string }> {
  if (choice !== 'auto') return { backend: choice, reason: `${choice === 'cpu' ? 'CPU' : 'WebGPU'} chosen` };
  const caps = await probeCapabilities(browserEnvironment());
  const { file, source } = slice;
  const d = await chooseAuto({
    probe: autoProbe(caps), adapter: caps.adapter, cpuPath: WASM_CPU_PATH, file, signal: o.signal,
    cache: idbCalibrationCache(o.dbName),
    makeCpu: (to, signal) => createWasmBackend(file, source, { layers: [0, to], embed: false, head: false, nCtx: 16, signal }),
    makeGpu: async (to, signal) => createGpuBackend(file, source, { runtime: await gpuRuntime(), layerRange: [0, to], embedding: false, head: false, nCtx: 16, signal }),
  });
  return { backend: d.backend, reason: d.reason };
}

/**
 * Makes backends for layer ranges of `slice` (no embedding, no head): WebGPU where asked (or where
 * 'auto' finds it faster), else the WASM CPU path. The KV cache is f32 on the CPU so greedy answers
 * match one device exactly.
 */
export function sliceBackendFactory(slice: ModelSlice, o: { backend: SliceBackend; nCtx: number; delayMs?: number; dbName?: string }): BackendFactory {
  let chosen: Promise<{ backend: 'cpu' | 'webgpu' }> | undefined;
  return async (from, to, signal) => {
    if (o.backend === 'webgpu' && !(typeof navigator !== 'undefined' && navigator.gpu)) throw new Error('WebGPU was requested but this browser has none');
    chosen ??= resolveSliceBackend(slice, o.backend, { dbName: o.dbName, signal });
    const wantGpu = (await chosen).backend === 'webgpu';
    const be: Backend = wantGpu
      ? await createGpuBackend(slice.file, slice.source, { runtime: await gpuRuntime(), layerRange: [from, to], embedding: false, head: false, nCtx: o.nCtx, signal })
      : await createWasmBackend(slice.file, slice.source, { layers: [from, to], embed: false, head: false, nCtx: o.nCtx, kv: { mode: 'f32' }, signal });
    return o.delayMs ? slowed(be, o.delayMs) : be;
  };
}

/** A backend that waits before each layers call (a slow device, for demos and failover tests). */
export function slowed(be: Backend, ms: number): Backend {
  const layers = be.layers.bind(be);
  be.layers = async (...a) => { await new Promise((r) => setTimeout(r, ms)); return layers(...a); };
  return be;
}
