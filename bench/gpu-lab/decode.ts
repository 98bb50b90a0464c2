// Decode tokens/s of synthetic models with real shapes, per weight type and KV cache mode, through
// the engine's public WebGPU backend, against the limit `copy bandwidth / bytes read per token`
// (weights + KV, from the backend's own bookkeeping). Decoding starts at fixed positions with the
// cache assumed filled (GpuBackend.kvAssumeFilled) so a long context costs no prefill. Big models
// stream into GPU buffers from a StreamedModel; when the time box cannot hold every planned load,
// the model's layers are cut once (before its first load) and the JSON says so.
import { readGgufHeader } from '../../src/formats/gguf-reader.ts';
import { createGpuBackend, type KvMode } from '../../src/engine/gpu/index.ts';
import { DECODE_GRAPHS, type DecodeGraph, type GpuWork } from '../../src/engine/gpu/gpu-backend.ts';
import type { Family, FamilyShape } from '../../src/engine/synthetic/families.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { median } from '../../src/gpu/timing.ts';
import { ggmlTypeByName } from '../../src/quant/ggml-types.ts';
import type { Overheads } from './bandwidth.ts';
import type { Section } from './budget.ts';
import { streamedModel } from './model.ts';

export interface DecodeModel {
  name: string;
  family: Family;
  shape: FamilyShape;
  /** The real model's layer count when `shape` was cut (--layers). */
  realLayers?: number;
}

export interface DecodeOptions {
  models: DecodeModel[];
  types: readonly string[];
  /** KV modes measured beyond the default, on `kvType` weights. */
  kvModes: readonly KvMode[];
  kvModels: readonly string[];
  kvType: string;
  nCtx: number;
  positions: number[];
  tokens: number;
  warmupTokens: number;
  copyBytesPerSecond: number;
  overheads?: Overheads;
  section: Section;
  log: (line: string) => void;
}

export interface DecodePoint {
  pos: number;
  tokPerSecond: number;
  medianTokenSeconds: number;
  meanTokenSeconds: number;
  work: GpuWork;
  bytesPerToken: number;
  limitTokPerSecond: number;
  fractionOfLimit: number;
  /** dispatches x empty-dispatch time + submit wait + logits readback, and its share of a token. */
  overheadSeconds?: number;
  overheadFraction?: number;
  logitsFinite: boolean;
}

export interface DecodeRun {
  model: string;
  realLayers: number;
  layers: number;
  type: string;
  kvMode: string;
  fileBytes: number;
  floorBytesPerToken: number;
  loadSeconds: number;
  points: DecodePoint[];
  /**
   * The first kvType run only: the same model at the first position in each decode graph
   * (GpuBackendOptions.fuse / fuseNorm), to see on this GPU what the norm fold and the other
   * fusions pay. The default graph's figure is points[0].
   */
  graphs?: GraphPoint[];
}

export interface GraphPoint {
  graph: DecodeGraph['graph'];
  isDefault: boolean;
  tokPerSecond: number;
  fractionOfLimit: number;
  dispatches: number;
  activationBytes: number;
}


export interface DecodeResult {
  runs: DecodeRun[];
  skipped: { model: string; type: string; kvMode: string; reason: string }[];
  layerCuts: { model: string; realLayers: number; layers: number; reason: string }[];
  randomTypes: string[];
}

interface Planned {
  model: DecodeModel;
  type: string;
  kv: KvMode | undefined;
}

/** Bytes of one layer and of everything else, from a 1-layer plan (cheap: no weights are made). */
function sizeModel(m: DecodeModel, type: number): { perLayer: number; rest: number } {
  const one = streamedModel(m.family, { ...m.shape, nLayer: 1 }, type);
  const perLayer = one.tensors.filter((t) => t.name.startsWith('blk.0.')).reduce((n, t) => n + t.bytes, 0);
  return { perLayer, rest: one.fileBytes - perLayer };
}

async function decodeAt(be: Awaited<ReturnType<typeof createGpuBackend>>, pos: number, n: number, o: DecodeOptions): Promise<DecodePoint> {
  const V = be.config.nVocab;
  be.kvAssumeFilled(pos);
  const times: number[] = [];
  let logits: Float32Array = new Float32Array(0);
  const w = o.warmupTokens;
  for (let i = 0; i < n + w; i++) {
    const t0 = performance.now();
    logits = await be.forward([(pos * 31 + i * 7919) % V], pos + i);
    if (i >= w) times.push((performance.now() - t0) / 1000);
  }
  const work = { ...be.lastWork };
  const bytesPerToken = work.weightBytes + work.kvBytes;
  const med = median(times);
  const limit = o.copyBytesPerSecond / bytesPerToken;
  const p: DecodePoint = {
    pos, tokPerSecond: 1 / med, medianTokenSeconds: med, meanTokenSeconds: times.reduce((a, b) => a + b, 0) / times.length,
    work, bytesPerToken, limitTokPerSecond: limit, fractionOfLimit: 1 / med / limit, logitsFinite: logits.every(Number.isFinite),
  };
  if (o.overheads) {
    const ov = o.overheads;
    p.overheadSeconds = work.dispatches * ov.emptyDispatchSeconds + ov.submitWaitSeconds + ov.readbackSeconds;
    p.overheadFraction = p.overheadSeconds / med;
  }
  return p;
}

export async function benchDecode(rt: GpuRuntime, o: DecodeOptions): Promise<DecodeResult> {
  const res: DecodeResult = { runs: [], skipped: [], layerCuts: [], randomTypes: [] };
  const plan: Planned[] = [];
  for (const model of o.models) for (const type of o.types) plan.push({ model, type, kv: undefined });
  if (o.types.includes(o.kvType)) {
    for (const model of o.models.filter((m) => o.kvModels.includes(m.name))) for (const kv of o.kvModes) plan.push({ model, type: o.kvType, kv });
  }
  const layers = new Map<string, number>();
  let secondsPerByte: number | undefined;
  for (let i = 0; i < plan.length; i++) {
    const { model, type, kv } = plan[i]!;
    const typeId = ggmlTypeByName(type.toLowerCase())!.id;
    const skip = (reason: string) => res.skipped.push({ model: model.name, type, kvMode: kv ?? 'default', reason });
    if (!layers.has(model.name)) {
      let n = model.shape.nLayer;
      if (secondsPerByte !== undefined) {
        // Cut so that this model's weight-type runs fit in their share of what is left (KV-mode
        // runs come last and take what remains).
        const typeRunsLeft = plan.slice(i).filter((p) => p.kv === undefined).length;
        const mine = plan.slice(i).filter((p) => p.kv === undefined && p.model === model);
        const share = (o.section.left() * 0.8 * mine.length) / Math.max(1, typeRunsLeft);
        // Sized over all of this model's weight-type runs (a Q8_0 file is 2.6x a Q2_K one).
        const sizes = mine.map((p) => sizeModel(model, ggmlTypeByName(p.type.toLowerCase())!.id));
        const rest = sizes.reduce((a, s) => a + s.rest, 0);
        const perLayer = sizes.reduce((a, s) => a + s.perLayer, 0);
        const fit = Math.floor((share / secondsPerByte - rest) / perLayer);
        if (Math.max(1, fit) < n) {
          n = Math.max(1, fit);
          const left = Math.max(0, o.section.left());
          res.layerCuts.push({ model: model.name, realLayers: model.realLayers ?? model.shape.nLayer, layers: n, reason: `time box: ~${(secondsPerByte * 1e9).toFixed(2)} s per GB loaded and decoded, ${left.toFixed(0)} s left in '${o.section.name}'` });
          o.log(`${model.name}: layers cut to ${n} of ${model.shape.nLayer} to fit the time box`);
        }
      }
      layers.set(model.name, n);
    }
    const nLayer = layers.get(model.name)!;
    const t0 = performance.now();
    try {
      const m = streamedModel(model.family, { ...model.shape, nLayer }, typeId);
      // Start only what is expected to end inside the box (from the runs so far: load + decode per byte).
      const expect = secondsPerByte === undefined ? 0 : secondsPerByte * m.fileBytes;
      if (!o.section.allows(expect)) {
        skip(`time box: ${Math.max(0, o.section.left()).toFixed(0)} s left in '${o.section.name}' (budget ${o.section.budgetS.toFixed(0)} s), this run takes ~${expect.toFixed(0)} s`);
        continue;
      }
      for (const r of m.randomTypes) if (!res.randomTypes.includes(r)) res.randomTypes.push(r);
      const file = await readGgufHeader(m.source);
      const be = await createGpuBackend(file, m.source, { runtime: rt, nCtx: o.nCtx, kv: kv ? { mode: kv } : undefined });
      const loadSeconds = (performance.now() - t0) / 1000;
      try {
        const run: DecodeRun = {
          model: model.name, realLayers: model.realLayers ?? model.shape.nLayer, layers: nLayer, type, kvMode: be.kvLayout.mode,
          fileBytes: m.fileBytes, floorBytesPerToken: m.floorBytesPerToken, loadSeconds, points: [],
        };
        for (const pos of o.positions) run.points.push(await decodeAt(be, pos, o.tokens, o));
        res.runs.push(run);
        if (kv === undefined && type === o.kvType && !res.runs.some((r) => r.graphs)) {
          const expect = ((performance.now() - t0) / 1000) * 2;
          if (o.section.allows(expect)) {
            run.graphs = [];
            for (const g of DECODE_GRAPHS) {
              const isDefault = g.fuse === be.fuse && g.fuseNorm === be.fuseNorm;
              const b = isDefault ? be : await createGpuBackend(file, m.source, { runtime: rt, nCtx: o.nCtx, fuse: g.fuse, fuseNorm: g.fuseNorm });
              try {
                const p = isDefault ? run.points[0]! : await decodeAt(b, o.positions[0]!, o.tokens, o);
                run.graphs.push({ graph: g.graph, isDefault, tokPerSecond: p.tokPerSecond, fractionOfLimit: p.fractionOfLimit, dispatches: p.work.dispatches, activationBytes: p.work.activationBytes });
              } finally {
                if (!isDefault) b.dispose();
              }
            }
            o.log(`graphs ${model.name} ${type} pos ${o.positions[0]}: ` + run.graphs.map((g) => `${g.graph}${g.isDefault ? ' (default)' : ''} ${g.tokPerSecond.toFixed(1)} tok/s, ${g.dispatches} dispatches`).join('; '));
          } else {
            skip(`graph comparison: time box (${Math.max(0, o.section.left()).toFixed(0)} s left, ~${expect.toFixed(0)} s needed)`);
          }
        }
        o.log(`decode ${model.name} (${nLayer}/${model.shape.nLayer} layers) ${type} kv ${run.kvMode}: ` + run.points.map((p) =>
          `pos ${p.pos} ${p.tokPerSecond.toFixed(1)} tok/s = ${(100 * p.fractionOfLimit).toFixed(0)}% of ${p.limitTokPerSecond.toFixed(1)} (${p.work.dispatches} dispatches` +
          `${p.overheadFraction !== undefined ? `, overhead ~${(100 * p.overheadFraction).toFixed(0)}% of the token` : ''})`).join('; ') + `; load ${loadSeconds.toFixed(1)} s`);
      } finally {
        be.dispose();
      }
      secondsPerByte = (performance.now() - t0) / 1000 / m.fileBytes;
    } catch (err) {
      skip(`failed: ${(err as Error).name}: ${(err as Error).message}`);
      o.log(`decode ${model.name} ${type} kv ${kv ?? 'default'} failed: ${(err as Error).message}`);
    }
  }
  return res;
}
