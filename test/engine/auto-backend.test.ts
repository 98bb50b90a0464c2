// `auto`: the decision rule over measurements (pure), the timing of a path against a fake clock, the
// cache (hit, miss, a corrupt entry), and the CLI's cache file. Random cases use a fresh seed, printed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { configFromGguf } from '../../src/engine/config.ts';
import {
  calibrationKey, chooseAuto, decideFromCalibration, decideWithoutCalibration, estimatePath, isSoftwareAdapter,
  modelKeyParts, timePath, type CalibrationCache, type SliceMaker,
} from '../../src/engine/auto/index.ts';
import { fileCalibrationCache } from '../../src/engine/node/calibration-cache.ts';
import { freshSeed, rng } from '../../src/util/random.ts';

const file = parseGguf(new Uint8Array(readFileSync('test/fixtures/stories260K-f32.gguf')));
const PATH = 'WASM SIMD128, 1 thread';

describe('auto without calibration', () => {
  it('no WebGPU → CPU, with the probe message', () => {
    const d = decideWithoutCalibration({ webgpu: false, webgpuMessage: 'navigator.gpu is absent', fallbackAdapter: false }, PATH);
    expect(d?.backend).toBe('cpu');
    expect(d?.reason).toContain('no WebGPU here (navigator.gpu is absent)');
    expect(d?.reason).toContain(PATH);
  });

  it('a software adapter → CPU, naming it; a hardware adapter → calibrate', () => {
    const d = decideWithoutCalibration({ webgpu: true, fallbackAdapter: true, adapterName: 'SwiftShader Device' }, PATH);
    expect(d?.backend).toBe('cpu');
    expect(d?.reason).toMatch(/software emulation \(SwiftShader Device\)/);
    expect(decideWithoutCalibration({ webgpu: true, fallbackAdapter: false, adapterName: 'NVIDIA' }, PATH)).toBeUndefined();
  });

  it('software adapters: the flag or a CPU rasterizer name; lavapipe and real GPUs are left to calibration', () => {
    expect(isSoftwareAdapter({ isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', description: 'lavapipe' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ada' })).toBe(false);
    expect(isSoftwareAdapter(undefined)).toBe(false);
  });
});

describe('auto from calibration', () => {
  it('separates a per-call fixed cost from the per-layer cost', () => {
    expect(estimatePath({ oneMs: 4, twoMs: 7 }, 22)).toEqual({ perLayerMs: 3, fixedMs: 1, tokenMs: 1 + 22 * 3 });
    // Two layers timed no slower than one: the difference is noise, so half the two-layer call.
    expect(estimatePath({ oneMs: 5, twoMs: 4 }, 10)).toEqual({ perLayerMs: 2, fixedMs: 0, tokenMs: 20 });
  });

  it('a GPU with a slow round trip but fast layers wins on a deep model, loses on a shallow one', () => {
    // One layer: GPU 5.1 ms (5 ms read-back) vs CPU 2 ms; per layer 0.1 vs 2 ms.
    const cal = (nLayer: number) => ({ cpu: { oneMs: 2, twoMs: 4 }, gpu: { oneMs: 5.1, twoMs: 5.2 }, nLayer, cached: false });
    const deep = decideFromCalibration(cal(22), PATH, 'Radeon');
    expect(deep.backend).toBe('webgpu');
    expect(deep.reason).toMatch(/^auto: WebGPU \(Radeon\) — calibration 0\.10 ms vs CPU 2\.0 ms per layer/);
    expect(deep.reason).toContain('measured now');
    const shallow = decideFromCalibration(cal(2), PATH, 'Radeon');
    expect(shallow.backend).toBe('cpu');
    expect(shallow.reason).toMatch(/^auto: CPU \(WASM SIMD128, 1 thread\) — calibration 2\.0 ms vs WebGPU 0\.10 ms per layer/);
    expect(decideFromCalibration({ ...cal(2), cached: true }, PATH).reason).toMatch(/cached$/);
  });

  it('random timings: the choice is the lower true per-token cost', () => {
    const seed = freshSeed();
    console.log(`auto decision seed ${seed}`);
    const r = rng(seed);
    for (let i = 0; i < 500; i++) {
      const nLayer = 1 + Math.floor(r() * 80);
      const path = () => ({ fixed: r() * 10, per: 0.01 + r() * 5 });
      const c = path();
      const g = path();
      const t = (p: { fixed: number; per: number }) => ({ oneMs: p.fixed + p.per, twoMs: p.fixed + 2 * p.per });
      const d = decideFromCalibration({ cpu: t(c), gpu: t(g), nLayer, cached: false }, PATH);
      const cpuTok = c.fixed + nLayer * c.per;
      const gpuTok = g.fixed + nLayer * g.per;
      if (Math.abs(cpuTok - gpuTok) < 1e-9) continue;
      expect(d.backend, `case ${i} (seed ${seed})`).toBe(cpuTok < gpuTok ? 'cpu' : 'webgpu');
    }
  });
});

/** A backend whose layers call advances a fake clock by fixed + layers × per (and the first call by extra). */
function fakeMaker(clock: { t: number }, fixed: number, per: number, log: string[], firstExtra = 100): SliceMaker {
  return async (to) => {
    log.push(`make ${to}`);
    let calls = 0;
    const be = {
      config: configFromGguf(file),
      layerRange: [0, to] as const,
      async layers(h: Float32Array, nTok: number, pos: number, from: number, upTo: number) {
        expect([nTok, pos, from]).toEqual([1, 0, 0]);
        expect(h.length).toBe(configFromGguf(file).nEmbd);
        clock.t += fixed + (upTo - from) * per + (calls++ === 0 ? firstExtra : 0);
        return h;
      },
      truncate(p: number) { log.push(`truncate ${p}`); },
      dispose() { log.push('dispose'); },
    } as unknown as Backend;
    return be;
  };
}

describe('timePath', () => {
  it('medians of one- and two-layer calls after a warm-up, on a two-layer slice that is disposed', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const t = await timePath(fakeMaker(clock, 1.5, 0.25, log), 5, { reps: 3, now: () => clock.t });
    expect(t.oneMs).toBeCloseTo(1.75, 9);
    expect(t.twoMs).toBeCloseTo(2, 9);
    expect(log[0]).toBe('make 2');
    expect(log.at(-1)).toBe('dispose');
    expect(log.filter((x) => x === 'truncate 0')).toHaveLength(8);
  });

  it('a one-layer model: one slice layer, two layers estimated as twice one', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const t = await timePath(fakeMaker(clock, 1, 3, log), 1, { reps: 3, now: () => clock.t });
    expect(log[0]).toBe('make 1');
    expect(t).toEqual({ oneMs: 4, twoMs: 8 });
  });
});

function memoryCache(): CalibrationCache & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return { map, get: async (k) => map.get(k), put: async (k, v) => void map.set(k, v) };
}

describe('chooseAuto', () => {
  const adapter = { vendor: 'acme', architecture: 'rdna', device: '', description: 'Acme GPU' };
  const probe = { webgpu: true, fallbackAdapter: false, adapterName: 'Acme GPU' };

  it('calibrates once per device and model shape, then answers from the cache', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const cache = memoryCache();
    const o = {
      probe, adapter, cpuPath: PATH, file, cache, reps: 3, now: () => clock.t,
      makeCpu: fakeMaker(clock, 0.2, 1, log), makeGpu: fakeMaker(clock, 4, 0.05, log),
    };
    // stories260K has 5 layers: CPU 0.2 + 5 × 1 = 5.2 ms, GPU 4 + 5 × 0.05 = 4.25 ms per token.
    const first = await chooseAuto(o);
    expect(first.backend).toBe('webgpu');
    expect(first.reason).toContain('calibration 0.05 ms vs CPU 1.0 ms per layer (~4.2 vs 5.2 ms per token over 5 layers)');
    expect(first.calibration?.cached).toBe(false);
    expect(first.reason).toContain('measured now');
    expect(log.filter((x) => x.startsWith('make'))).toEqual(['make 2', 'make 2']);
    expect(cache.map.size).toBe(1);
    const key = calibrationKey({ adapter, cpuPath: PATH, ...modelKeyParts(file) });
    expect(cache.map.has(key)).toBe(true);

    log.length = 0;
    const second = await chooseAuto(o);
    expect(second.calibration?.cached).toBe(true);
    expect(second.reason).toMatch(/cached$/);
    expect(second.backend).toBe(first.backend);
    expect(log).toEqual([]);

    // Another adapter or another CPU path is another key: measured again.
    await chooseAuto({ ...o, cpuPath: 'WASM SIMD128, 2 threads' });
    expect(cache.map.size).toBe(2);
  });

  it('a corrupt cache entry or a failing cache only costs a calibration', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const cache = memoryCache();
    const key = calibrationKey({ adapter, cpuPath: PATH, ...modelKeyParts(file) });
    cache.map.set(key, { cpu: { oneMs: 'x' }, gpu: null, nLayer: 5 });
    const d = await chooseAuto({ probe, adapter, cpuPath: PATH, file, cache, reps: 1, makeCpu: fakeMaker(clock, 0, 1, log), makeGpu: fakeMaker(clock, 0, 1, log) });
    expect(d.calibration?.cached).toBe(false);
    const broken: CalibrationCache = { get: () => Promise.reject(new Error('no db')), put: () => Promise.reject(new Error('no db')) };
    const d2 = await chooseAuto({ probe, adapter, cpuPath: PATH, file, cache: broken, reps: 1, makeCpu: fakeMaker(clock, 0, 1, log), makeGpu: fakeMaker(clock, 0, 1, log) });
    expect(d2.calibration?.cached).toBe(false);
  });

  it('a path that cannot hold the model loses to the other, uncached; both failing throws the CPU error', async () => {
    const clock = { t: 0 };
    const log: string[] = [];
    const cache = memoryCache();
    const noGpu: SliceMaker = () => Promise.reject(Object.assign(new Error('q5_K has no GPU kernel'), { name: 'UnsupportedTensorError' }));
    const d = await chooseAuto({ probe, adapter, cpuPath: PATH, file, cache, reps: 1, now: () => clock.t, makeCpu: fakeMaker(clock, 50, 50, log), makeGpu: noGpu });
    expect(d.backend).toBe('cpu');
    expect(d.reason).toBe(`auto: CPU (${PATH}): the WebGPU path cannot run this model (UnsupportedTensorError: q5_K has no GPU kernel)`);
    expect(cache.map.size).toBe(0);
    expect(log).toContain('dispose');
    const noCpu: SliceMaker = () => Promise.reject(Object.assign(new Error('too big'), { name: 'WasmMemoryLimitError' }));
    const g = await chooseAuto({ probe, adapter, cpuPath: PATH, file, cache, reps: 1, now: () => clock.t, makeCpu: noCpu, makeGpu: fakeMaker(clock, 50, 50, log) });
    expect(g.backend).toBe('webgpu');
    expect(g.reason).toMatch(/^auto: WebGPU \(Acme GPU\): the CPU path cannot run this model \(WasmMemoryLimitError: too big\)$/);
    await expect(chooseAuto({ probe, adapter, cpuPath: PATH, file, cache, makeCpu: noCpu, makeGpu: noGpu })).rejects.toMatchObject({ name: 'WasmMemoryLimitError' });
  });

  it('an abort during calibration propagates', async () => {
    const ac = new AbortController();
    ac.abort(new DOMException('stop', 'AbortError'));
    const clock = { t: 0 };
    await expect(chooseAuto({ probe, adapter, cpuPath: PATH, file, reps: 1, now: () => clock.t, signal: ac.signal, makeCpu: fakeMaker(clock, 1, 1, []), makeGpu: fakeMaker(clock, 1, 1, []) }))
      .rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a software adapter never calibrates', async () => {
    const never: SliceMaker = () => Promise.reject(new Error('must not be called'));
    const d = await chooseAuto({ probe: { ...probe, fallbackAdapter: true }, cpuPath: PATH, file, makeCpu: never, makeGpu: never });
    expect(d.backend).toBe('cpu');
    expect(d.calibration).toBeUndefined();
    expect((await chooseAuto({ probe: { ...probe, fallbackAdapter: true }, cpuPath: PATH, file, makeCpu: never, makeGpu: never, override: 'pick WebGPU' })).reason).toMatch(/; pick WebGPU$/);
    // No adapter at all: nothing to override with.
    expect((await chooseAuto({ probe: { webgpu: false, fallbackAdapter: false }, cpuPath: PATH, file, makeCpu: never, makeGpu: never, override: 'pick WebGPU' })).reason).not.toContain('pick WebGPU');
  });

  it('the key names the model layer shape and types, not the file', () => {
    const p = modelKeyParts(file);
    expect(p.nLayer).toBe(configFromGguf(file).nLayer);
    expect(p.layerTypes.length).toBeGreaterThan(0);
    expect(p.layerTypes.every((t) => /:f32$/i.test(t))).toBe(true);
    const k = calibrationKey({ adapter, cpuPath: PATH, ...p });
    expect(calibrationKey({ adapter, cpuPath: PATH, ...p, layerTypes: p.layerTypes.map((t) => t.replace(/f32$/i, 'q4_K')) })).not.toBe(k);
    expect(calibrationKey({ adapter: { ...adapter, device: 'other' }, cpuPath: PATH, ...p })).not.toBe(k);
  });
});

describe('the CLI cache file', () => {
  it('round-trips entries, keeps others, and treats a corrupt file as empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabshard-cal-'));
    const path = join(dir, 'sub', 'calibration.json');
    const c = fileCalibrationCache(path);
    expect(await c.get('a')).toBeUndefined();
    const v = { cpu: { oneMs: 1, twoMs: 2 }, gpu: { oneMs: 3, twoMs: 3.5 }, nLayer: 4 };
    await c.put('a', v);
    await c.put('b', { ...v, nLayer: 8 });
    expect(await c.get('a')).toMatchObject(v);
    expect(await c.get('b')).toMatchObject({ nLayer: 8 });
    writeFileSync(path, '{not json');
    expect(await c.get('a')).toBeUndefined();
    await c.put('a', v);
    expect(await c.get('a')).toMatchObject(v);
  });
});
