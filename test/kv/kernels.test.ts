// The KV kernels on Dawn (SwiftShader) against the CPU reference of the scheme, fresh seed each
// run (TABSHARD_SEED=<seed> to replay). The same checks run in browsers via the kernel page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { runKernelChecks } from '../../src/gpu/kernel-checks.ts';
import { freshSeed } from '../../src/util/random.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

describe('KV cache kernels', () => {
  it('append, attention and rotation match the CPU reference', async () => {
    const seed = freshSeed();
    console.log(`kv kernel checks seed=${seed}`);
    const results = await runKernelChecks(rt, seed, ['kv']);
    for (const r of results) if (!r.ok) console.error('FAILED', r);
    expect(results.length).toBe(27);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  }, 120_000);
});
