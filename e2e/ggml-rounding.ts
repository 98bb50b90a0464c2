// ggml's activation rounding, replayed on tabshard's TypeScript reference (Node side of the family
// oracle, and scripts/oracle-fit.ts). ggml's CPU matmul over Q8_0 weights first rounds each row of
// activations to q8_0: blocks of 32, d = max|x| / 127 kept as f16, q = round(x / d) (measured on
// wllama 3.8.1: round half away from zero, the same for decode rows, prefill rows and the head).
// Replaying llama.cpp's own greedy tokens through the reference with that rounding gives the
// distance between the two next-token distributions at every step. Written by hand: no library
// reproduces ggml's rounding, and it is a measuring tool, not part of the engine.
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import { createCpuBackend } from '../src/engine/cpu/backend.ts';
import type { MatmulFn } from '../src/engine/graph.ts';
import { roundToF16 } from '../src/quant/f16.ts';

/**
 * How one row of activations is rounded before a quantized matmul: n none (f32), r q8_0 with round
 * half away from zero, t q8_0 truncated (arch/wasm's SIMD quantize_row_q8_0 in some ggml versions),
 * h f16 only, k q8_K-style blocks of 256 with an f32 scale.
 */
export type RowRounding = 'n' | 'r' | 't' | 'h' | 'k';

/** Per situation: decode rows, prefill rows in whole groups of 4 (ggml's repack gemm), the other prefill rows, the head. */
export interface Rounding {
  decode: RowRounding;
  prefill4: RowRounding;
  prefillRest: RowRounding;
  head: RowRounding;
}

export const NO_ROUNDING: Rounding = { decode: 'n', prefill4: 'n', prefillRest: 'n', head: 'n' };
export const GGML_Q8_0: Rounding = { decode: 'r', prefill4: 'r', prefillRest: 'r', head: 'r' };

/** 'rrrr' and the like (decode, prefill4, prefillRest, head). */
export function parseRounding(s: string): Rounding {
  if (!/^[nrthk]{4}$/.test(s)) throw new Error(`rounding variant must be 4 of n r t h k, got ${s}`);
  const [decode, prefill4, prefillRest, head] = s.split('') as RowRounding[];
  return { decode: decode!, prefill4: prefill4!, prefillRest: prefillRest!, head: head! };
}

function roundAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/** Rounds x[off, off + n) into o as `m` says. */
export function roundRow(x: Float32Array, o: Float32Array, off: number, n: number, m: RowRounding): void {
  if (m === 'n' || m === 'h') {
    for (let i = off; i < off + n; i++) o[i] = m === 'h' ? roundToF16(x[i]!) : x[i]!;
    return;
  }
  const qk = m === 'k' ? 256 : 32;
  for (let b = off; b < off + n; b += qk) {
    let amax = 0;
    for (let j = 0; j < qk; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const dq = m === 'k' ? d : roundToF16(d);
    for (let j = 0; j < qk; j++) {
      const v = Math.fround(x[b + j]! * id);
      o[b + j] = (m === 't' ? Math.trunc(v) : roundAway(v)) * dq;
    }
  }
}

export interface ReplayRef {
  /** llama.cpp's greedy tokens per prompt. */
  tokens: number[][];
  /** llama.cpp's top-k ids and probabilities per prompt and step. */
  topK: { id: number; p: number }[][][];
}

export interface ReplayResult {
  /** Steps where our greedy pick is llama.cpp's token, of all steps. */
  agree: number;
  steps: number;
  /** Mean |log p ours - log p llama.cpp| over llama.cpp's top-k ids with p >= 1e-3. */
  meanDistance: number;
  /** The same per prompt and step (for finding where the two part). */
  perStep: number[][];
  /** Steps where our greedy pick is not llama.cpp's, with llama.cpp's top-2 margin (p1 - p2) / p1 there. */
  misses: ReplayMiss[];
}

export interface ReplayMiss {
  prompt: number;
  step: number;
  margin: number;
}

/**
 * Feeds llama.cpp's tokens (BOS + prompt, then its greedy picks) through the reference backend with
 * `rounding` applied before every matmul, and measures the distance to llama.cpp's top-k at each step.
 */
export async function replayWithRounding(bytes: Uint8Array, prompts: readonly number[][], ref: ReplayRef, rounding: Rounding, o: { ggmlArith?: boolean; nCtx?: number } = {}): Promise<ReplayResult> {
  const be = await createCpuBackend(parseGguf(bytes), bytesSource(bytes), { nCtx: o.nCtx ?? 256, kv: { mode: 'f16' } });
  // llama.cpp's roundings in RoPE, attention (its non-flash path) and GELU too (ggml-arith.ts).
  be.ggmlArith = o.ggmlArith;
  const plain: MatmulFn<Float32Array> = be.matmul;
  let inHead = false;
  const rounded: MatmulFn<Float32Array> = (y, x, w, nTok, nIn, nOut) => {
    const o = new Float32Array(x.length);
    const whole = nTok - (nTok % 4);
    for (let t = 0; t < nTok; t++) {
      const m = inHead ? rounding.head : nTok === 1 ? rounding.decode : t < whole ? rounding.prefill4 : rounding.prefillRest;
      roundRow(x, o, t * nIn, nIn, m);
    }
    plain(y, o, w, nTok, nIn, nOut);
  };
  const headOf = be.head.bind(be);
  Object.assign(be, {
    matmul: rounded,
    head: async (h: Float32Array, n: number, all?: boolean) => {
      inHead = true;
      try {
        return await headOf(h, n, all);
      } finally {
        inHead = false;
      }
    },
  });
  let agree = 0;
  let sum = 0;
  let count = 0;
  const perStep: number[][] = [];
  const misses: ReplayMiss[] = [];
  try {
    for (const [pi, p] of prompts.entries()) {
      be.truncate(0);
      let logits = await be.forward([1, ...p], 0);
      let pos = p.length + 1;
      const row: number[] = [];
      for (let s = 0; s < ref.tokens[pi]!.length; s++) {
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
        const mx = logits[best]!;
        let z = 0;
        for (const v of logits) z += Math.exp(v - mx);
        let stepSum = 0;
        let stepN = 0;
        for (const { id, p: pr } of ref.topK[pi]![s]!) {
          if (pr < 1e-3) continue;
          stepSum += Math.abs(logits[id]! - mx - Math.log(z) - Math.log(pr));
          stepN++;
        }
        sum += stepSum;
        count += stepN;
        row.push(stepN ? stepSum / stepN : 0);
        if (best === ref.tokens[pi]![s]) agree++;
        else {
          const [a, b] = ref.topK[pi]![s]!;
          misses.push({ prompt: pi, step: s, margin: a && b ? (a.p - b.p) / a.p : 1 });
        }
        logits = await be.forward([ref.tokens[pi]![s]!], pos++);
      }
      perStep.push(row);
    }
  } finally {
    be.dispose();
  }
  return { agree, steps: perStep.flat().length, meanDistance: count ? sum / count : 0, perStep, misses };
}
