// How well `auto`'s calibration predicts, side by side in one run (Node: the WASM CPU backend and
// WebGPU on Dawn): for each model, the calibration (one and two layers on each path, engine/auto)
// gives a per-token estimate per path; then the whole model decodes on each path and the measured
// ms per token is compared with it. The figures that matter are ratios: measured/estimated per path
// (1.0 = the model is exact) and CPU/WebGPU measured vs estimated (whether the choice was right).
//   npm run bench -- auto [--layers N] [--types q4_k,q2_k] [--decode N] [--reps N] [--no-tinyllama]
// Models: the stories260K demo (F32, 5 layers) and TinyLlama-shaped synthetic files (bench/_synthetic.ts)
// cut to --layers (default 2, Q4_K only: WebGPU here is SwiftShader, CPU-emulated, ~7 s per
// TinyLlama layer per token; on a machine with a GPU pass --layers 22 --types q4_k,q2_k).
// Only layers are calibrated: the embedding and the head (a 32000-row matvec for TinyLlama) are in
// the measured token but not in the estimate, so measured/estimated > 1 is expected on big vocabularies.
import { readFileSync } from 'node:fs';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import type { GgufFile } from '../src/formats/gguf-types.ts';
import type { RangeSource } from '../src/formats/range-source.ts';
import type { Backend } from '../src/engine/backend.ts';
import { chooseAuto, estimatePath, type CalibrationCache } from '../src/engine/auto/index.ts';
import { createGpuBackend } from '../src/engine/gpu/index.ts';
import { createWasmBackend, WASM_CPU_PATH } from '../src/engine/wasm/index.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { ggmlTypeByName } from '../src/quant/ggml-types.ts';
import { SHAPES, syntheticGguf } from './_synthetic.ts';

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Median ms per decoded token over `n` single-token forwards after a short prefill. */
async function decodeMs(be: Backend, n: number): Promise<number> {
  await be.forward([1, 300, 301, 302], 0);
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await be.forward([300 + ((i * 31) % 200)], 4 + i);
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1]!;
}

const noCache: CalibrationCache = { get: async () => undefined, put: async () => undefined };

async function measure(name: string, file: GgufFile, src: RangeSource, rt: GpuRuntime, decode: number, reps: number) {
  const d = await chooseAuto({
    probe: { webgpu: true, fallbackAdapter: false, adapterName: 'Dawn (SwiftShader, timed as if hardware)' },
    cpuPath: WASM_CPU_PATH, file, cache: noCache, reps,
    makeCpu: (to) => createWasmBackend(file, src, { layers: [0, to], embed: false, head: false, nCtx: 16 }),
    makeGpu: (to) => createGpuBackend(file, src, { runtime: rt, layerRange: [0, to], embedding: false, head: false, nCtx: 16 }),
  });
  const c = d.calibration!;
  const est = { cpu: estimatePath(c.cpu, c.nLayer), gpu: estimatePath(c.gpu, c.nLayer) };
  const cpuBe = await createWasmBackend(file, src, { nCtx: 64 });
  const cpuMs = await decodeMs(cpuBe, decode);
  cpuBe.dispose();
  const gpuBe = await createGpuBackend(file, src, { runtime: rt, nCtx: 64 });
  const gpuMs = await decodeMs(gpuBe, decode);
  gpuBe.dispose();
  // Layers only in the estimate; the measured token also has the embedding and the head.
  const row = {
    model: name, nLayer: c.nLayer, chose: d.backend, right: (cpuMs < gpuMs ? 'cpu' : 'webgpu') === d.backend,
    cpu: { perLayerMs: est.cpu.perLayerMs, fixedMs: est.cpu.fixedMs, estimatedTokenMs: est.cpu.tokenMs, measuredTokenMs: cpuMs, measuredOverEstimated: cpuMs / est.cpu.tokenMs },
    gpu: { perLayerMs: est.gpu.perLayerMs, fixedMs: est.gpu.fixedMs, estimatedTokenMs: est.gpu.tokenMs, measuredTokenMs: gpuMs, measuredOverEstimated: gpuMs / est.gpu.tokenMs },
    cpuOverGpu: { estimated: est.cpu.tokenMs / est.gpu.tokenMs, measured: cpuMs / gpuMs },
  };
  const f = (x: number) => x.toFixed(2);
  console.log(`${name} (${c.nLayer} layers): auto chose ${d.backend} (${row.right ? 'right' : 'WRONG'} by the measured decode)\n`
    + `  CPU    estimate ${f(est.cpu.tokenMs)} ms/token (fixed ${f(est.cpu.fixedMs)} + ${f(est.cpu.perLayerMs)}/layer), measured ${f(cpuMs)}: measured/estimated ${f(row.cpu.measuredOverEstimated)}\n`
    + `  WebGPU estimate ${f(est.gpu.tokenMs)} ms/token (fixed ${f(est.gpu.fixedMs)} + ${f(est.gpu.perLayerMs)}/layer), measured ${f(gpuMs)}: measured/estimated ${f(row.gpu.measuredOverEstimated)}\n`
    + `  CPU/WebGPU per token: estimated ${f(row.cpuOverGpu.estimated)}, measured ${f(row.cpuOverGpu.measured)}`);
  return row;
}

export async function run(args: string[]): Promise<unknown> {
  const layers = Number(arg(args, '--layers') ?? 2);
  const types = (arg(args, '--types') ?? 'q4_k').split(',');
  const decode = Number(arg(args, '--decode') ?? 4);
  const reps = Number(arg(args, '--reps') ?? 3);
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const rows: unknown[] = [];
  try {
    const demo = new Uint8Array(readFileSync('public/models/stories260K.gguf'));
    rows.push(await measure('stories260K (F32)', parseGguf(demo), bytesSource(demo), rt, decode, reps));
    if (!args.includes('--no-tinyllama')) {
      for (const t of types) {
        const bytes = syntheticGguf({ ...SHAPES.tinyllama!, nLayer: layers }, ggmlTypeByName(t)!.id);
        rows.push(await measure(`tinyllama-${layers}L ${t}`, parseGguf(bytes), bytesSource(bytes), rt, decode, reps));
      }
    }
  } finally {
    rt.destroy();
  }
  return { cpuPath: WASM_CPU_PATH, gpu: 'Dawn in Node (SwiftShader here)', decode, reps, layers, rows };
}
