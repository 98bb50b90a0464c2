// Wire types of the engine worker (comlink). The page never imports the engine itself: it talks
// to one worker that owns the store, the GPU device and the loaded model.
import type { CapabilityReport } from '../gpu/capabilities.ts';
import type { LlamaConfig, MemoryReport } from '../engine/backend.ts';
import type { ChatFormatName } from '../engine/chat/prompt.ts';
import type { GenerateResult, TokenEvent } from '../engine/generate.ts';
import type { ChatMessage } from '../engine/tokenizer/chat.ts';
import type { SamplingOptions } from '../engine/sampler.ts';
import type { LoadProgress } from '../store/load-progress.ts';

/** cpu: the WASM SIMD128 path; reference: the TypeScript f32 backend (exact, slow; for comparisons). */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu' | 'reference';

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
  /** CPU backend threads (default: the cores, up to 8; 1 where the page is not cross-origin isolated). */
  threads?: number;
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
  /** Which CPU path runs ('WASM SIMD128, 1 thread', or 'TypeScript reference'), when the backend is the CPU. */
  cpuPath?: string;
  adapter?: string;
  config: LlamaConfig;
  /** Why the context has its size (src/engine/context.ts). */
  contextReason?: string;
  memory: MemoryReport;
  blocksFetched: number;
  blocksFromStore: number;
  loadSeconds: number;
  /** How many times a model has been loaded in this worker (widgets sharing one engine). */
  loads: number;
}

export interface EngineGenerateOptions {
  /** Raw text to continue (encoded as is). Give this or `messages`. */
  prompt?: string;
  /**
   * A conversation to answer (its last message is the user's): rendered with the model's chat
   * template; the KV cache of the previous call is reused for the common prefix.
   */
  messages?: ChatMessage[];
  maxTokens?: number;
  sampling?: SamplingOptions;
  stop?: string[];
  callId?: string;
}

/** With `messages`: the turn's chat fields too (see TurnResult). */
export interface EngineGenerateResult extends GenerateResult {
  /** The conversation after this turn: oldest turns dropped to fit, the answer (even a stopped one) appended. */
  messages?: ChatMessage[];
  format?: ChatFormatName;
  templateError?: string;
  prefilledTokens?: number;
  dropped?: ChatMessage[];
}

export interface EngineWorkerApi {
  configure(config: EngineConfig): Promise<void>;
  caps(): Promise<CapabilityReport>;
  load(opts: EngineLoadOptions, onProgress?: (e: EngineProgress) => void): Promise<EngineModelInfo>;
  info(): Promise<EngineModelInfo | undefined>;
  generate(opts: EngineGenerateOptions, onToken?: (e: TokenEvent) => void): Promise<EngineGenerateResult>;
  abort(callId: string): Promise<void>;
  unload(): Promise<void>;
}
