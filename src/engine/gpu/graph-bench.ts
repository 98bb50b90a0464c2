// The three WebGPU decode graphs side by side on one adapter, on a synthetic model with a real
// family shape: fused with RMSNorm folded into the matvecs, fused with RMSNorm as its own dispatch,
// unfused (GpuBackendOptions.fuse / fuseNorm). Decode tok/s, each over unfused, with the
// dispatches and activation bytes of a token. Shared by `npm run bench -- engine` (Dawn in Node)
// and the bench page's `graphs` suite (Firefox on lavapipe, Chromium on SwiftShader, a real GPU).
import { parseGguf } from '../../formats/gguf-reader.ts';
import { bytesSource } from '../../formats/range-source.ts';
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { median } from '../../gpu/timing.ts';
import { ggmlTypeByName } from '../../quant/ggml-types.ts';
import { REAL_SHAPES, syntheticFamilyGguf, type RealShapeName } from '../synthetic/families.ts';
import { createGpuBackend } from './index.ts';
import { DECODE_GRAPHS, defaultFuseNorm, type DecodeGraph } from './gpu-backend.ts';
import type { Backend } from '../backend.ts';

export const GRAPHS = DECODE_GRAPHS;
export type GraphName = DecodeGraph['graph'];

/** The graph createGpuBackend picks on this adapter when not told. */
export function defaultGraph(rt: GpuRuntime): GraphName {
  return defaultFuseNorm(rt) ? 'fused' : 'fused, norm apart';
}

export interface GraphRow {
  type: string;
  graph: GraphName;
  isDefault: boolean;
  dispatches: number;
  activationBytes: number;
  prefillTps: number;
  decodeTps: number;
  /** decode tok/s over the unfused graph's, same file, same run. */
  decodeOverUnfused: number;
}

export interface GraphBenchResult {
  model: string;
  rows: GraphRow[];
  /**
   * Median seconds of an empty submit awaited with onSubmittedWorkDone, and of reading 4 bytes back
   * (mapAsync): a decode token waits for one readback at least, so these bound tok/s where the
   * browser resolves them on a timer rather than when the GPU finishes.
   */
  submitWaitSeconds: number;
  readbackSeconds: number;
}

export interface GraphBenchOptions {
  shape: RealShapeName;
  nLayer: number;
  nVocab: number;
  types: readonly string[];
  prefill: number;
  decode: number;
  log?: (line: string) => void;
}

/**
 * Prefill then decode tok/s. `warm`: one untimed decode token first, so the decode pipelines'
 * compilation (the fused ones: several) is not timed as decode.
 */
export async function speed(be: Backend, prefill: number, decode: number, warm = false): Promise<{ prefillTps: number; decodeTps: number }> {
  const V = be.config.nVocab;
  let t = performance.now();
  await be.forward(Array.from({ length: prefill }, (_, i) => (i * 7919) % V), 0);
  const prefillTps = prefill / ((performance.now() - t) / 1000);
  const p0 = prefill + (warm ? 1 : 0);
  if (warm) await be.forward([1], prefill);
  t = performance.now();
  for (let i = 0; i < decode; i++) await be.forward([(i * 31) % V], p0 + i);
  return { prefillTps, decodeTps: decode / ((performance.now() - t) / 1000) };
}

async function roundTrips(rt: GpuRuntime): Promise<{ submitWaitSeconds: number; readbackSeconds: number }> {
  const b = rt.pool.acquire(256, 'scratch', 'graph-bench.probe');
  const sub: number[] = [];
  const rd: number[] = [];
  try {
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      await rt.submit([rt.device.createCommandEncoder().finish()]);
      sub.push((performance.now() - t) / 1000);
      t = performance.now();
      await rt.read(b, 4);
      rd.push((performance.now() - t) / 1000);
    }
  } finally {
    rt.pool.destroy(b);
  }
  return { submitWaitSeconds: median(sub), readbackSeconds: median(rd) };
}

export async function runGraphBench(rt: GpuRuntime, o: GraphBenchOptions): Promise<GraphBenchResult> {
  const trips = await roundTrips(rt);
  o.log?.(`empty submit + wait ${(trips.submitWaitSeconds * 1e3).toFixed(2)} ms, 4-byte readback ${(trips.readbackSeconds * 1e3).toFixed(2)} ms`);
  const real = REAL_SHAPES[o.shape];
  const model = `${o.shape} (${o.nLayer} layers, vocab ${o.nVocab})`;
  const rows: GraphRow[] = [];
  const def = defaultGraph(rt);
  for (const tname of o.types) {
    const type = ggmlTypeByName(tname.toLowerCase());
    if (!type) throw new RangeError(`unknown weight type ${tname}`);
    const bytes = syntheticFamilyGguf(real.family, { shape: o.shape, nLayer: o.nLayer, nVocab: o.nVocab, type: type.id });
    const file = parseGguf(bytes);
    const mine: Omit<GraphRow, 'decodeOverUnfused'>[] = [];
    for (const g of GRAPHS) {
      const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: 256, fuse: g.fuse, fuseNorm: g.fuseNorm });
      try {
        const s = await speed(be, o.prefill, o.decode, true);
        mine.push({ type: tname, graph: g.graph, isDefault: g.graph === def, dispatches: be.lastWork.dispatches, activationBytes: be.lastWork.activationBytes, ...s });
      } finally {
        be.dispose();
      }
    }
    const unfused = mine.find((r) => r.graph === 'unfused')!.decodeTps;
    const done = mine.map((r) => ({ ...r, decodeOverUnfused: r.decodeTps / unfused }));
    rows.push(...done);
    o.log?.(`${model} ${tname}: ` + done.map((r) => `${r.graph}${r.isDefault ? ' (default)' : ''} ${r.decodeTps.toFixed(2)} tok/s = ${r.decodeOverUnfused.toFixed(2)}x, ${r.dispatches} dispatches`).join('; '));
  }
  return { model, rows, ...trips };
}
