// `tabshard generate --backend webgpu --json` on the demo model (Dawn in Node): the reference
// greedy tokens, and GPU memory by category in the JSON.
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { run as generate } from '../../src/cli/commands/generate.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_tokens: number[] };

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
});
