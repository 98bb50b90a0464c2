// `tabshard generate --backend webgpu --json` on the demo model (Dawn in Node): the reference
// greedy tokens, and GPU memory by category in the JSON.
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { run as generate } from '../../src/cli/commands/generate.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_tokens: number[] };

/** `generate --json` on the demo model on WebGPU with `extra` flags: its JSON line. */
async function generateJson<T>(extra: string[]): Promise<T> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    expect(await generate(['--model', 'public/models/stories260K.gguf', '--prompt', 'Once upon a time', '--backend', 'webgpu', '--json', ...extra])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines.at(-1)!) as T;
}

describe('generate CLI on WebGPU', () => {
  it('prints the reference greedy tokens and memory by category', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    let code: number;
    try {
      code = await generate(['--model', 'public/models/stories260K.gguf', '--prompt', 'Once upon a time', '--max-tokens', '16', '--backend', 'webgpu', '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const out = JSON.parse(lines.at(-1)!) as { tokens: number[]; backend: string; memory: { weights: number; kv: number; scratch: number } };
    expect(out.backend).toBe('webgpu');
    expect(out.tokens).toEqual(ref.generated_tokens.slice(0, 16));
    // Weights stay F32 in this model: ~1 MiB of weights on the GPU, plus a KV cache and scratch.
    expect(out.memory.weights).toBeGreaterThan(1_000_000);
    expect(out.memory.kv).toBeGreaterThan(0);
    expect(out.memory.scratch).toBeGreaterThan(0);
  });

  it('--kv q2 shrinks the KV cache and reports kvBytes', async () => {
    const run = async (kv: string) => generateJson<{ kv: string; kvBytes: number; memory: { kv: number } }>(['--max-tokens', '2', '--kv', kv]);
    const f16 = await run('f16');
    const q2 = await run('q2');
    expect(q2.kv).toBe('q2');
    expect(q2.kvBytes).toBe(q2.memory.kv);
    // The demo model's rows are 32 wide (4 KV heads x 8), so groups are 32 and the 32-slot f16
    // window is a large share of a 512-token cache: expect well under half, not the 4k figure.
    expect(q2.kvBytes).toBeLessThan(f16.kvBytes * 0.5);
  });

  it('--fusion picks the decode graph: same tokens, the dispatches each graph implies', async () => {
    const run = async (fusion: string) =>
      generateJson<{ tokens: number[]; gpuWork: { dispatches: number }; gpuGraph: { fuse: boolean; fuseNorm: boolean } }>(['--max-tokens', '6', '--fusion', fusion]);
    // The demo model (5 layers, q8 KV): see test/engine-gpu/fusion.test.ts for the per-op count.
    const expected: Record<string, [number, boolean, boolean]> = { all: [37, true, true], 'no-norm': [48, true, false], off: [108, false, false], auto: [48, true, false] };
    for (const [fusion, [dispatches, fuse, fuseNorm]] of Object.entries(expected)) {
      const out = await run(fusion);
      console.log(`--fusion ${fusion}: ${out.gpuWork.dispatches} dispatches per decode token`);
      expect(out.tokens).toEqual(ref.generated_tokens.slice(0, 6));
      expect(out.gpuWork.dispatches).toBe(dispatches);
      // auto on SwiftShader (this adapter) keeps the norm apart.
      expect(out.gpuGraph).toEqual({ fuse, fuseNorm });
    }
    await expect(generate(['--model', 'public/models/stories260K.gguf', '--prompt', 'x', '--backend', 'webgpu', '--fusion', 'some'])).rejects.toThrow(/--fusion must be one of auto, all, no-norm, off/);
  });
});
