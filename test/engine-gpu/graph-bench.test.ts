// The decode-graph benchmark's core (src/engine/gpu/graph-bench.ts, the bench page's `graphs` suite
// and `bench -- engine --browser`) on Dawn in Node: three graphs per type, fewer dispatches and
// activation bytes as more is fused, the adapter's default marked, ratios over unfused consistent.
// No speed is asserted (benchmarks report speed; tests do not).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { GRAPHS, runGraphBench } from '../../src/engine/gpu/graph-bench.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

it('measures the three decode graphs side by side on a real family shape', async () => {
  const lines: string[] = [];
  const r = await runGraphBench(rt, { shape: 'qwen2.5-0.5b', nLayer: 1, nVocab: 1024, types: ['Q4_K'], prefill: 2, decode: 1, log: (l) => lines.push(l) });
  console.log(lines.join('\n'));
  expect(r.model).toBe('qwen2.5-0.5b (1 layers, vocab 1024)');
  expect(r.rows.map((x) => x.graph)).toEqual(GRAPHS.map((g) => g.graph));
  const [fused, apart, unfused] = r.rows;
  expect(fused!.dispatches).toBeLessThan(apart!.dispatches);
  expect(apart!.dispatches).toBeLessThan(unfused!.dispatches);
  expect(fused!.activationBytes).toBeLessThan(apart!.activationBytes);
  expect(apart!.activationBytes).toBeLessThan(unfused!.activationBytes);
  // SwiftShader runs shaders on the CPU: the backend keeps the norm apart there.
  expect(r.rows.filter((x) => x.isDefault).map((x) => x.graph)).toEqual(['fused, norm apart']);
  for (const x of r.rows) {
    expect(x.decodeTps).toBeGreaterThan(0);
    expect(x.decodeOverUnfused).toBeCloseTo(x.decodeTps / unfused!.decodeTps, 10);
  }
  expect(unfused!.decodeOverUnfused).toBe(1);
  await expect(runGraphBench(rt, { shape: 'qwen2.5-0.5b', nLayer: 1, nVocab: 1024, types: ['Q9_X'], prefill: 1, decode: 1 })).rejects.toThrow(/unknown weight type Q9_X/);
}, 180_000);
