// The f16 (`shader-f16`) variants of the quantized matvec/matmul through Tint, Chromium's and Dawn's
// WGSL compiler. No Vulkan driver here offers shader-f16 to Dawn (SwiftShader lacks it; Dawn refuses
// lavapipe), so this uses Dawn's null backend, which offers every feature and runs Tint's full WGSL
// validation but executes nothing: a compile check only. The f16 kernels' numbers are checked where
// they can run: Firefox on lavapipe (e2e/kernels.spec.ts), and any real GPU (test/gpu/kernels.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, globals } from 'webgpu';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { GPU_BLOCK_TYPES } from '../../src/gpu/kernels/quant-tensor.ts';
import { quantVariant } from '../../src/gpu/kernels/matmul-q.ts';
import { expandShader, pipelineKey } from '../../src/gpu/pipelines.ts';
import { shaderSource } from '../../src/gpu/shaders.node.ts';

// Held for the whole file: the runtime does not keep the GPU object, and Dawn's instance dies
// (taking the process with it) if the GPU object is garbage-collected while devices still exist.
let gpu: GPU;
let rt: GpuRuntime;
beforeAll(async () => {
  Object.assign(globalThis, globals);
  gpu = create(['backend=null']) as unknown as GPU;
  rt = await GpuRuntime.create({ gpu, secureContext: true });
});
afterAll(() => rt?.destroy());

describe('f16 quantized kernels on Tint (Dawn null backend: compile only)', () => {
  it('the null adapter offers shader-f16, so every quantized type but F32 takes the f16 variant', () => {
    expect(rt.report.enabled.shaderF16).toBe(true);
    for (const type of Object.keys(GPU_BLOCK_TYPES).map(Number)) {
      const flags = quantVariant(rt, type, 'matvec').flags ?? [];
      expect(flags.includes('SHADER_F16')).toBe(type !== 0);
      expect(quantVariant(rt, type, 'matvec', { f16: false }).flags).not.toContain('SHADER_F16');
      expect(quantVariant(rt, type, 'get_rows').flags).not.toContain('SHADER_F16');
    }
  });

  it('every type × matvec/matmul × subgroups on/off compiles with `enable f16;`', async () => {
    const built: string[] = [];
    for (const type of Object.keys(GPU_BLOCK_TYPES).map(Number).filter((t) => t !== 0)) {
      for (const entry of ['matvec', 'matmul'] as const) {
        for (const subgroups of [false, true]) {
          const v = quantVariant(rt, type, entry, { subgroups });
          const code = expandShader(shaderSource(v.shader), v.flags ?? [], v.uniforms);
          expect(code).toMatch(/^enable f16;$/m);
          expect(code).toContain('fn dequant_part_h');
          // The cache throws ShaderError with Tint's messages on any WGSL error.
          await rt.pipelines.get(v);
          built.push(pipelineKey(v));
        }
      }
    }
    console.log(`compiled on Tint: ${built.join(' ')}`);
    expect(built.length).toBe(6 * 2 * 2);
  });

  it('Tint does validate here: f16 code without `enable f16;`, or mixing f16 and f32, is rejected', async () => {
    const v = quantVariant(rt, 10, 'matvec');
    const code = expandShader(shaderSource('mm_q'), v.flags ?? [], v.uniforms);
    for (const broken of [code.replace('enable f16;', ''), code.replace('- vec4<f16>(ml)', '- vec4<f32>(ml)')]) {
      expect(broken).not.toBe(code);
      const info = await rt.device.createShaderModule({ code: broken }).getCompilationInfo();
      expect(info.messages.filter((m) => m.type === 'error').length).toBeGreaterThan(0);
    }
  });

  it('asking for an f16 variant on a device without shader-f16 is a typed error', async () => {
    const plain = await GpuRuntime.create({ gpu, secureContext: true }, { disableFeatures: ['shader-f16'] });
    try {
      expect(plain.report.enabled.shaderF16).toBe(false);
      expect(quantVariant(plain, 10, 'matvec').flags).not.toContain('SHADER_F16');
      const forced = { ...quantVariant(plain, 10, 'matvec'), flags: ['Q2_K', 'SHADER_F16'] };
      await expect(plain.pipelines.get(forced)).rejects.toMatchObject({ name: 'ShaderError', message: /needs the 'shader-f16' feature/ });
    } finally {
      plain.destroy();
    }
  });
});
