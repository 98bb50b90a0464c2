// Engine speed side by side in one run: prefill and decode tokens/s per weight type, WebGPU
// (Dawn in Node) and the CPU backend, on the fixture and on synthetic models with real shapes;
// decode as a fraction of the bandwidth limit (copy bandwidth / weight bytes read per token); and
// the JS heap's peak while a model streams from a file into GPU buffers.
//   npm run bench -- engine [--quick] [--shape tinyllama|llama3.2-1b|qwen2.5-0.5b|qwen3-0.6b|gemma2-2b|gemma3-1b|phi3.5-mini]
//                           [--layers N] [--vocab N] [--types q2_k,q4_k] [--no-fuse] [--no-fixtures]
// The synthetic shapes run on WebGPU in three decode graphs side by side: fused with RMSNorm folded
// into the matvecs, fused with RMSNorm as its own dispatch, unfused (dispatches, activation and
// weight bytes per decode token, decode tok/s and each one's ratio over unfused); the adapter's
// default graph (GpuBackendOptions.fuseNorm) runs first. --no-fuse runs the unfused graph only.
//   npm run bench -- engine --browser firefox|chromium [--quick]   the three graphs in the bench
//     page (its `graphs` suite, src/engine/gpu/graph-bench.ts): Firefox on Mesa lavapipe, Chromium
//     on SwiftShader; needs `npm run build` first.
// Family shapes (src/engine/synthetic: that family's tensors and metadata) also run on the CPU backend.
import { rmSync, writeFileSync } from 'node:fs';
import { readGgufHeader } from '../src/formats/gguf-reader.ts';
import { fileRangeSource } from '../src/formats/range-source-node.ts';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { prepareCopy } from '../src/gpu/kernels/copy.ts';
import { timePass } from '../src/gpu/timing.ts';
import { createGpuBackend } from '../src/engine/gpu/index.ts';
import type { GpuWork } from '../src/engine/gpu/gpu-backend.ts';
import { GRAPHS, defaultGraph, speed } from '../src/engine/gpu/graph-bench.ts';
import { benchPage } from './_page.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { ggmlTypeByName } from '../src/quant/ggml-types.ts';
import { SHAPES, bytesPerToken, syntheticGguf } from './_synthetic.ts';
import { REAL_SHAPES, familyShape, syntheticFamilyGguf, type RealShapeName } from '../src/engine/synthetic/families.ts';

const MiB = 2 ** 20;

/** One decode graph (GpuBackendOptions.fuse / fuseNorm). */
type Graph = (typeof GRAPHS)[number];

async function copyBandwidth(rt: GpuRuntime): Promise<number> {
  const n = 64 * MiB;
  const a = rt.pool.acquire(n, 'bench', 'a');
  const b = rt.pool.acquire(n, 'bench', 'b');
  const d = await prepareCopy(rt, a, b, n);
  await timePass(rt, (p) => d.encode(p), 1);
  const t = await timePass(rt, (p) => d.encode(p), 4);
  rt.pool.destroy(a);
  rt.pool.destroy(b);
  return (2 * n) / t.seconds;
}

/**
 * Peak of process.memoryUsage() fields while `fn` runs, above what was live just before (the
 * synthetic file was generated in memory a moment earlier and may not be collected yet).
 */
async function peakDuring<T>(fn: () => Promise<T>): Promise<{ value: T; heapUsed: number; arrayBuffers: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage();
  let heapUsed = 0;
  let arrayBuffers = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heapUsed = Math.max(heapUsed, m.heapUsed);
    arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  try {
    const value = await fn();
    sample();
    return { value, heapUsed: heapUsed - base.heapUsed, arrayBuffers: arrayBuffers - base.arrayBuffers };
  } finally {
    clearInterval(timer);
  }
}

/** Bytes a decode token moves: weights, KV read, activations read and written. */
function bytes(w: GpuWork): number {
  return w.weightBytes + w.kvBytes + w.activationBytes;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The bench page's graphs suite in a headless browser: decode tok/s per graph, each over unfused. */
async function inBrowser(name: string | undefined, quick: boolean) {
  const { browser, version, report } = await benchPage(name, ['graphs'], quick);
  const g = report.graphs;
  if (!g || 'error' in g) throw new Error(`graphs suite failed: ${g ? g.error.message : 'no result'}`);
  console.log(`${browser} ${version}: adapter ${JSON.stringify(report.adapter)}; ${g.model}; empty submit + wait ${(g.submitWaitSeconds * 1e3).toFixed(2)} ms, 4-byte readback ${(g.readbackSeconds * 1e3).toFixed(2)} ms`);
  console.log('type  graph                      dispatches  activation B  decode tok/s  over unfused');
  for (const r of g.rows) {
    console.log(`${r.type.padEnd(5)} ${(r.graph + (r.isDefault ? ' *' : '')).padEnd(26)} ${String(r.dispatches).padStart(10)} ${String(r.activationBytes).padStart(13)} ${r.decodeTps.toFixed(2).padStart(13)} ${r.decodeOverUnfused.toFixed(2).padStart(12)}x`);
  }
  console.log('* the graph the backend picks on this adapter');
  return { browser: name, version, userAgent: report.userAgent, adapter: report.adapter, graphs: g };
}

export async function run(args: string[]) {
  const quick = args.includes('--quick');
  const b = args.indexOf('--browser');
  if (b >= 0) return inBrowser(args[b + 1], quick);
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const copy = await copyBandwidth(rt);
  console.log(`adapter ${rt.report.adapter?.description}; copy ${(copy / 1e9).toFixed(2)} GB/s`);
  const out: Record<string, unknown>[] = [];

  // 1. The fixture, both backends (--no-fixtures: the synthetic shapes only).
  for (const name of args.includes('--no-fixtures') ? [] : quick ? ['q4_k', 'q2_k'] : ['f32', 'q8_0', 'q4_k', 'q3_k', 'q2_k']) {
    const path = `test/fixtures/stories260K-pad256-${name}.gguf`;
    const src = await fileRangeSource(path);
    const file = await readGgufHeader(src);
    for (const kind of ['webgpu', 'cpu'] as const) {
      const be = kind === 'webgpu' ? await createGpuBackend(file, src, { runtime: rt, nCtx: 256 }) : await createCpuBackend(file, src, { nCtx: 256 });
      const s = await speed(be, 16, quick ? 8 : 32);
      be.dispose();
      out.push({ model: `stories260K-${name}`, backend: kind, ...s });
      console.log(`stories260K ${name} ${kind}: prefill ${s.prefillTps.toFixed(1)} tok/s, decode ${s.decodeTps.toFixed(1)} tok/s`);
    }
    await src.close();
  }

  // 2. Synthetic real shapes (fewer layers on a CPU-emulated adapter; say so in the result).
  const shapeName = arg(args, '--shape') ?? 'llama3.2-1b';
  // The backend's default graph first (fused; the norm fold by adapter), then the other norm
  // choice, then unfused: all three side by side in one run.
  const def = defaultGraph(rt);
  const graphs: Graph[] = args.includes('--no-fuse')
    ? GRAPHS.filter((g) => !g.fuse)
    : [...GRAPHS.filter((g) => g.graph === def), ...GRAPHS.filter((g) => g.graph !== def)];
  const real = (REAL_SHAPES as Record<string, (typeof REAL_SHAPES)[RealShapeName] | undefined>)[shapeName];
  const base = real ? familyShape(real.family, { shape: shapeName as RealShapeName }) : SHAPES[shapeName];
  if (!base) throw new Error(`unknown --shape ${shapeName} (${[...Object.keys(SHAPES), ...Object.keys(REAL_SHAPES)].join(', ')})`);
  const layers = Number(arg(args, '--layers') ?? (rt.report.adapter?.isFallbackAdapter ? 2 : base.nLayer));
  const vocab = Number(arg(args, '--vocab') ?? (rt.report.adapter?.isFallbackAdapter ? 32000 : base.nVocab));
  const shape = { ...base, nLayer: layers, nVocab: vocab };
  const write = (type: number): Uint8Array => real
    ? syntheticFamilyGguf(real.family, { shape: shapeName as RealShapeName, nLayer: layers, nVocab: vocab, type })
    : syntheticGguf(shape, type);
  for (const tname of (arg(args, '--types') ?? (quick ? 'q2_k,q4_k' : 'q2_k,q3_k,q4_k,q8_0')).split(',')) {
    const type = ggmlTypeByName(tname)!.id;
    const path = `/tmp/tabshard-synthetic-${shapeName}-${layers}-${tname}.gguf`;
    writeFileSync(path, write(type));
    const src = await fileRangeSource(path);
    const file = await readGgufHeader(src);
    const largest = Math.max(...file.tensors.map((t) => t.byteSize));
    const { value: be, heapUsed, arrayBuffers } = await peakDuring(() => createGpuBackend(file, src, { runtime: rt, nCtx: 256, fuse: graphs[0]!.fuse, fuseNorm: graphs[0]!.fuseNorm }));
    const perToken = bytesPerToken(file);
    const limit = copy / perToken;
    // The first mode on the backend just loaded (its load is what peakDuring measured), the other on its own.
    const modes: { g: Graph; s: { prefillTps: number; decodeTps: number }; work: GpuWork }[] = [];
    for (const g of graphs) {
      const b = modes.length === 0 ? be : await createGpuBackend(file, src, { runtime: rt, nCtx: 256, fuse: g.fuse, fuseNorm: g.fuseNorm });
      const sp = await speed(b, 16, quick ? 4 : 8, true);
      modes.push({ g, s: sp, work: b.lastWork });
      b.dispose();
    }
    const main = modes[0]!;
    const unfused = modes.find((m) => !m.g.fuse);
    const s = main.s;
    const work = main.work;
    const row = {
      model: `${shapeName} (${layers} layers, vocab ${vocab})`,
      type: tname,
      backend: 'webgpu',
      graph: main.g,
      fileBytes: src.size,
      weightBytesPerToken: perToken,
      ...s,
      bandwidthLimitTps: limit,
      fractionOfLimit: s.decodeTps / limit,
      // One decode token's work from the backend's bookkeeping; weight bytes read vs the file's floor.
      decodeWork: { ...work, weightBytesOverFloor: work.weightBytes / perToken },
      // The graphs of this run side by side (same adapter, same file); ratios are each over unfused.
      fusion: unfused && modes.length > 1 ? {
        graphs: modes.map((m) => m.g.graph),
        dispatches: modes.map((m) => m.work.dispatches),
        activationBytes: modes.map((m) => m.work.activationBytes),
        bytesPerToken: modes.map((m) => bytes(m.work)),
        decodeTps: modes.map((m) => m.s.decodeTps),
        decodeRatio: modes.map((m) => m.s.decodeTps / unfused.s.decodeTps),
        prefillRatio: modes.map((m) => m.s.prefillTps / unfused.s.prefillTps),
      } : undefined,
      load: { largestTensorBytes: largest, peakHeapUsed: heapUsed, peakArrayBuffers: arrayBuffers },
    };
    out.push(row);
    console.log(
      `${row.model} ${tname}: prefill ${s.prefillTps.toFixed(2)} tok/s, decode ${s.decodeTps.toFixed(2)} tok/s = ${(100 * row.fractionOfLimit).toFixed(0)}% of the copy-bandwidth limit (${limit.toFixed(2)} tok/s); ` +
        `${work.dispatches} dispatches, ${work.pipelineSwitches} pipeline switches, ${work.uniformWrites} uniform writes, ${work.bindGroups} bind groups per token, weights read ${(work.weightBytes / perToken).toFixed(2)}x the floor; ` +
        `load peak ArrayBuffers +${(arrayBuffers / MiB).toFixed(0)} MiB for a ${(src.size / MiB).toFixed(0)} MiB file (largest tensor ${(largest / MiB).toFixed(0)} MiB)`,
    );
    if (row.fusion) {
      const f = row.fusion;
      const j = (xs: (number | string)[]) => xs.join(' | ');
      const d2 = (xs: number[]) => j(xs.map((x) => x.toFixed(2)));
      console.log(
        `  ${j(f.graphs)}: dispatches/token ${j(f.dispatches)}; activation bytes/token ${j(f.activationBytes)}; ` +
          `bytes/token (weights+KV+activations) ${j(f.bytesPerToken)}; decode ${d2(f.decodeTps)} tok/s, over unfused ${d2(f.decodeRatio)}x (prefill ${d2(f.prefillRatio)}x)`,
      );
    }
    if (real) {
      // The family's graph on the CPU backend too (f32 weights in memory: the reference path).
      const cpu = await createCpuBackend(file, src, { nCtx: 256 });
      const c = await speed(cpu, 16, quick ? 2 : 4);
      cpu.dispose();
      out.push({ model: row.model, type: tname, backend: 'cpu', fileBytes: src.size, ...c });
      console.log(`${row.model} ${tname} cpu: prefill ${c.prefillTps.toFixed(2)} tok/s, decode ${c.decodeTps.toFixed(2)} tok/s`);
    }
    await src.close();
    rmSync(path);
  }
  const result = { adapter: rt.report.adapter, copyBytesPerSecond: copy, runs: out };
  rt.destroy();
  return result;
}
