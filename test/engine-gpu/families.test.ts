// Every model family (synthetic files with the family's real tensors and metadata) on both backends:
// the WebGPU backend (Dawn, SwiftShader) against the CPU backend's float64 sums, token by token,
// and a 3-way layer split of the CPU backend against the whole model. llama.cpp's own tokens for
// the same files are checked in the browser (e2e/families.spec.ts, wllama).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { FAMILIES, syntheticFamilyGguf } from '../../src/engine/synthetic/families.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

const PROMPT = [1, 17, 300, 42, 9, 250, 77, 5, 123, 64];
const STEPS = 12;

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

/** Greedy tokens through `step` (prefill of the prompt, then one token at a time); logits of each step. */
async function greedy(step: (toks: number[], pos: number) => Promise<Float32Array>): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  let l = await step(PROMPT, 0);
  for (let i = 0; i < STEPS; i++) {
    logits.push(l);
    const t = argmax(l);
    tokens.push(t);
    l = await step([t], PROMPT.length + i);
  }
  return { tokens, logits };
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

describe.each(FAMILIES)('family %s', (family) => {
  const bytes = syntheticFamilyGguf(family, { seed: 5 });
  const file = parseGguf(bytes);

  it('WebGPU gives the CPU backend\'s greedy tokens (F32 weights, f32 KV) with logits within 1e-4', async () => {
    const cpu = await createCpuBackend(file, bytesSource(bytes), { kv: { mode: 'f32' }, nCtx: 64 });
    const gpu = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, kv: { mode: 'f32' }, nCtx: 64 });
    try {
      const want = await greedy((t, p) => cpu.forward(t, p));
      const got = await greedy((t, p) => gpu.forward(t, p));
      const worst = Math.max(...got.logits.map((l, i) => maxRel(l, want.logits[i]!)));
      console.log(`${family}: cpu ${want.tokens.join(' ')} | webgpu max rel logit error ${worst.toExponential(2)}`);
      expect(got.tokens).toEqual(want.tokens);
      expect(worst).toBeLessThan(1e-4);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  }, 120_000);

  it('a 3-way layer split of the CPU backend equals the whole model', async () => {
    const n = file.tensors.filter((t) => t.name.endsWith('attn_norm.weight')).length;
    const cuts = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
    const whole = await createCpuBackend(file, bytesSource(bytes), { nCtx: 64 });
    const parts: Backend[] = [];
    for (let i = 0; i < 3; i++) parts.push(await createCpuBackend(file, bytesSource(bytes), { nCtx: 64, layers: [cuts[i]!, cuts[i + 1]!] }));
    const split = async (toks: number[], pos: number): Promise<Float32Array> => {
      let h = await parts[0]!.embed(toks);
      for (let i = 0; i < 3; i++) h = await parts[i]!.layers(h, toks.length, pos, cuts[i]!, cuts[i + 1]!);
      return parts[2]!.head(h, toks.length);
    };
    const want = await greedy((t, p) => whole.forward(t, p));
    const got = await greedy(split);
    expect(got.tokens).toEqual(want.tokens);
    expect(Math.max(...got.logits.map((l, i) => maxRel(l, want.logits[i]!)))).toBe(0);
  }, 120_000);
});
