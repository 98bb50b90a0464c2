// One WasmRuntime per thread count for a test file: created before its tests, closed after (the
// threaded ones hold worker_threads that would otherwise outlive the file).
import { afterAll, beforeAll } from 'vitest';
import { WasmRuntime } from '../../src/engine/wasm/runtime.ts';

export function wasmRuntimes(counts: readonly number[]): Map<number, WasmRuntime> {
  const runtimes = new Map<number, WasmRuntime>();
  beforeAll(async () => {
    for (const n of counts) runtimes.set(n, await WasmRuntime.create({ threads: n }));
  });
  afterAll(() => {
    for (const rt of runtimes.values()) rt.close();
  });
  return runtimes;
}
