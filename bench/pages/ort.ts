// Side by side in one page, on the same WebGPU adapter and shapes: onnxruntime-web's WebGPU
// MatMulNBits (the quantized matvec users would otherwise reach for) against our Q4_K / Q2_K / Q8_0
// matvec. ORT runs a one-node model built here (A [1, K] f32 → MatMulNBits → Y [1, N]); its
// session.run uploads A and reads Y back, so ours is timed the same way (write x, dispatch, read y),
// and our kernel-only time comes from the shared quant bench. Each side's output is checked once
// per shape against a CPU reference of its own dequantized weights before anything is timed.
// ?shapes=2048x2048,8192x2048&runs=20&threads=1 ; results in window.__ort (read by bench/ort.ts).
import * as ort from 'onnxruntime-web/webgpu';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { GraphBuilder } from '../../src/onnx/graph-builder.ts';
import { addMatMulNBits, Q4_BLOCK, quantizeQ4, type PackedNBits } from '../../src/onnx/linear.ts';
import { DT, encodeModel, valueInfo } from '../../src/onnx/proto.ts';
import { runQuantBench } from '../../src/gpu/bench/quant.ts';
import { browserEnvironment } from '../../src/gpu/capabilities.ts';
import { prepareMatvecQ } from '../../src/gpu/kernels/matmul-q.ts';
import { releaseQuantTensor, uploadQuantTensor } from '../../src/gpu/kernels/quant-tensor.ts';
import { randomTensorBytes } from '../../src/gpu/quant-checks.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { median } from '../../src/gpu/timing.ts';
import { dequantize } from '../../src/quant/dequantize.ts';
import { GgmlType } from '../../src/quant/ggml-types.ts';
import { normals, rng } from '../../src/util/random.ts';

const q = new URLSearchParams(location.search);
const shapes = (q.get('shapes') ?? '2048x2048,8192x2048').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const RUNS = Number(q.get('runs') ?? 20);
const WARMUP = 3;
const OURS: [string, number][] = [['Q4_K', GgmlType.Q4_K], ['Q2_K', GgmlType.Q2_K], ['Q8_0', GgmlType.Q8_0]];
/** |y - ref| <= TOL * sum_k |w_k a_k| per output: f32 accumulation over K terms stays far inside it. */
const TOL = 1e-4;
const out = document.getElementById('out')!;
const log = (s: string) => (out.textContent += `${s}\n`);
const abs = (u: string): string => new URL(u, location.href).href;

ort.env.wasm.wasmPaths = { mjs: abs(ortMjs), wasm: abs(ortWasm) };
// One CPU thread: the WebGPU EP does its work on the GPU; the WASM fallback says so in its label.
ort.env.wasm.numThreads = Number(q.get('threads') ?? 1);

interface Check { maxAbsErr: number; worstRatio: number; ok: boolean }

/** Worst |y - ref| relative to the per-output bound TOL * sum|w a| (ok when <= 1). */
function check(y: Float32Array, ref: Float64Array, mag: Float64Array): Check {
  let maxAbsErr = 0;
  let worstRatio = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(y[i]! - ref[i]!);
    maxAbsErr = Math.max(maxAbsErr, e);
    worstRatio = Math.max(worstRatio, Number.isFinite(e) ? e / (TOL * mag[i]! + 1e-30) : Infinity);
  }
  return { maxAbsErr, worstRatio, ok: worstRatio <= 1 };
}

/** y = W a in f64 with sum|w a| per row, W given row by row. */
function reference(rows: number, cols: number, a: Float32Array, rowOf: (r: number, dst: Float32Array) => void) {
  const ref = new Float64Array(rows);
  const mag = new Float64Array(rows);
  const w = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    rowOf(r, w);
    let s = 0;
    let m = 0;
    for (let c = 0; c < cols; c++) {
      s += w[c]! * a[c]!;
      m += Math.abs(w[c]! * a[c]!);
    }
    ref[r] = s;
    mag[r] = m;
  }
  return { ref, mag };
}

/** ORT's weights: 4-bit from our quantizeQ4 of random normals; 2-bit as random codes (no quantizer of ours emits it). */
function ortWeights(bits: number, N: number, K: number, next: () => number): PackedNBits {
  if (bits === 4) {
    const p = quantizeQ4({ rows: N, cols: K, data: normals(N * K, next), ggmlType: GgmlType.F32 });
    return { N, K, bits, packed: p.packed, scales: p.scales };
  }
  const kBlocks = Math.ceil(K / Q4_BLOCK);
  const packed = new Uint8Array((N * kBlocks * Q4_BLOCK * bits) / 8);
  for (let i = 0; i < packed.length; i++) packed[i] = (next() * 256) | 0;
  return { N, K, bits, packed, scales: normals(N * kBlocks, next, 0.05) };
}

/** MatMulNBits' dequantization: (q - 2^(bits-1)) * scale, codes packed lowest bits first. */
function ortRow(w: PackedNBits, r: number, dst: Float32Array): void {
  const kBlocks = Math.ceil(w.K / Q4_BLOCK);
  const perByte = 8 / w.bits;
  const mask = (1 << w.bits) - 1;
  const zero = 1 << (w.bits - 1);
  const blob = (Q4_BLOCK * w.bits) / 8;
  for (let k = 0; k < w.K; k++) {
    const b = Math.floor(k / Q4_BLOCK);
    const i = k % Q4_BLOCK;
    const byte = w.packed[(r * kBlocks + b) * blob + Math.floor(i / perByte)]!;
    const code = (byte >> ((i % perByte) * w.bits)) & mask;
    dst[k] = (code - zero) * w.scales[r * kBlocks + b]!;
  }
}

function oneNodeModel(w: PackedNBits): Uint8Array {
  const g = new GraphBuilder();
  addMatMulNBits(g, 'A', 'W', w, 'Y');
  return encodeModel({
    nodes: g.nodes, initializers: g.initializers,
    inputs: [valueInfo('A', DT.FLOAT, [1, w.K])], outputs: [valueInfo('Y', DT.FLOAT, [1, w.N])],
    opsets: { '': 17, 'com.microsoft': 1 }, graphName: `matmulnbits_${w.bits}b_${w.N}x${w.K}`,
  });
}

async function timeRuns(once: () => Promise<Float32Array>): Promise<{ seconds: number; all: number[] }> {
  for (let i = 0; i < WARMUP; i++) await once();
  const all: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await once();
    all.push((performance.now() - t) / 1000);
  }
  return { seconds: median(all), all };
}

async function ortOne(ep: 'webgpu' | 'wasm', bits: number, N: number, K: number, a: Float32Array, next: () => number) {
  const w = ortWeights(bits, N, K, next);
  const session = await ort.InferenceSession.create(oneNodeModel(w), {
    executionProviders: [ep],
    // Without this a node the EP refuses would silently run on the CPU EP and be timed as "WebGPU".
    extra: { session: { disable_cpu_ep_fallback: ep === 'webgpu' ? '1' : '0' } },
  });
  try {
    const feeds = { A: new ort.Tensor('float32', a, [1, K]) };
    const once = async () => (await session.run(feeds)).Y!.data as Float32Array;
    const { ref, mag } = reference(N, K, a, (r, dst) => ortRow(w, r, dst));
    const correctness = check(await once(), ref, mag);
    const t = await timeRuns(once);
    return { ep, bits, bitsPerWeight: (8 * (w.packed.byteLength + w.scales.byteLength)) / (N * K), weightBytes: w.packed.byteLength + w.scales.byteLength, correctness, ...t };
  } finally {
    await session.release();
  }
}

async function oursOne(rt: GpuRuntime, name: string, type: number, N: number, K: number, a: Float32Array<ArrayBuffer>, next: () => number) {
  const bytes = randomTensorBytes(type, N, K, next);
  const t = await uploadQuantTensor(rt, type, N, K, (o, l) => bytes.subarray(o, o + l), { category: 'bench' });
  const x = rt.pool.acquire(K * 4, 'bench', 'x');
  const y = rt.pool.acquire(N * 4, 'bench', 'y');
  const staging = rt.device.createBuffer({ size: N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'ort-bench readback' });
  const d = await prepareMatvecQ(rt, t, x, y);
  // What session.run does for one call: A in, one kernel, Y out to a fresh CPU array.
  const once = async () => {
    rt.device.queue.writeBuffer(x, 0, a);
    const enc = rt.device.createCommandEncoder({ label: 'ort-bench round trip' });
    const pass = enc.beginComputePass();
    d.encode(pass);
    pass.end();
    enc.copyBufferToBuffer(y, 0, staging, 0, N * 4);
    rt.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const r = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return r;
  };
  try {
    const wf = dequantize(type, bytes, N * K);
    const { ref, mag } = reference(N, K, a, (r, dst) => dst.set(wf.subarray(r * K, (r + 1) * K)));
    const correctness = check(await once(), ref, mag);
    const tm = await timeRuns(once);
    return { type: name, bitsPerWeight: (8 * bytes.byteLength) / (N * K), weightBytes: bytes.byteLength, correctness, ...tm };
  } finally {
    d.release();
    staging.destroy();
    releaseQuantTensor(rt, t);
    rt.pool.destroy(x);
    rt.pool.destroy(y);
  }
}

const errText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function main() {
  const rt = await GpuRuntime.create(browserEnvironment());
  log(`adapter: ${JSON.stringify(rt.report.adapter)}; crossOriginIsolated=${crossOriginIsolated}; ort ${ort.env.versions.web}`);
  const next = rng(7);
  const results = [];
  let webgpuError: string | undefined;
  for (const [N, K] of shapes) {
    const a = new Float32Array(normals(K, next)); // an ArrayBuffer-backed copy, as writeBuffer wants
    const shape = `${N}x${K}`;
    const peers: Record<string, unknown>[] = [];
    for (const bits of [4, 2]) {
      for (;;) {
        const ep = webgpuError ? 'wasm' : 'webgpu';
        try {
          const r = await ortOne(ep, bits, N, K, a, next);
          peers.push(r);
          log(`${shape} ORT ${ep} ${bits}-bit: ${(r.seconds * 1e3).toFixed(2)} ms/run, check ${r.correctness.ok ? 'ok' : 'FAILED'} (worst ${r.correctness.worstRatio.toExponential(2)} of tolerance)`);
        } catch (e) {
          peers.push({ ep, bits, error: errText(e) });
          log(`${shape} ORT ${ep} ${bits}-bit: ${errText(e)}`);
          // A 4-bit failure on WebGPU means the EP itself did not come up: measure WASM instead.
          if (ep === 'webgpu' && bits === 4) {
            webgpuError = errText(e);
            continue;
          }
        }
        break;
      }
    }
    const ours = [];
    for (const [name, type] of OURS) {
      const r = await oursOne(rt, name, type, N, K, a, next);
      ours.push(r);
      log(`${shape} ours ${name}: ${(r.seconds * 1e3).toFixed(2)} ms/round trip, check ${r.correctness.ok ? 'ok' : 'FAILED'} (worst ${r.correctness.worstRatio.toExponential(2)} of tolerance)`);
    }
    const kernelOnly = await runQuantBench(rt, { types: OURS.map(([n]) => n), shapes: [[N, K]], quick: true });
    const okPeer = (bits: number) => peers.find((p) => p.bits === bits && !('error' in p) && (p.correctness as Check).ok) as { seconds: number; ep: string } | undefined;
    const ratios = ours.map((o) => ({
      type: o.type,
      vsOrt4bit: okPeer(4) ? o.seconds / okPeer(4)!.seconds : null,
      vsOrt2bit: okPeer(2) ? o.seconds / okPeer(2)!.seconds : null,
    }));
    log(`${shape} ours/ORT time: ${ratios.map((r) => `${r.type} ${r.vsOrt4bit?.toFixed(2) ?? '-'}x (4b) ${r.vsOrt2bit?.toFixed(2) ?? '-'}x (2b)`).join(' | ')}`);
    results.push({ shape, rows: N, cols: K, ort: peers, ours, kernelOnly: kernelOnly.matvec, copy: kernelOnly.copy, ratios });
  }
  rt.destroy();
  return {
    adapter: rt.report.adapter, ortVersion: ort.env.versions.web, runs: RUNS, warmup: WARMUP, tolerance: `|y-ref| <= ${TOL} * sum_k |w_k a_k| per output`,
    ortEp: webgpuError ? 'wasm (WebGPU EP failed)' : 'webgpu', webgpuError, ortThreads: ort.env.wasm.numThreads, crossOriginIsolated, results,
  };
}

main().then(
  (r) => {
    (window as unknown as { __ort: unknown }).__ort = r;
    document.getElementById('status')!.textContent = 'done';
  },
  (e: unknown) => {
    (window as unknown as { __ort: unknown }).__ort = { error: errText(e) };
    document.getElementById('status')!.textContent = errText(e);
  },
);
