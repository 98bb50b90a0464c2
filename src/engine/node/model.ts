// Node-only (CLI): open a model by file path or NAME@VERSION from a local store, and create a
// backend for it (WebGPU when available, else the CPU backend: the WASM SIMD128 path; `reference` is
// the TypeScript f32 backend tests compare with). Browser code opens models through the loader.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufHeader } from '../../formats/gguf-reader.ts';
import { fileRangeSource } from '../../formats/range-source-node.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import type { GgufFile } from '../../formats/gguf-types.ts';
import { storeFirst } from '../../store/block-getter.ts';
import { openStore } from '../../store/fs-blockstore.ts';
import { loadRegistry } from '../../store/publish.ts';
import { resolve } from '../../store/registry.ts';
import { createRangeSource } from '../../store/unixfs-range.ts';
import { nodeGpuEnvironment } from '../../gpu/node.ts';
import type { Backend } from '../backend.ts';
import { createCpuBackend } from '../cpu/index.ts';
import { createWasmBackend, resolveThreads, wasmCpuPath, type WasmBackend } from '../wasm/index.ts';
import { createGpuBackend, type KvMode } from '../gpu/index.ts';
import { DECODE_GRAPHS } from '../gpu/gpu-backend.ts';
import { KV_MODES, type KvLayout } from '../kv/layout.ts';
import { probeCapabilities, type CapabilityReport, type GpuEnvironment } from '../../gpu/capabilities.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { autoProbe, chooseAuto, type CalibrationCache } from '../auto/index.ts';
import { fileCalibrationCache } from './calibration-cache.ts';

export interface OpenedModel {
  file: GgufFile;
  source: RangeSource;
  /** What was opened: the path, or `name@version (cid)`. */
  label: string;
  close(): Promise<void>;
}

/** A path to a GGUF file, or a registry spec resolved in `<storeDir>/registry.json` and read from its blocks. */
export async function openModel(spec: string, opts: { storeDir?: string; signal?: AbortSignal } = {}): Promise<OpenedModel> {
  if (existsSync(spec) && statSync(spec).isFile()) {
    const src = await fileRangeSource(spec);
    try {
      return { file: await readGgufHeader(src, { signal: opts.signal }), source: src, label: spec, close: () => src.close() };
    } catch (err) {
      await src.close();
      throw err;
    }
  }
  const storeDir = opts.storeDir ?? '.store';
  const entry = resolve(await loadRegistry(join(storeDir, 'registry.json')), spec);
  const store = openStore(storeDir);
  const source = await createRangeSource(entry.cid, storeFirst(store), { signal: opts.signal });
  const file = await readGgufHeader(source, { signal: opts.signal });
  return { file, source, label: `${entry.name}@${entry.version} (${entry.cid})`, close: () => Promise.resolve() };
}

/** cpu: the WASM SIMD128 path users get; reference: the TypeScript f32 backend (the exact oracle, slower, ~7x the memory). */
export type BackendKind = 'cpu' | 'webgpu' | 'reference';

/**
 * The WebGPU decode graph (--fusion): auto (every fusion, RMSNorm folded into the matvecs except
 * on SwiftShader, where it is kept apart), all (folded everywhere), no-norm (kept apart everywhere),
 * off (one dispatch per op). For measuring which pays on one's own GPU; the output is the same.
 */
export const FUSIONS = ['auto', 'all', 'no-norm', 'off'] as const;
export type Fusion = (typeof FUSIONS)[number];

/** Parse a --fusion flag value; undefined when absent. */
export function fusionFlag(v: string | undefined): Fusion | undefined {
  if (v === undefined || (FUSIONS as readonly string[]).includes(v)) return v as Fusion | undefined;
  throw new RangeError(`--fusion must be one of ${FUSIONS.join(', ')}, got '${v}'`);
}

const FUSION_GRAPH = { all: 'fused', 'no-norm': 'fused, norm apart', off: 'unfused' } as const;

function fusionOptions(f: Fusion | undefined): { fuse?: boolean; fuseNorm?: boolean } {
  const g = f && f !== 'auto' ? DECODE_GRAPHS.find((x) => x.graph === FUSION_GRAPH[f])! : undefined;
  return g ? { fuse: g.fuse, fuseNorm: g.fuseNorm } : {};
}

/** Parse a --kv flag value; undefined when absent. */
export function kvMode(v: string | undefined): KvMode | undefined {
  if (v === undefined) return undefined;
  if ((KV_MODES as readonly string[]).includes(v)) return v as KvMode;
  throw new RangeError(`--kv must be one of ${KV_MODES.join(', ')}, got '${v}'`);
}

/**
 * `requested` undefined or 'auto': the CPU where WebGPU is missing or the adapter is a software
 * emulation (SwiftShader: far slower than the WASM kernels), otherwise whichever path calibration
 * on this model's first layers finds faster (cached in the CLI's cache directory; see engine/auto).
 * The choice and its reason go to `note` (stderr by default).
 */
export async function createBackend(
  requested: BackendKind | 'auto' | undefined, file: GgufFile, source: RangeSource,
  opts: { signal?: AbortSignal; nCtx?: number; kv?: KvMode; note?: (msg: string) => void; cache?: CalibrationCache; threads?: number; fusion?: Fusion } = {},
): Promise<Backend & { readonly kvLayout: KvLayout }> {
  const fused = fusionOptions(opts.fusion);
  const note = opts.note ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Both backends keep the same compressed cache; absent, each uses DEFAULT_KV_MODE.
  const kvOpts = opts.kv ? { mode: opts.kv } : undefined;
  if (requested === 'reference') return createCpuBackend(file, source, { signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts });
  const threads = opts.threads;
  // What the CPU path will be, for notes written before it exists (the thread count included).
  const cpuPath = wasmCpuPath(resolveThreads(threads));
  const cpu = (): Promise<WasmBackend> => createWasmBackend(file, source, { signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts, threads });
  if (requested === 'cpu') return cpu();
  let env: GpuEnvironment | undefined;
  let caps: CapabilityReport | undefined;
  try {
    env = await nodeGpuEnvironment();
    caps = await probeCapabilities(env);
  } catch (err) {
    if (requested === 'webgpu') throw err;
    note(`tabshard: auto: CPU (${cpuPath}): WebGPU unavailable (${(err as Error).name}: ${(err as Error).message})`);
    return cpu();
  }
  if (requested === 'webgpu') {
    if (!caps.webgpu) throw new Error(caps.message);
    return createGpuBackend(file, source, { env, signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts, ...fused });
  }
  let runtime: Promise<GpuRuntime> | undefined;
  const rt = (): Promise<GpuRuntime> => (runtime ??= GpuRuntime.create(env!));
  const auto = await chooseAuto({
    probe: autoProbe(caps), adapter: caps.adapter, cpuPath, file, signal: opts.signal,
    cache: opts.cache ?? fileCalibrationCache(), override: '--backend webgpu to override',
    makeCpu: (to, signal) => createWasmBackend(file, source, { layers: [0, to], embed: false, head: false, nCtx: 16, signal, threads }),
    makeGpu: async (to, signal) => createGpuBackend(file, source, { runtime: await rt(), layerRange: [0, to], embedding: false, head: false, nCtx: 16, signal }),
  });
  note(`tabshard: ${auto.reason}`);
  if (auto.backend === 'cpu') {
    // The device opened for calibration is not needed by the CPU path.
    if (runtime) (await runtime).destroy();
    return cpu();
  }
  return createGpuBackend(file, source, { runtime: await rt(), signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts, ...fused });
}
