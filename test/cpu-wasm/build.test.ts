// The committed kernels.wasm is what src/engine/wasm/c builds to (deterministic build). Needs clang
// and wasm-ld (installed by .ci/run and ./dev); skipped, saying so, where they are absent.
import { describe, expect, it } from 'vitest';
import { clangAvailable, wasmUpToDate } from '../../scripts/build-wasm.ts';

const haveClang = clangAvailable();
if (!haveClang) console.log('cpu-wasm build check skipped: no clang/wasm-ld (apt-get install -y clang lld)');

describe('kernels.wasm', () => {
  it.skipIf(!haveClang)('is up to date with its C sources (npm run build:wasm)', () => {
    expect(wasmUpToDate()).toBe(true);
  });
});
