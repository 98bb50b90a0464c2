// What the bench page runs, in the browser: the kernel suites on this page's GPU runtime (the same
// cores as the Node drivers, src/gpu/bench/), the decode graphs (fused, norm apart, unfused) on a
// synthetic Llama-3.2-1B-shaped model (src/engine/gpu/graph-bench.ts, as `bench -- engine`), and
// the engine in its worker: prefill/decode speed per backend on the demo model, and KV cache
// memory against context length per KV mode.
// Each part records its own failure, so one broken part never hides the others' figures.
import { browserEnvironment, probeCapabilities } from '../gpu/capabilities.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import { runKernelBench, type KernelBenchResult } from '../gpu/bench/kernels.ts';
import { runQuantBench, type QuantBenchResult } from '../gpu/bench/quant.ts';
import { runGraphBench, type GraphBenchResult } from '../engine/gpu/graph-bench.ts';
import type { EngineClient } from '../workers/engine-client.ts';

export type Suite = 'kernels' | 'quant' | 'graphs' | 'engine' | 'kv';
export const SUITES: Suite[] = ['kernels', 'quant', 'graphs', 'engine', 'kv'];

export interface Failure {
  error: { name: string; message: string };
}

export interface EngineRun {
  backend: 'webgpu' | 'cpu';
  ok: boolean;
  backendUsed?: string;
  prefillTps?: number;
  decodeTps?: number;
  tokens?: number;
  text?: string;
  error?: Failure['error'];
}

export interface KvPoint {
  mode: string;
  nCtx: number;
  kvBytes?: number;
  error?: Failure['error'];
}

export interface BenchReport {
  schema: 'tabshard-bench/1';
  date: string;
  userAgent: string;
  quick: boolean;
  webgpu: boolean;
  adapter?: unknown;
  features: string[];
  kernels?: KernelBenchResult | Failure;
  quant?: QuantBenchResult | Failure;
  graphs?: GraphBenchResult | Failure;
  engine?: { model: string; prompt: string; runs: EngineRun[] };
  kv?: { model: string; backend: string; points: KvPoint[] };
}

export interface BenchOptions {
  suites: Suite[];
  quick: boolean;
  engine: EngineClient;
  model: string;
  gateways: string[];
  log: (line: string) => void;
}

export function failure(err: unknown): Failure['error'] {
  const e = err as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) };
}

export function isFailure(v: unknown): v is Failure {
  return typeof v === 'object' && v !== null && 'error' in v;
}

async function gpuSuites(report: BenchReport, o: BenchOptions): Promise<void> {
  const want = o.suites.filter((s): s is 'kernels' | 'quant' | 'graphs' => s === 'kernels' || s === 'quant' || s === 'graphs');
  if (want.length === 0 || !report.webgpu) return;
  let rt: GpuRuntime | undefined;
  try {
    rt = await GpuRuntime.create(browserEnvironment());
    if (want.includes('kernels')) {
      o.log('kernels: copy and f32 matvec…');
      report.kernels = await runKernelBench(rt, { quick: o.quick, log: o.log }).catch((e: unknown) => ({ error: failure(e) }));
    }
    if (want.includes('quant')) {
      o.log('quantized matvec per weight type…');
      const shapes: [number, number][] | undefined = o.quick ? [[1024, 1024]] : undefined;
      report.quant = await runQuantBench(rt, { quick: o.quick, shapes, log: o.log }).catch((e: unknown) => ({ error: failure(e) }));
    }
    if (want.includes('graphs')) {
      o.log('decode graphs on a synthetic Llama-3.2-1B shape (2 layers)…');
      report.graphs = await runGraphBench(rt, {
        shape: 'llama3.2-1b', nLayer: 2, nVocab: o.quick ? 8192 : 32000, types: o.quick ? ['Q4_K'] : ['Q2_K', 'Q4_K', 'Q8_0'],
        prefill: o.quick ? 4 : 16, decode: o.quick ? 3 : 8, log: o.log,
      }).catch((e: unknown) => ({ error: failure(e) }));
    }
  } catch (err) {
    for (const s of want) report[s] = { error: failure(err) };
  } finally {
    rt?.destroy();
  }
}

async function engineSuite(report: BenchReport, o: BenchOptions): Promise<void> {
  const prompt = 'Once upon a time';
  const runs: EngineRun[] = [];
  for (const backend of report.webgpu ? (['webgpu', 'cpu'] as const) : (['cpu'] as const)) {
    o.log(`engine on ${backend}: load and generate…`);
    try {
      const info = await o.engine.load({ spec: o.model, gateways: o.gateways, backend });
      const r = await o.engine.generate({ prompt, maxTokens: 60, sampling: { temperature: 0 } });
      runs.push({ backend, ok: true, backendUsed: info.backend, prefillTps: r.prefillTokensPerSecond, decodeTps: r.decodeTokensPerSecond, tokens: r.tokens.length, text: r.text });
      o.log(`engine ${backend}: prefill ${r.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${r.decodeTokensPerSecond.toFixed(1)} tok/s`);
    } catch (err) {
      runs.push({ backend, ok: false, error: failure(err) });
    }
  }
  report.engine = { model: o.model, prompt, runs };
}

async function kvSuite(report: BenchReport, o: BenchOptions): Promise<void> {
  const backend = report.webgpu ? 'webgpu' : 'cpu';
  const modes = o.quick ? ['f16', 'q4'] : ['f16', 'q8', 'q4', 'q3', 'q2'];
  const contexts = o.quick ? [128, 512] : [64, 128, 256, 512];
  const points: KvPoint[] = [];
  for (const mode of backend === 'webgpu' ? modes : ['f32']) {
    for (const nCtx of contexts) {
      try {
        const info = await o.engine.load({ spec: o.model, gateways: o.gateways, backend, kv: mode, nCtx });
        points.push({ mode, nCtx: info.config.nCtx, kvBytes: info.memory.kv });
      } catch (err) {
        points.push({ mode, nCtx, error: failure(err) });
      }
    }
  }
  o.log(`KV memory: ${points.length} points`);
  report.kv = { model: o.model, backend, points };
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const caps = await probeCapabilities(browserEnvironment());
  const report: BenchReport = {
    schema: 'tabshard-bench/1', date: new Date().toISOString(), userAgent: navigator.userAgent, quick: o.quick,
    webgpu: caps.webgpu, adapter: caps.adapter, features: caps.features,
  };
  await gpuSuites(report, o);
  if (o.suites.includes('engine')) await engineSuite(report, o);
  if (o.suites.includes('kv')) await kvSuite(report, o);
  return report;
}
