export { createWasmBackend, WasmBackend, WASM_CPU_PATH, type WasmBackendOptions } from './backend.ts';
export { WasmMemoryLimitError, WasmLoadError } from './errors.ts';
export { WASM_MAX_BYTES } from './runtime.ts';
