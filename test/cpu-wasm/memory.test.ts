// Memory of the WASM backend: weights held within 1.15x of the slice's tensor bytes in the file
// (matrices quantized as stored; only norms are widened to f32), and a slice beyond one wasm32
// memory refused before any bytes are read, with an error that suggests sharding.
import { describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import type { GgufTensorInfo } from '../../src/formats/gguf-types.ts';
import { createWasmBackend, WASM_MAX_BYTES } from '../../src/engine/wasm/index.ts';
import { checkFits } from '../../src/engine/wasm/load.ts';
import type { WeightRef } from '../../src/engine/weights.ts';
import { syntheticFamilyGguf } from '../../src/engine/synthetic/families.ts';
import { GgmlType } from '../../src/quant/ggml-types.ts';

describe('WASM backend memory', () => {
  for (const type of [GgmlType.Q4_K, GgmlType.Q2_K, GgmlType.Q8_0]) {
    it(`type ${type}: weights within 1.15x of the file's tensor bytes`, async () => {
      const bytes = syntheticFamilyGguf('llama3', { seed: 3, type });
      const be = await createWasmBackend(parseGguf(bytes), bytesSource(bytes), { nCtx: 64 });
      const m = be.memory();
      console.log(`type ${type}: held ${m.weights} bytes for ${be.fileBytes} in the file (${(m.weights / be.fileBytes).toFixed(4)}x)`);
      expect(m.weights / be.fileBytes).toBeLessThanOrEqual(1.15);
      be.dispose();
    }, 60_000);
  }

  it('refuses a slice beyond 4 GiB before reading, suggesting sharding', () => {
    const info = (name: string, n: number): GgufTensorInfo => ({ name, type: GgmlType.Q4_K, typeName: 'q4_K', shape: [4096, n / 4096], nElements: n, byteSize: (n / 256) * 144 } as unknown as GgufTensorInfo);
    const refs: WeightRef[] = Array.from({ length: 30 }, (_, i) => ({ name: `blk.${i}.ffn_up.weight`, role: 'ffn_up', layer: i, info: info(`blk.${i}.ffn_up.weight`, 4096 * 65536) }));
    let err: unknown;
    try {
      checkFits(refs, 1 << 20);
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe('WasmMemoryLimitError');
    expect((err as Error).message).toMatch(/shard/);
    expect((err as { limit: number }).limit).toBe(WASM_MAX_BYTES);
  });
});
