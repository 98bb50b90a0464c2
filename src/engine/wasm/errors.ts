// Errors of the WASM CPU backend. Callers and tests branch on `err.name`.

/** The slice's weights do not fit one wasm32 memory (4 GiB): the model must be sharded. */
export class WasmMemoryLimitError extends Error {
  override name = 'WasmMemoryLimitError';
  readonly needed: number;
  readonly limit: number;

  constructor(needed: number, limit: number) {
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
    super(`the model's weights need ${gib(needed)} of WebAssembly memory, more than the ${gib(limit)} one wasm32 memory can hold; `
      + 'shard it across tabs or peers (each holds a range of layers), or use the WebGPU backend');
    this.needed = needed;
    this.limit = limit;
  }
}

/** The kernels module could not be fetched, compiled or instantiated. */
export class WasmLoadError extends Error {
  override name = 'WasmLoadError';
}

/** A worker thread of the WASM backend could not start, or a threaded matmul failed. */
export class WasmThreadError extends Error {
  override name = 'WasmThreadError';
}
