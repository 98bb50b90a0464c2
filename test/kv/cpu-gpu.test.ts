// The CPU backend's compressed KV cache against the WebGPU backend's (Dawn in Node) on the same
// model, tokens and KV options: the same scheme (rotation, groups, window, append rule), so their
// logits agree far more closely than either agrees with another mode. A short run with an 8-slot
// window (prefill 8, then 16 single-token forwards, most of which read quantized rows) keeps
// SwiftShader's ~0.5 s per forward affordable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import type { KvOptions } from '../../src/engine/kv/layout.ts';
import { compareLogits, decodeLogits } from '../../src/engine/kv/quality.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { modelFile, ref } from '../engine/helpers.ts';

const NAME = 'stories260K-f32';
const { file, bytes } = modelFile(NAME);
const tokens = ref(NAME).sequence.slice(0, 24);

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

describe('CPU and WebGPU backends keep the same compressed KV cache', () => {
  // Measured (64 tokens, default window): CPU vs GPU KL mean 2e-10 (q2) and 3e-9 (q4), top-1 100%;
  // q2 vs f16 is KL 0.6. The bound allows the GPU's f32 sums and one-code rounding ties.
  for (const kv of [{ mode: 'q2', window: 8 }, { mode: 'q3', group: 8, window: 8 }] as KvOptions[]) {
    it(`${JSON.stringify(kv)}: KL(cpu ‖ gpu) mean ≤ 1e-6, same argmax everywhere`, async () => {
      const gpu = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, kv });
      let g: Float32Array;
      try {
        g = await decodeLogits(gpu, tokens, 8);
      } finally {
        gpu.dispose();
      }
      const cpu = await createCpuBackend(file, bytesSource(bytes), { kv });
      const c = await decodeLogits(cpu, tokens, 8);
      const exact = await decodeLogits(await createCpuBackend(file, bytesSource(bytes), { kv: { mode: 'f32' } }), tokens, 8);
      const q = compareLogits(c, g, 512);
      const vsExact = compareLogits(exact, c, 512);
      console.log(`kv ${JSON.stringify(kv)}: cpu vs gpu KL mean ${q.klMean.toExponential(2)} max ${q.klMax.toExponential(2)}, top-1 ${(100 * q.top1).toFixed(1)}%; `
        + `cpu vs exact KL mean ${vsExact.klMean.toExponential(2)}`);
      expect(q.klMean).toBeLessThanOrEqual(1e-6);
      expect(q.top1).toBe(1);
      // The comparison has teeth: the compressed cache is far from the exact one.
      expect(vsExact.klMean).toBeGreaterThan(1000 * Math.max(q.klMean, 1e-9));
    }, 120_000);
  }
});
