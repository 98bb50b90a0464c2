// Wire types of the engine worker (comlink). The page never imports the engine itself: it talks
// to one worker that owns the store, the GPU device and the loaded model.
import type { CapabilityReport } from '../gpu/capabilities.ts';
import type { LlamaConfig, MemoryReport } from '../engine/backend.ts';
import type { GenerateResult, TokenEvent } from '../engine/generate.ts';
import type { SamplingOptions } from '../engine/sampler.ts';
import type { LoadProgress } from '../store/load-progress.ts';

export type BackendChoice = 'auto' | 'webgpu' | 'cpu';

export interface EngineConfig {
  /** IndexedDB database name (tests use a fresh one). */
  dbName?: string;
  /** Registry JSON merged into the stored registry at start (the app's seed registry). */
  registryJson?: string;
}

export interface EngineLoadOptions {
  /** `name@range`, `name@tag` or a CID. */
  spec: string;
  gateways: string[];
  backend?: BackendChoice;
  /** Context length to allocate (KV cache); default min(model, 2048). */
  nCtx?: number;
  /** KV cache mode (f32, f16, q8, q4, q3, q2) for either backend; ignored when unknown. */
  kv?: string;
  callId?: string;
}

export type EngineProgress =
  | { phase: 'fetch'; progress: LoadProgress }
  | { phase: 'upload'; tensor: string; bytesDone: number; bytesTotal: number };

export interface EngineModelInfo {
  label: string;
  root: string;
  backend: 'webgpu' | 'cpu';
  /** Why the CPU backend is used, when it is. */
  backendReason?: string;
  adapter?: string;
  config: LlamaConfig;
  memory: MemoryReport;
  blocksFetched: number;
  blocksFromStore: number;
  loadSeconds: number;
  /** How many times a model has been loaded in this worker (widgets sharing one engine). */
  loads: number;
}

export interface EngineGenerateOptions {
  prompt: string;
  maxTokens?: number;
  sampling?: SamplingOptions;
  stop?: string[];
  callId?: string;
}

export interface EngineWorkerApi {
  configure(config: EngineConfig): Promise<void>;
  caps(): Promise<CapabilityReport>;
  load(opts: EngineLoadOptions, onProgress?: (e: EngineProgress) => void): Promise<EngineModelInfo>;
  info(): Promise<EngineModelInfo | undefined>;
  generate(opts: EngineGenerateOptions, onToken?: (e: TokenEvent) => void): Promise<GenerateResult>;
  abort(callId: string): Promise<void>;
  unload(): Promise<void>;
}
