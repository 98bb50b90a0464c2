// The fused decode kernels (rmsnorm folded into the matvec, Q/K/V and gate/up in one dispatch,
// SwiGLU/GELU on the way out, the residual add) against the unfused CPU reference on Dawn in Node.
// Fresh seed each run, printed for replay (TABSHARD_SEED=<seed>).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { freshSeed } from '../../src/util/random.ts';
import { runFusedChecks } from '../../src/engine/gpu/fused-checks.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

it('every fused kernel variant matches the unfused CPU reference on fresh random inputs', async () => {
  const seed = freshSeed();
  console.log(`fused kernel checks seed=${seed}`);
  const results = await runFusedChecks(rt, seed);
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) console.error('FAILED', r);
  for (const f of ['NORM', 'XCACHE', 'NORM_WIDE', 'ROUTE', 'GLU', 'GELU', 'ADD']) expect(results.some((r) => r.variant.includes(f))).toBe(true);
  expect(results.some((r) => r.shape.includes('bindings'))).toBe(true);
  expect(failed).toEqual([]);
  // ~45 s alone on SwiftShader; minutes when the machine is shared.
}, 600_000);
