// `auto` calibration with real backends: the WASM CPU slice and a WebGPU slice (Dawn in Node) of the
// Q4_K fixture are timed, the decision agrees with its own estimate, and the CLI's cache file then
// answers without touching either backend. The adapter here is SwiftShader, which auto would skip
// (a fallback adapter); the probe below says "hardware" so the calibration path itself runs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { createWasmBackend, WASM_CPU_PATH } from '../../src/engine/wasm/index.ts';
import { chooseAuto, estimatePath, type SliceMaker } from '../../src/engine/auto/index.ts';
import { fileCalibrationCache } from '../../src/engine/node/calibration-cache.ts';

const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-pad256-q4_k.gguf'));
const file = parseGguf(bytes);
const src = bytesSource(bytes);

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

describe('auto calibration on real backends', () => {
  it('times both paths, decides by the per-token estimate, and caches the measurement', async () => {
    const made: string[] = [];
    const makeCpu: SliceMaker = (to, signal) => { made.push(`cpu ${to}`); return createWasmBackend(file, src, { layers: [0, to], embed: false, head: false, nCtx: 16, signal }); };
    const makeGpu: SliceMaker = (to, signal) => { made.push(`gpu ${to}`); return createGpuBackend(file, src, { runtime: rt, layerRange: [0, to], embedding: false, head: false, nCtx: 16, signal }); };
    const cache = fileCalibrationCache(join(mkdtempSync(join(tmpdir(), 'tabshard-cal-')), 'calibration.json'));
    const o = {
      probe: { webgpu: true, fallbackAdapter: false, adapterName: 'SwiftShader (as if hardware)' },
      adapter: { vendor: 'test', description: 'dawn' }, cpuPath: WASM_CPU_PATH, file, cache, reps: 3, makeCpu, makeGpu,
    };
    const d = await chooseAuto(o);
    console.log(d.reason);
    expect(made).toEqual(['cpu 2', 'gpu 2']);
    const c = d.calibration!;
    expect(c.cached).toBe(false);
    for (const t of [c.cpu, c.gpu]) {
      expect(Number.isFinite(t.oneMs) && t.oneMs > 0).toBe(true);
      expect(Number.isFinite(t.twoMs) && t.twoMs > 0).toBe(true);
    }
    const cpuTok = estimatePath(c.cpu, c.nLayer).tokenMs;
    const gpuTok = estimatePath(c.gpu, c.nLayer).tokenMs;
    expect(d.backend).toBe(cpuTok < gpuTok ? 'cpu' : 'webgpu');
    expect(d.reason).toMatch(/calibration [\d.]+ ms vs (CPU|WebGPU) [\d.]+ ms per layer/);

    const again = await chooseAuto(o);
    expect(made).toHaveLength(2);
    expect(again.calibration?.cached).toBe(true);
    expect(again.backend).toBe(d.backend);
  }, 120_000);
});
