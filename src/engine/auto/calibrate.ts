// Calibration for `auto`: the first layers of the model being loaded, run on each path. The backends
// are made by the caller (a WASM slice and a WebGPU slice of the same file), so this module has no
// idea of workers, stores or devices; it only times `layers` calls and keeps the medians.
import type { Backend } from '../backend.ts';
import type { GgufFile } from '../../formats/gguf-types.ts';
import { configFromGguf } from '../config.ts';
import { layerWeights } from '../weights.ts';
import type { CalibrationKeyParts, PathTiming } from './decide.ts';

/** Makes a backend holding layers [0, to) of the model, without embedding or head. */
export type SliceMaker = (to: number, signal?: AbortSignal) => Promise<Backend>;

export interface TimePathOptions {
  /** Timed calls per layer count after one untimed warm-up (pipelines compile, pages fault in). */
  reps?: number;
  signal?: AbortSignal;
  /** The clock (tests pass a fake one; default performance.now). */
  now?: () => number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A fixed, non-trivial hidden state (the timing does not depend on the values, only on the shape). */
function probeHidden(nEmbd: number): Float32Array {
  const h = new Float32Array(nEmbd);
  for (let i = 0; i < nEmbd; i++) h[i] = Math.sin(i * 0.37) * 0.5;
  return h;
}

/**
 * Times one decode step (one token, position 0) through one layer and through two layers of a slice
 * of the model's first two layers (one layer when the model has only one: then twoMs = 2 × oneMs).
 */
export async function timePath(make: SliceMaker, nLayer: number, o: TimePathOptions = {}): Promise<PathTiming> {
  const reps = o.reps ?? 5;
  const now = o.now ?? (() => performance.now());
  const two = Math.min(2, nLayer);
  const be = await make(two, o.signal);
  try {
    const h = probeHidden(be.config.nEmbd);
    const run = async (to: number): Promise<number> => {
      o.signal?.throwIfAborted();
      be.truncate(0);
      const t0 = now();
      await be.layers(h, 1, 0, 0, to);
      return now() - t0;
    };
    const sample = async (to: number): Promise<number> => {
      await run(to);
      const ts: number[] = [];
      for (let i = 0; i < reps; i++) ts.push(await run(to));
      return median(ts);
    };
    const oneMs = await sample(1);
    const twoMs = two === 2 ? await sample(2) : 2 * oneMs;
    // A clock coarser than the work (browsers round performance.now) can read 0: keep it positive.
    const floor = 1e-3;
    return { oneMs: Math.max(oneMs, floor), twoMs: Math.max(twoMs, floor) };
  } finally {
    be.dispose();
  }
}

/** The model-side parts of the cache key: the first layer's shape and tensor types. */
export function modelKeyParts(file: GgufFile): Pick<CalibrationKeyParts, 'shape' | 'layerTypes' | 'nLayer'> {
  const c = configFromGguf(file);
  return {
    shape: { arch: c.arch, nEmbd: c.nEmbd, nFf: c.nFf, nHead: c.nHead, nHeadKv: c.nHeadKv, headDimK: c.headDimK, headDimV: c.headDimV },
    layerTypes: layerWeights(file, c, 0).map((r) => `${r.role}:${r.info.typeName}`),
    nLayer: c.nLayer,
  };
}
