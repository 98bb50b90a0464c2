// How many threads the WASM backend runs. Threads share one WebAssembly.Memory, which needs
// SharedArrayBuffer: Node always has it; browsers only in a cross-origin-isolated page (COOP
// same-origin + COEP require-corp, which scripts/serve.ts and `tabshard gateway` send). On a plain
// static host without those headers the backend runs 1 thread, whatever was asked for, and its
// cpuPath says so.
import { EngineArgumentError } from '../errors.ts';

/** Default ceiling: beyond a few threads a matvec is bound by memory bandwidth, not cores. */
export const MAX_DEFAULT_THREADS = 8;
/** Ceiling of an explicit request (each thread holds a stack and a worker). */
export const MAX_THREADS = 64;

interface Env {
  process?: { getBuiltinModule?(id: string): unknown };
  crossOriginIsolated?: boolean;
  origin?: string;
  navigator?: { hardwareConcurrency?: number };
}
const env = globalThis as Env;

function nodeOs(): typeof import('node:os') | undefined {
  return env.process?.getBuiltinModule?.('node:os') as typeof import('node:os') | undefined;
}

/** Whether this context can share a WebAssembly.Memory with worker threads. */
export function threadsSupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if (nodeOs() !== undefined) return true;
  // An opaque origin (a sandboxed frame, even inside an isolated page) may not start a module
  // worker from the app's URL: Firefox refuses it with a SecurityError. One thread there.
  return env.crossOriginIsolated === true && env.origin !== 'null';
}

/** The cores this context reports (os.availableParallelism / navigator.hardwareConcurrency). */
export function hardwareThreads(): number {
  const os = nodeOs();
  const n = os ? os.availableParallelism() : env.navigator?.hardwareConcurrency;
  return Math.max(1, n ?? 1);
}

/** The thread count to run: `requested` (validated), else min(cores, MAX_DEFAULT_THREADS); 1 without shared memory. */
export function resolveThreads(requested?: number): number {
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1 || requested > MAX_THREADS)) {
    throw new EngineArgumentError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${requested}`);
  }
  if (!threadsSupported()) return 1;
  return requested ?? Math.min(hardwareThreads(), MAX_DEFAULT_THREADS);
}

/** What the capability report and load messages show, e.g. 'WASM SIMD128, 2 threads'. */
export function wasmCpuPath(threads: number): string {
  return `WASM SIMD128, ${threads} thread${threads === 1 ? '' : 's'}`;
}
