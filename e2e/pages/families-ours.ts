// tabshard's engine on the same bytes: greedy continuations of the same prompts (BOS + ids) on the
// CPU backend, the WebGPU backend, and three CPU backends chained layer range by layer range
// (embed/layers/head, as shard participants run). End-of-generation ids are skipped, as llama.cpp's
// ignore_eos does.
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import type { GgufFile } from '../../src/formats/gguf-types.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { configFromGguf } from '../../src/engine/config.ts';
import { createCpuBackend } from '../../src/engine/cpu/backend.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import type { KvMode } from '../../src/engine/kv/layout.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { browserEnvironment } from '../../src/gpu/capabilities.ts';

export type OurBackend = 'cpu' | 'webgpu' | 'cpu-split3';

export interface OurRunSpec {
  backend: OurBackend;
  kv: KvMode;
}

export interface OurRun {
  tokens: number[][];
  seconds: number;
}

const BOS = 1;

/** Logits of the last position for tokens at `pos`, whatever the backend arrangement. */
type Step = (tokens: number[], pos: number) => Promise<Float32Array>;

function argmaxSkipping(logits: Float32Array, skip: ReadonlySet<number>): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++) if (!skip.has(i) && (best < 0 || logits[i]! > logits[best]!)) best = i;
  return best;
}

async function greedy(step: Step, reset: () => void, prompts: readonly number[][], steps: number, eog: ReadonlySet<number>): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of prompts) {
    reset();
    const toks: number[] = [];
    let logits = await step([BOS, ...p], 0);
    let pos = p.length + 1;
    for (let s = 0; s < steps; s++) {
      const t = argmaxSkipping(logits, eog);
      toks.push(t);
      if (s + 1 < steps) logits = await step([t], pos++);
    }
    out.push(toks);
  }
  return out;
}

/** Three CPU participants holding [0,a), [a,b), [b,n): the hidden state crosses between them. */
async function splitStep(file: GgufFile, bytes: Uint8Array, nCtx: number, kv: KvMode): Promise<{ step: Step; parts: Backend[] }> {
  const n = configFromGguf(file).nLayer;
  const a = Math.max(1, Math.floor(n / 3));
  const b = Math.max(a + 1, Math.floor((2 * n) / 3));
  const ranges: [number, number][] = [[0, a], [a, b], [b, n]];
  const parts = await Promise.all(ranges.map((r) => createCpuBackend(file, bytesSource(bytes), { layers: r, nCtx, kv: { mode: kv } })));
  const step: Step = async (tokens, pos) => {
    let h = await parts[0]!.embed(tokens);
    for (const [i, [from, to]] of ranges.entries()) h = await parts[i]!.layers(h, tokens.length, pos, from, to);
    return parts[2]!.head(h, tokens.length);
  };
  return { step, parts };
}

export async function runOurs(bytes: Uint8Array, spec: OurRunSpec, prompts: readonly number[][], steps: number, nCtx: number, eog: readonly number[]): Promise<OurRun> {
  const t0 = performance.now();
  const file = parseGguf(bytes);
  const skip = new Set(eog);
  const kv = { mode: spec.kv };
  let parts: Backend[] = [];
  let runtime: GpuRuntime | undefined;
  try {
    let step: Step;
    if (spec.backend === 'cpu-split3') {
      const s = await splitStep(file, bytes, nCtx, spec.kv);
      parts = s.parts;
      step = s.step;
    } else {
      let be: Backend;
      if (spec.backend === 'cpu') be = await createCpuBackend(file, bytesSource(bytes), { nCtx, kv });
      else {
        runtime = await GpuRuntime.create(browserEnvironment());
        be = await createGpuBackend(file, bytesSource(bytes), { runtime, nCtx, kv });
      }
      parts = [be];
      step = (tokens, pos) => be.forward(tokens, pos);
    }
    const tokens = await greedy(step, () => parts.forEach((p) => p.truncate(0)), prompts, steps, skip);
    return { tokens, seconds: (performance.now() - t0) / 1e3 };
  } finally {
    for (const p of parts) p.dispose();
    runtime?.destroy();
  }
}
