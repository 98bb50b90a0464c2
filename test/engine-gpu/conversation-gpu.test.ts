// The conversation engine on the WebGPU backend (Dawn in Node): turns 2 and 3 prefill only their
// new tokens, and the logits after prefill equal a from-scratch prefill on the same backend kind.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/tokenizer.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { checkThreeTurns, withTemplate } from '../chat/conversation-checks.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

describe('Conversation (WebGPU)', () => {
  it('turns 2 and 3 prefill only their new tokens, with the logits of a from-scratch prefill', async () => {
    const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-f32.gguf'));
    const file = parseGguf(bytes);
    // f32 KV: the cache read back for later turns holds exactly what a fresh prefill computes.
    const gpu = () => createGpuBackend(file, bytesSource(bytes), { runtime: rt, kv: { mode: 'f32' } });
    const subject = await gpu();
    const fresh = await gpu();
    try {
      const reports = await checkThreeTurns(subject, tokenizerFromGguf(withTemplate(file)), fresh, 1e-4);
      console.log(`tokens per turn (WebGPU): ${JSON.stringify(reports)}`);
      expect(reports).toHaveLength(3);
    } finally {
      subject.dispose();
      fresh.dispose();
    }
    // Two backends and ~15 pipelines (the fused decode kernels among them) compiled on SwiftShader.
  }, 180_000);
});
