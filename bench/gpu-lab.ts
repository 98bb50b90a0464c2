// The GPU lab: one call on a GPU machine measures what decode speed on WebGPU is made of, each
// figure as a ratio to a yardstick from the same run: copy bandwidth; every quantized matvec on
// real shapes as a fraction of it; decode tok/s of synthetic Llama-3.2-1B and Llama-3-8B per weight
// type and KV mode against `copy bandwidth / bytes per token`; dispatches and dispatch overhead per
// token. Time-boxed to finish inside 8 minutes on an H200; writes one JSON file.
//   npm run bench -- gpu-lab [--size small|full]             (JSON under bench/results)
//   node bench/gpu-lab.ts [--size small|full] [--out FILE] [--budget-s N]
//   npm run gpu-lab -- pack                                  (the bundle for the GPU machine)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { bufferCopy, copyKernel, overheads, readKernel, type Overheads, type Rate } from './gpu-lab/bandwidth.ts';
import { Budget } from './gpu-lab/budget.ts';
import { benchDecode, type DecodeResult } from './gpu-lab/decode.ts';
import { benchMatvecs, MATVEC_TYPES, type MatvecResult } from './gpu-lab/matvec.ts';
import { labPlan, type LabSize } from './gpu-lab/sizes.ts';
import { adapterLines, diagnostics, summaryLines } from './gpu-lab/report.ts';
import { TemplateBank } from './gpu-lab/tensor-bytes.ts';

export const USAGE = `usage: node bench.mjs [--size small|full] [--out FILE] [--budget-s SECONDS] [--layers N] [--copy-mib N]
  --size      full (default): real model shapes, for a GPU machine (about 8 minutes on an H200);
              small: tiny shapes, the same code, about a minute on SwiftShader
  --out       where the JSON goes (default ./gpu-lab-<size>.json)
  --budget-s  overall time box in seconds (default 440 full, 240 small); sections stop starting
              new items when their share is spent and name what they skipped
  --layers    cut every decode model to N layers (default: the real count, cut only by the time box)
  --copy-mib  yardstick buffer size in MiB (default 1024 full, 16 small; capped by the binding limit)`;

export interface LabResult {
  tool: 'tabshard gpu-lab';
  version: 1;
  size: LabSize;
  date: string;
  node: string;
  adapter?: unknown;
  bandwidth?: { copyKernel: Rate; bufferCopy: Rate; readKernel: Rate; bufferCopyVsKernel: number; readVsCopy: number };
  matvec?: MatvecResult;
  overhead?: Overheads;
  decode?: DecodeResult;
  errors: { section: string; name: string; message: string }[];
  notes: string[];
  budget?: ReturnType<Budget['report']>;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The whole lab. `save` gets the result after every section (main rewrites the JSON each time, so
 * a run cut short still leaves what it measured).
 */
export async function run(args: string[], log: (line: string) => void = (l) => console.log(l), save: (r: LabResult) => void = () => {}): Promise<LabResult> {
  const size = (arg(args, '--size') ?? 'full') as LabSize;
  if (size !== 'small' && size !== 'full') throw new Error(`--size must be small or full, not ${size}`);
  const plan = labPlan(size);
  const layers = arg(args, '--layers');
  if (layers) plan.models = plan.models.map((m) => ({ ...m, realLayers: m.shape.nLayer, shape: { ...m.shape, nLayer: Math.min(m.shape.nLayer, Number(layers)) } }));
  const mib = arg(args, '--copy-mib');
  if (mib) plan.copyBytes = Number(mib) * 2 ** 20;
  const budget = new Budget(Number(arg(args, '--budget-s') ?? plan.totalS));
  const out: LabResult = { tool: 'tabshard gpu-lab', version: 1, size, date: new Date().toISOString(), node: process.version, errors: [], notes: [] };
  if (layers) out.notes.push(`decode models cut to ${layers} layers by --layers`);
  const fail = (section: string, err: unknown) => {
    const e = err as Error;
    out.errors.push({ section, name: e?.name ?? 'Error', message: e?.message ?? String(err) });
    log(`${section} failed: ${e?.name}: ${e?.message}`);
  };
  let rt: GpuRuntime;
  try {
    rt = await GpuRuntime.create(await nodeGpuEnvironment());
  } catch (err) {
    fail('adapter', err);
    out.notes.push(...diagnostics());
    for (const l of out.notes) log(l);
    return out;
  }
  try {
    out.adapter = { ...rt.report, deviceLimits: limitsOf(rt.limits) };
    for (const l of adapterLines(rt)) log(l);
    const bank = new TemplateBank(1);
    const copyBytes = Math.floor(Math.min(plan.copyBytes, rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize) / 16) * 16;
    if (copyBytes < plan.copyBytes) out.notes.push(`yardstick buffers cut to ${copyBytes} bytes by the device's binding limit`);

    const bw = budget.section('bandwidth', plan.sectionS.bandwidth).begin();
    try {
      const copy = await copyKernel(rt, copyBytes, plan.copyIterations);
      const bcopy = await bufferCopy(rt, copyBytes, plan.copyIterations);
      const read = await readKernel(rt, copyBytes, plan.copyIterations);
      out.bandwidth = { copyKernel: copy, bufferCopy: bcopy, readKernel: read, bufferCopyVsKernel: bcopy.bytesPerSecond / copy.bytesPerSecond, readVsCopy: read.bytesPerSecond / copy.bytesPerSecond };
      log(`copy kernel ${gb(copy.bytesPerSecond)} GB/s (read+written, ${copy.method}); copyBufferToBuffer ${gb(bcopy.bytesPerSecond)} GB/s (${out.bandwidth.bufferCopyVsKernel.toFixed(2)}x); read-only kernel ${gb(read.bytesPerSecond)} GB/s read (${out.bandwidth.readVsCopy.toFixed(2)}x)`);
    } catch (err) {
      fail('bandwidth', err);
    }
    bw.finish();
    save(out);
    const copyBw = out.bandwidth?.copyKernel.bytesPerSecond;
    if (!copyBw) {
      out.notes.push('no copy bandwidth: matvec and decode fractions were not measured');
      return out;
    }

    const mv = budget.section('matvec', plan.sectionS.matvec).begin();
    try {
      out.matvec = await benchMatvecs(rt, {
        shapes: plan.matvecShapes, types: MATVEC_TYPES, copyBytesPerSecond: copyBw, rotateBytes: plan.rotateBytes,
        iterations: plan.matvecIterations, bank, section: mv, log, lanesSweep: plan.lanesSweep,
      });
    } catch (err) {
      fail('matvec', err);
    }
    mv.finish();
    save(out);

    const ov = budget.section('overhead', plan.sectionS.overhead).begin();
    try {
      const vocab = Math.max(...plan.models.map((m) => m.shape.nVocab));
      out.overhead = await overheads(rt, plan.overheadDispatches, vocab * 4);
      const o = out.overhead;
      log(`empty dispatch ${(o.emptyDispatchSeconds * 1e6).toFixed(2)} us (${o.dispatchMethod}); submit+wait ${(o.submitWaitSeconds * 1e3).toFixed(3)} ms; logits readback (${o.readbackBytes} B) ${(o.readbackSeconds * 1e3).toFixed(3)} ms`);
    } catch (err) {
      fail('overhead', err);
    }
    ov.finish();
    save(out);

    // Decode takes whatever the earlier sections left of the overall box, up to its own share.
    const dec = budget.section('decode', Math.min(plan.sectionS.decode, budget.totalS - budget.elapsed())).begin();
    try {
      out.decode = await benchDecode(rt, {
        models: plan.models, types: plan.decodeTypes, kvModes: plan.kvModes, kvModels: plan.kvModels, kvType: plan.kvType, nCtx: plan.nCtx,
        positions: plan.positions, tokens: plan.decodeTokens, warmupTokens: plan.warmupTokens, copyBytesPerSecond: copyBw, overheads: out.overhead, section: dec, log,
      });
    } catch (err) {
      fail('decode', err);
    }
    dec.finish();
    save(out);
    if (bank.randomTypes.size || out.decode?.randomTypes.length) {
      out.notes.push(`random blocks (no quantizer) for: ${[...new Set([...bank.randomTypes, ...(out.decode?.randomTypes ?? [])])].join(', ')}`);
    }
    return out;
  } finally {
    out.budget = budget.report();
    for (const l of summaryLines(out)) log(l);
    rt.destroy();
  }
}

const gb = (x: number) => (x / 1e9).toFixed(1);

/** Every limit the device reports (Dawn's limits are getters on the prototype). */
function limitsOf(l: GPUSupportedLimits): Record<string, number> {
  const o: Record<string, number> = {};
  for (let p: object | null = l; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      const v = (l as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') o[k] = v;
    }
  }
  return o;
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const size = arg(args, '--size') ?? 'full';
  const file = arg(args, '--out') ?? `gpu-lab-${size}.json`;
  mkdirSync(dirname(file), { recursive: true });
  const write = (r: LabResult) => writeFileSync(file, JSON.stringify(r, null, 2));
  const result = await run(args, undefined, write);
  write(result);
  console.log(`wrote ${file}`);
  if (result.errors.length) process.exitCode = 1;
}

// Run when executed directly (node bench/gpu-lab.ts, or the bundled bench.mjs), not when
// bench/run.ts imports it as a suite.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
