// The engine worker: owns the verified store (IndexedDB), the GPU runtime and the loaded model;
// loads a model through the loader (only missing blocks are fetched), builds the WebGPU backend (or
// the CPU backend where WebGPU is absent), and streams generated tokens back over comlink.
import { expose, releaseProxy } from 'comlink';
import { readGgufHeader } from '../formats/gguf-reader.ts';
import { browserEnvironment, probeCapabilities, type CapabilityReport } from '../gpu/capabilities.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import type { Backend } from '../engine/backend.ts';
import { createCpuBackend } from '../engine/cpu/index.ts';
import { createWasmBackend, resolveThreads, wasmCpuPath, WASM_CPU_PATH } from '../engine/wasm/index.ts';
import { createGpuBackend } from '../engine/gpu/index.ts';
import { autoProbe, chooseAuto } from '../engine/auto/index.ts';
import { Conversation } from '../engine/conversation.ts';
import { generate, type TokenEvent } from '../engine/generate.ts';
import { tokenizerFromGguf } from '../engine/tokenizer/index.ts';
import type { Tokenizer } from '../engine/tokenizer/tokenizer.ts';
import { IdbBlockstore } from '../store/idb-blockstore.ts';
import { IdbRegistry } from '../store/idb-registry.ts';
import { HealthRecorder } from '../store/gateway-health.ts';
import { IdbSources } from '../store/idb-sources.ts';
import { Loader } from '../store/loader.ts';
import { MemoryModelStore } from '../store/memory-model-store.ts';
import type { ModelStore } from '../store/model-store.ts';
import { emptyRegistry, importRegistry } from '../store/registry.ts';
import type { KvOptions } from '../engine/kv/layout.ts';
import { createRangeSource } from '../store/unixfs-range.ts';
import type { EngineConfig, EngineGenerateOptions, EngineGenerateResult, EngineLoadOptions, EngineModelInfo, EngineProgress, EngineWorkerApi } from './engine-api.ts';
import { installWireHandlers } from './wire.ts';
import { idbCalibrationCache } from './calibration-cache.ts';

installWireHandlers();

interface Loaded {
  backend: Backend;
  tokenizer: Tokenizer;
  info: EngineModelInfo;
  /** Tokens in the backend's KV cache (for prefix reuse across turns). */
  context: number[];
}

let config: EngineConfig = {};
let store: Promise<{ store: ModelStore; loader: Loader }> | undefined;
let runtime: GpuRuntime | undefined;
let loaded: Loaded | undefined;
let loads = 0;
const calls = new Map<string, AbortController>();

function openStore() {
  store ??= (async () => {
    try {
      const s = await IdbBlockstore.open({ dbName: config.dbName });
      const registry = new IdbRegistry(s.db);
      if (config.registryJson) await registry.importJson(config.registryJson);
      // The gateway client's events become each gateway's health record (the settings panel shows them).
      const health = new HealthRecorder(new IdbSources(s.db));
      return { store: s, loader: new Loader({ store: s, registry: () => registry.resolvable(), client: { onEvent: health.onEvent } }) };
    } catch (err) {
      // No IndexedDB here (a sandboxed iframe with an opaque origin, some private modes): keep the
      // verified blocks in memory for this page's life instead of failing the load.
      if ((err as Error).name === 'RegistryError') throw err;
      const reg = config.registryJson ? importRegistry(config.registryJson) : emptyRegistry();
      const s = new MemoryModelStore();
      return { store: s, loader: new Loader({ store: s, registry: async () => reg }) };
    }
  })();
  return store;
}

const KV_MODES = new Set(['f32', 'f16', 'q8', 'q4', 'q3', 'q2']);

/** The KV option for either backend; an unknown mode is ignored (the backend's default applies). */
function kvOptions(mode: string | undefined): KvOptions | undefined {
  return mode && KV_MODES.has(mode) ? { mode: mode as NonNullable<KvOptions['mode']> } : undefined;
}

function release(cb: unknown): void {
  (cb as Partial<Record<typeof releaseProxy, () => void>> | undefined)?.[releaseProxy]?.();
}

async function withCall<T>(callId: string | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  if (callId) calls.set(callId, ac);
  try {
    return await fn(ac.signal);
  } finally {
    if (callId) calls.delete(callId);
  }
}

async function gpuRuntime(): Promise<GpuRuntime> {
  if (!runtime || runtime.lostError) {
    runtime = await GpuRuntime.create(browserEnvironment(), {
      onLost: () => {
        // The model's buffers died with the device: the next load starts a fresh runtime.
        loaded = undefined;
      },
    });
  }
  return runtime;
}

export const api: EngineWorkerApi = {
  async configure(c: EngineConfig) {
    config = c;
    store = undefined;
  },

  caps(): Promise<CapabilityReport> {
    return probeCapabilities(browserEnvironment());
  },

  async load(opts: EngineLoadOptions, onProgress?: (e: EngineProgress) => void): Promise<EngineModelInfo> {
    const t0 = performance.now();
    try {
      return await withCall(opts.callId, async (signal) => {
        const { store: s, loader } = await openStore();
        const res = await loader.load(opts.spec, { gateways: opts.gateways, signal, onProgress: (p) => void onProgress?.({ phase: 'fetch', progress: p }) });
        const source = await createRangeSource(res.root, (cid, o) => s.get(cid, o), { signal });
        const file = await readGgufHeader(source, { signal });
        loaded?.backend.dispose();
        loaded = undefined;
        const caps = await probeCapabilities(browserEnvironment());
        const choice = opts.backend ?? 'auto';
        if (choice === 'webgpu' && !caps.webgpu) throw new Error(`WebGPU was requested but is unavailable: ${caps.message}`);
        // 'auto': no WebGPU or a software adapter (SwiftShader) → the WASM CPU path; otherwise
        // calibration on this model's first layers, cached per device (engine/auto).
        const auto = choice === 'auto' ? await chooseAuto({
          probe: autoProbe(caps), adapter: caps.adapter, cpuPath: opts.threads ? wasmCpuPath(resolveThreads(opts.threads)) : WASM_CPU_PATH, file, signal,
          cache: idbCalibrationCache(config.dbName), override: 'choose WebGPU in settings to use it anyway',
          makeCpu: (to, sig) => createWasmBackend(file, source, { layers: [0, to], embed: false, head: false, nCtx: 16, signal: sig, threads: opts.threads }),
          makeGpu: async (to, sig) => createGpuBackend(file, source, { runtime: await gpuRuntime(), layerRange: [0, to], embedding: false, head: false, nCtx: 16, signal: sig }),
        }) : undefined;
        const wantGpu = auto ? auto.backend === 'webgpu' : choice === 'webgpu';
        const upload = (p: { tensor: string; bytesDone: number; bytesTotal: number }) => void onProgress?.({ phase: 'upload', ...p });
        const backend = wantGpu
          ? await createGpuBackend(file, source, { runtime: await gpuRuntime(), nCtx: opts.nCtx, kv: kvOptions(opts.kv), signal, onProgress: upload })
          : choice === 'reference'
            ? await createCpuBackend(file, source, { nCtx: opts.nCtx, kv: kvOptions(opts.kv), signal })
            : await createWasmBackend(file, source, { nCtx: opts.nCtx, kv: kvOptions(opts.kv), signal, threads: opts.threads });
        const a = caps.adapter;
        const info: EngineModelInfo = {
          label: res.label ?? res.root,
          root: res.root,
          backend: backend.kind,
          backendReason: auto ? auto.reason : wantGpu ? undefined : `${choice === 'cpu' ? 'CPU' : 'reference'} backend chosen in settings`,
          cpuPath: wantGpu ? undefined : choice === 'reference' ? 'TypeScript reference' : (backend as { cpuPath?: string }).cpuPath ?? WASM_CPU_PATH,
          adapter: a ? [a.vendor, a.architecture, a.device || a.description].filter(Boolean).join(' ') : undefined,
          config: backend.config,
          contextReason: backend.contextReason,
          memory: backend.memory(),
          blocksFetched: res.blocksFetched,
          blocksFromStore: res.blocksFromStore,
          loadSeconds: (performance.now() - t0) / 1000,
          loads: ++loads,
        };
        loaded = { backend, tokenizer: tokenizerFromGguf(file), info, context: [] };
        return info;
      });
    } finally {
      release(onProgress);
    }
  },

  async info() {
    return loaded?.info;
  },

  async generate(opts: EngineGenerateOptions, onToken?: (e: TokenEvent) => void): Promise<EngineGenerateResult> {
    try {
      return await withCall(opts.callId, async (signal) => {
        const m = loaded;
        if (!m) throw new Error('no model is loaded');
        const turn = {
          maxTokens: opts.maxTokens, sampling: opts.sampling, stop: opts.stop, signal,
          onToken: onToken ? (e: TokenEvent) => void onToken(e) : undefined,
        };
        let res: EngineGenerateResult;
        if (opts.messages) {
          // The page owns the conversation; this worker only keeps the KV cache between turns.
          const conv = new Conversation(m.backend, m.tokenizer, { messages: opts.messages, cachedTokens: m.context });
          m.context = [];
          res = { ...(await conv.respond(turn)), messages: [...conv.messages] };
          m.context = [...conv.cachedTokens];
        } else {
          res = await generate(m.backend, m.tokenizer, { ...turn, prompt: opts.prompt ?? '', cachedTokens: m.context, context: 'clamp' });
          m.context = res.context;
        }
        m.info.memory = m.backend.memory();
        return res;
      });
    } finally {
      release(onToken);
    }
  },

  async abort(callId: string) {
    calls.get(callId)?.abort(new DOMException('aborted by the user', 'AbortError'));
  },

  async unload() {
    loaded?.backend.dispose();
    loaded = undefined;
  },
};

// Imported in-thread (EngineClient's fallback where a worker cannot start) it must not listen on
// the window: the client exposes `api` on a MessageChannel port instead.
if (typeof window === 'undefined') expose(api);
