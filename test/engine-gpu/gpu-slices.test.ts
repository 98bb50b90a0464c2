// Layer-range composition on the WebGPU backend (the seam the shard planner uses), tensors split
// across bindings, context overflow, and device loss mid-forward.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';

const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
const file = parseGguf(bytes);
const src = bytesSource(bytes);
const tokens = [1, 403, 407, 261, 378, 14, 87, 301, 42];

// These checks compare the backend with itself at 1e-5; they use the exact f32 KV cache because
// with f16 a batch attends to its own keys in f32 but to earlier ones rounded to f16, so batched
// prefill and token-by-token decode differ by f16 rounding (test/kv covers the other modes).
const KV = { mode: 'f32' } as const;

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('WebGPU backend slices', () => {
  it('embed → layers [0,2) → layers [2,5) → head equals forward, on one backend and on two', async () => {
    const whole = await createGpuBackend(file, src, { runtime: rt, batch: 4, kv: KV });
    const ref = await whole.forward(tokens, 0, true);
    whole.truncate(0);
    let h = await whole.embed(tokens);
    h = await whole.layers(h, tokens.length, 0, 0, 2);
    h = await whole.layers(h, tokens.length, 0, 2, 5);
    const sliced = await whole.head(h, tokens.length, true);
    expect(maxDiff(sliced, ref)).toBeLessThan(1e-5);
    whole.dispose();

    // Two participants, as the shard planner will place them.
    const a = await createGpuBackend(file, src, { runtime: rt, layerRange: [0, 3], kv: KV });
    const b = await createGpuBackend(file, src, { runtime: rt, layerRange: [3, 5], kv: KV });
    expect(a.memory().weights).toBeGreaterThan(0);
    let x = await a.embed(tokens);
    x = await a.layers(x, tokens.length, 0, 0, 3);
    x = await b.layers(x, tokens.length, 0, 3, 5);
    const two = await b.head(x, tokens.length, true);
    expect(maxDiff(two, ref)).toBeLessThan(1e-5);
    await expect(a.layers(x, 1, 0, 3, 4)).rejects.toThrow(/not held/);
    a.dispose();
    b.dispose();
  });

  it('decoding one token at a time equals the batched prefill', async () => {
    const be = await createGpuBackend(file, src, { runtime: rt, batch: 8, kv: KV });
    const all = await be.forward(tokens, 0, true);
    be.truncate(0);
    const V = be.config.nVocab;
    for (let i = 0; i < tokens.length; i++) {
      const one = await be.forward([tokens[i]], i);
      // Decode's matvec and prefill's matmul sum a row in different orders (the f32 matvec applies
      // a part's scale once to its dot product, mm_q.wgsl part_dot; the matmul scales each weight):
      // equal to f32 rounding, not bit for bit.
      expect(maxDiff(one, all.subarray(i * V, (i + 1) * V))).toBeLessThan(5e-5);
    }
    be.dispose();
  });

  it('splits tensors larger than the binding limit and still matches', async () => {
    const whole = await createGpuBackend(file, src, { runtime: rt, kv: KV });
    const ref = await whole.forward(tokens, 0);
    whole.dispose();
    // 20 KiB per binding: token_embd (512 rows of 144 B) and every matrix split into chunks.
    const split = await createGpuBackend(file, src, { runtime: rt, maxBindingBytes: 20 * 1024, kv: KV });
    const got = await split.forward(tokens, 0);
    expect(maxDiff(got, ref)).toBeLessThan(1e-5);
    split.dispose();
  });

  it('refuses positions beyond the context with ContextOverflowError', async () => {
    const be = await createGpuBackend(file, src, { runtime: rt, nCtx: 8, kv: KV });
    await expect(be.forward(tokens, 0)).rejects.toMatchObject({ name: 'ContextOverflowError' });
    be.dispose();
  });

  it('device lost mid-forward: DeviceLostError, and a new runtime works', async () => {
    const env = await nodeGpuEnvironment();
    const doomed = await GpuRuntime.create(env);
    const be = await createGpuBackend(file, src, { runtime: doomed, kv: KV });
    const p = be.forward(tokens, 0);
    doomed.device.destroy();
    await expect(p).rejects.toMatchObject({ name: 'DeviceLostError' });
    await expect(be.forward([1], 0)).rejects.toMatchObject({ name: 'DeviceLostError' });
    const fresh = await GpuRuntime.create(env);
    const again = await createGpuBackend(file, src, { runtime: fresh, kv: KV });
    const logits = await again.forward(tokens, 0);
    expect(logits.every(Number.isFinite)).toBe(true);
    again.dispose();
    fresh.destroy();
  });
});
