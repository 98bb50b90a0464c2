// The GPU runtime on Dawn in Node: capability report, device loss and restart, pool accounting,
// pipeline keys and the shader template step.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { probeCapabilities, requestAdapter } from '../../src/gpu/capabilities.ts';
import { expandShader, pipelineKey } from '../../src/gpu/pipelines.ts';
import { grid } from '../../src/gpu/dispatch.ts';
import { prepareMatvecF32 } from '../../src/gpu/kernels/matvec-f32.ts';
import { packUniforms, uniformStructWgsl } from '../../src/gpu/uniforms.ts';

describe('capabilities', () => {
  it('reports the adapter, the wanted features and raised limits', async () => {
    const r = await probeCapabilities(await nodeGpuEnvironment());
    expect(r.webgpu).toBe(true);
    expect(r.backend).toBe('webgpu');
    expect(r.features).toContain('timestamp-query');
    expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 2 ** 20);
  });

  it('says why WebGPU is unavailable, in words', async () => {
    const insecure = await probeCapabilities({ gpu: undefined, secureContext: false });
    expect(insecure).toMatchObject({ webgpu: false, backend: 'cpu', reason: 'insecure-context' });
    expect(insecure.message).toMatch(/secure context/);
    const absent = await probeCapabilities({ gpu: undefined, secureContext: true });
    expect(absent).toMatchObject({ webgpu: false, reason: 'no-navigator-gpu' });
    expect(absent.message).toMatch(/CPU backend/);
    await expect(requestAdapter({ gpu: undefined, secureContext: true })).rejects.toMatchObject({ name: 'WebGPUUnavailableError' });
  });

  it('tabshard caps prints the SwiftShader adapter as JSON', () => {
    const out = execFileSync('node', ['bin/tabshard.js', 'caps'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const r = JSON.parse(out);
    expect(r.webgpu).toBe(true);
    expect(r.adapter.architecture).toBe('swiftshader');
    expect(r.features).toContain('subgroups');
    expect(r.allLimits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
  });

  it('tabshard caps with no Vulkan driver reports no adapter (real Dawn, driver path pointed nowhere)', () => {
    const r = spawnSync('node', ['bin/tabshard.js', 'caps'], {
      encoding: 'utf8',
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' },
    });
    expect(r.status).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ webgpu: false, backend: 'cpu', reason: 'no-adapter' });
  });
});

describe('runtime', () => {
  it('turns device loss into DeviceLostError and can start again', async () => {
    const env = await nodeGpuEnvironment();
    let seen: Error | undefined;
    const rt = await GpuRuntime.create(env, { onLost: (e) => (seen = e) });
    const buf = rt.pool.acquire(64, 'scratch', 'b');
    rt.device.destroy();
    const err = await rt.lost;
    expect(err.name).toBe('DeviceLostError');
    expect(seen).toBe(err);
    expect(() => rt.check()).toThrow(expect.objectContaining({ name: 'DeviceLostError' }));
    await expect(rt.read(buf)).rejects.toMatchObject({ name: 'DeviceLostError' });
    const again = await GpuRuntime.create(env);
    expect(again.lostError).toBeUndefined();
    const b2 = again.pool.upload(new Float32Array([1, 2, 3]), 'scratch', 'x');
    expect([...new Float32Array(await again.read(b2, 12))]).toEqual([1, 2, 3]);
    again.destroy();
  });

  it('accounts pool bytes by category and reuses released buffers', async () => {
    const rt = await GpuRuntime.create(await nodeGpuEnvironment());
    const a = rt.pool.acquire(1000, 'weights', 'w');
    const b = rt.pool.acquire(40, 'kv', 'k');
    expect(rt.pool.usage()).toMatchObject({ weights: 1008, kv: 48, scratch: 0, pooled: 0 });
    rt.pool.release(a);
    expect(rt.pool.usage()).toMatchObject({ weights: 0, pooled: 1008 });
    const c = rt.pool.acquire(1001, 'scratch', 's');
    expect(c).toBe(a);
    expect(rt.pool.usage()).toMatchObject({ scratch: 1008, pooled: 0 });
    expect(() => rt.pool.acquire(rt.limits.maxBufferSize + 16, 'weights', 'huge')).toThrow(expect.objectContaining({ name: 'GpuLimitError' }));
    rt.pool.release(b);
    rt.destroy();
  });

  it('nudges the queue with empty submits only while a wait of its own is pending (pollNudgeMs)', async () => {
    const env = await nodeGpuEnvironment();
    // Off by default outside Firefox (Dawn resolves waits when the work is done).
    const plain = await GpuRuntime.create(env);
    expect(plain.pollNudgeMs).toBe(0);
    plain.destroy();
    const rt = await GpuRuntime.create(env, { pollNudgeMs: 1 });
    const submit = rt.device.queue.submit.bind(rt.device.queue);
    let empty = 0;
    rt.device.queue.submit = (bufs: Iterable<GPUCommandBuffer>) => {
      const list = [...bufs];
      if (list.length === 0) empty++;
      submit(list);
    };
    // Work that takes SwiftShader well over a millisecond: 4 passes of a 2048x2048 f32 matvec.
    const n = 2048;
    const w = rt.pool.upload(new Float32Array(n * n).fill(0.5), 'scratch', 'w');
    const x = rt.pool.upload(new Float32Array(n).fill(2), 'scratch', 'x');
    const y = rt.pool.acquire(n * 4, 'scratch', 'y');
    const d = await prepareMatvecF32(rt, w, x, y, n, n);
    const enc = rt.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < 4; i++) d.encode(pass);
    pass.end();
    const t0 = performance.now();
    await rt.submit([enc.finish()]);
    const ms = performance.now() - t0;
    const during = empty;
    console.log(`submit waited ${ms.toFixed(1)} ms with ${during} empty submits`);
    if (ms > 5) expect(during).toBeGreaterThan(0);
    // The result is unchanged by the nudges, and they stop once nothing is pending.
    expect(new Float32Array(await rt.read(y, 16))[0]).toBe(n);
    const after = empty;
    await new Promise((r) => setTimeout(r, 30));
    expect(empty).toBe(after);
    d.release();
    rt.destroy();
  });

  it('reports WGSL compile errors as ShaderError with the compiler message', async () => {
    const rt = await GpuRuntime.create(await nodeGpuEnvironment());
    // A real kernel with a flag that injects an `enable` the device lacks (f16 is absent on SwiftShader).
    if (!rt.has('shader-f16')) {
      await expect(rt.pipelines.get({ shader: 'copy', flags: ['SHADER_F16'], uniforms: [['n_vec4', 'u32']] })).rejects.toMatchObject({ name: 'ShaderError' });
    }
    rt.destroy();
  });
});

describe('pipeline keys, templates and uniforms', () => {
  it('one key per variant, independent of override order', () => {
    const a = pipelineKey({ shader: 'matvec_f32', overrides: { WG: 64, R: 2 }, flags: ['SUBGROUPS'] });
    const b = pipelineKey({ shader: 'matvec_f32', overrides: { R: 2, WG: 64 }, flags: ['SUBGROUPS'] });
    expect(a).toBe(b);
    expect(a).toBe('matvec_f32:main[R=2,WG=64]{SUBGROUPS}');
    expect(pipelineKey({ shader: 'copy' })).toBe('copy:main');
  });

  it('another uniform struct is another pipeline (mm_q plain vs a fused entry without flags)', () => {
    const v = { shader: 'mm_q', entry: 'matvec', overrides: { LANES: 4 }, flags: ['F32'] };
    const plain = pipelineKey({ ...v, uniforms: [['rows', 'u32'], ['cols', 'u32']] });
    const fused = pipelineKey({ ...v, uniforms: [['rows', 'u32'], ['cols', 'u32'], ['eps', 'f32']] });
    expect(plain).not.toBe(fused);
    expect(plain).toBe(pipelineKey({ ...v, uniforms: [['rows', 'u32'], ['cols', 'u32']] }));
    expect(plain.startsWith('mm_q:matvec[LANES=4]{F32}~')).toBe(true);
  });

  it('keeps or drops //#if blocks and adds enable directives', () => {
    const src = 'a\n//#if SUBGROUPS\nb\n//#else\nc\n//#endif\nd';
    expect(expandShader(src, ['SUBGROUPS'])).toBe('enable subgroups;\na\nb\nd');
    expect(expandShader(src, [])).toBe('a\nc\nd');
  });

  it('packs uniforms by name and rejects missing or unknown names', () => {
    const layout = [['rows', 'u32'], ['scale', 'f32']] as const;
    const dv = new DataView(packUniforms(layout, { scale: 0.5, rows: 7 }));
    expect(dv.getUint32(0, true)).toBe(7);
    expect(dv.getFloat32(4, true)).toBe(0.5);
    expect(() => packUniforms(layout, { rows: 1 })).toThrow(/scale/);
    expect(() => packUniforms(layout, { rows: 1, scale: 1, cols: 2 })).toThrow(/cols/);
    expect(uniformStructWgsl('Params', layout)).toBe('struct Params {\n  rows: u32,\n  scale: f32,\n}');
  });

  it('spreads large workgroup counts over two dimensions', () => {
    expect(grid(10, 65535)).toEqual([10, 1]);
    const [x, y] = grid(65535 * 3 + 1, 65535);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(65535 * 3 + 1);
  });
});
