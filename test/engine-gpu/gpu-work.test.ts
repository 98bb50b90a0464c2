// The WebGPU backend's own count of one decode token's work (dispatches, pipeline switches, bind
// groups, uniform writes, weight and KV bytes), checked against what the model file implies.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

it('counts a decode token: bind groups kept after the first token, one uniform write, weights read once, KV growing with the position', async () => {
  const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
  const file = parseGguf(bytes);
  const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: 64, kv: { mode: 'f16' } });
  try {
    await be.forward([1, 400, 300, 7], 0);
    const prefill = be.lastWork;
    await be.forward([41], 4);
    const first = be.lastWork;
    await be.forward([42], 4);
    const w4 = be.lastWork;
    await be.forward([43], 5);
    const w5 = be.lastWork;
    console.log(`stories260K q4_k decode token: ${JSON.stringify(w4)}`);
    // Every matrix once, the tied head (token_embd) in full, one embedding row.
    const matrices = file.tensors.filter((t) => !t.name.endsWith('norm.weight'));
    const embd = file.tensors.find((t) => t.name === 'token_embd.weight')!;
    const floor = matrices.reduce((n, t) => n + t.byteSize, 0);
    expect(w4.weightBytes).toBe(floor + embd.byteSize / embd.shape[1]!);
    expect(prefill.weightBytes).toBe(floor + 4 * (embd.byteSize / embd.shape[1]!));
    // The first decode token builds the bind groups prefill had not (its matvecs: prefill ran the
    // matmul pipelines); later tokens only rewrite their uniforms, in one writeBuffer per token.
    expect(prefill.bindGroups).toBeGreaterThan(0);
    expect(first.bindGroups).toBeGreaterThan(0);
    expect(first.bindGroups).toBeLessThan(first.dispatches);
    expect(w4.bindGroups).toBe(0);
    expect(w5.bindGroups).toBe(0);
    expect(w4.uniformWrites).toBe(1);
    expect(w5.uniformWrites).toBe(1);
    expect(w4.pipelineSwitches).toBeGreaterThan(0);
    expect(w4.pipelineSwitches).toBeLessThanOrEqual(w4.dispatches);
    // The same graph at the next position: same dispatches, more KV read.
    expect(w5.dispatches).toBe(w4.dispatches);
    expect(w5.kvBytes).toBeGreaterThan(w4.kvBytes);
  } finally {
    be.dispose();
  }
});
