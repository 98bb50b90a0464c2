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
import { createWasmBackend, WASM_CPU_PATH } from '../wasm/index.ts';
import { createGpuBackend, type KvMode } from '../gpu/index.ts';
import { KV_MODES, type KvLayout } from '../kv/layout.ts';
import { probeCapabilities } from '../../gpu/capabilities.ts';

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

/** Parse a --kv flag value; undefined when absent. */
export function kvMode(v: string | undefined): KvMode | undefined {
  if (v === undefined) return undefined;
  if ((KV_MODES as readonly string[]).includes(v)) return v as KvMode;
  throw new RangeError(`--kv must be one of ${KV_MODES.join(', ')}, got '${v}'`);
}

/**
 * `requested` undefined: WebGPU when a hardware adapter is found, else CPU (with a note). A software
 * adapter (SwiftShader: `isFallbackAdapter`) emulates the GPU on the CPU and is ~100x slower than
 * the CPU backend for the same model, so it is used only when asked for with 'webgpu'.
 */
export async function createBackend(
  requested: BackendKind | undefined, file: GgufFile, source: RangeSource,
  opts: { signal?: AbortSignal; nCtx?: number; kv?: KvMode; note?: (msg: string) => void } = {},
): Promise<Backend & { readonly kvLayout: KvLayout }> {
  const note = opts.note ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Both backends keep the same compressed cache; absent, each uses DEFAULT_KV_MODE.
  const kvOpts = opts.kv ? { mode: opts.kv } : undefined;
  if (requested === 'reference') return createCpuBackend(file, source, { signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts });
  if (requested !== 'cpu') {
    try {
      const env = await nodeGpuEnvironment();
      const caps = await probeCapabilities(env);
      if (!caps.webgpu) throw new Error(caps.message);
      if (requested === undefined && caps.adapter?.isFallbackAdapter) {
        note(`tabshard: the only WebGPU adapter is a software emulation (${caps.adapter.description || caps.adapter.architecture}); using the faster CPU backend (${WASM_CPU_PATH}; --backend webgpu to override)`);
      } else {
        return await createGpuBackend(file, source, { env, signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts });
      }
    } catch (err) {
      if (requested === 'webgpu') throw err;
      note(`tabshard: WebGPU unavailable (${(err as Error).name}: ${(err as Error).message}); using the CPU backend (${WASM_CPU_PATH})`);
    }
  }
  return createWasmBackend(file, source, { signal: opts.signal, nCtx: opts.nCtx, kv: kvOpts });
}
