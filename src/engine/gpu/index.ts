// createGpuBackend: a GGUF model (header parsed, bytes behind a RangeSource) on WebGPU.
import type { GgufFile } from '../../formats/gguf-types.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import type { GpuEnvironment } from '../../gpu/capabilities.ts';
import { configFromGguf } from '../config.ts';
import { chooseContext } from '../context.ts';
import { GpuBackend } from './gpu-backend.ts';
import { loadWeights } from './weights.ts';
import type { KvOptions } from '../kv/layout.ts';

export { GpuBackend } from './gpu-backend.ts';
export type { KvMode, KvOptions } from '../kv/layout.ts';

export interface GpuBackendCreateOptions {
  /** An existing runtime (shared by several models/widgets); otherwise one is made from `env`. */
  runtime?: GpuRuntime;
  env?: GpuEnvironment;
  /** Layers to hold, [from, to); default all. */
  layerRange?: readonly [number, number];
  /** Hold the embedding / output head (default: when the range starts at 0 / ends at nLayer). */
  embedding?: boolean;
  head?: boolean;
  batch?: number;
  /** Cap per storage binding (tests force tensor splitting with it). */
  maxBindingBytes?: number;
  /** The context length (KV cache size); default: chooseContext (src/engine/context.ts). */
  nCtx?: number;
  /** KV cache: mode (f32 | f16 | q8 | q4 | q3 | q2; default q8, see DEFAULT_KV_MODE), group and window (src/engine/kv/layout.ts). */
  kv?: KvOptions;
  /** Decode fusions and the weight layout they need (default on; GpuBackendOptions.fuse). */
  fuse?: boolean;
  /** With fuse: RMSNorm folded into the matvec after it (GpuBackendOptions.fuseNorm; default by adapter). */
  fuseNorm?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { tensor: string; bytesDone: number; bytesTotal: number }) => void;
}

export async function createGpuBackend(file: GgufFile, source: RangeSource, opts: GpuBackendCreateOptions = {}): Promise<GpuBackend> {
  const base = configFromGguf(file);
  const range = opts.layerRange ?? [0, base.nLayer];
  let rt = opts.runtime;
  if (!rt) {
    if (!opts.env) throw new Error('createGpuBackend needs a runtime or a GPU environment');
    rt = await GpuRuntime.create(opts.env);
  }
  // Each layer's K and V live in buffers of their own: the binding limit caps one layer's cache.
  const perLayer = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
  const context = chooseContext(base, opts.nCtx, opts.kv, (perLayer / 2) * base.nLayer);
  const config = { ...base, nCtx: context.nCtx };
  const total = file.tensors.reduce((n, t) => n + t.byteSize, 0);
  let done = 0;
  const weights = await loadWeights(rt, file, source, config, {
    layerRange: range,
    embedding: opts.embedding ?? range[0] === 0,
    head: opts.head ?? range[1] === config.nLayer,
    maxBindingBytes: opts.maxBindingBytes,
    fuse: opts.fuse ?? true,
    signal: opts.signal,
    onTensor: (tensor, bytes) => {
      done += bytes;
      opts.onProgress?.({ tensor, bytesDone: done, bytesTotal: total });
    },
  });
  const be = new GpuBackend(rt, config, weights, { layerRange: range, batch: opts.batch, kv: opts.kv, fuse: opts.fuse ?? true, fuseNorm: opts.fuseNorm });
  be.contextReason = context.reason;
  return be;
}
