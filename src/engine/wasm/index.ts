export { createWasmBackend, WasmBackend, WASM_CPU_PATH, type WasmBackendOptions } from './backend.ts';
export { WasmMemoryLimitError, WasmLoadError, WasmThreadError } from './errors.ts';
export { resolveThreads, wasmCpuPath, MAX_THREADS } from './threads.ts';
export { WASM_MAX_BYTES } from './runtime.ts';
