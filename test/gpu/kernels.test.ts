// Kernel tests on Dawn in Node (SwiftShader Vulkan here). Fresh seed each run, printed for replay
// (TABSHARD_SEED=<seed> npx vitest run test/gpu).
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

describe('kernels on Dawn (Node)', () => {
  it('every kernel variant matches its CPU reference on fresh random inputs', async () => {
    const seed = freshSeed();
    console.log(`kernel checks seed=${seed}`);
    const results = await runKernelChecks(rt, seed);
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) console.error('FAILED', r);
    for (const r of results.filter((x) => x.skipped)) console.log(`skipped: ${r.kernel} ${r.variant}: ${r.skipped}`);
    expect(results.length).toBeGreaterThan(10);
    expect(failed).toEqual([]);
    // Both reduction variants were compiled and run when the adapter offers subgroups.
    if (rt.has('subgroups')) expect(results.some((r) => r.variant.includes('SUBGROUPS'))).toBe(true);
    // The f16 variants ran where the device has shader-f16 (a real GPU), and say why not elsewhere.
    const f16Ran = results.some((r) => r.variant.includes('SHADER_F16') && !r.skipped);
    expect(f16Ran).toBe(rt.report.enabled.shaderF16);
    if (!f16Ran) expect(results.some((r) => r.skipped?.includes('shader-f16'))).toBe(true);
    // ~40 s alone on SwiftShader; beside other Dawn test files on 2 cores it passed 60 s.
  }, 180_000);
});
