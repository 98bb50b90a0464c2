// Quality of a KV mode against a baseline run: teacher-forced decode (one token per forward, the
// decode path that reads the compressed cache), then per position KL(baseline ‖ mode) of the
// next-token distributions and whether their argmaxes agree.
import type { Backend } from '../backend.ts';

/**
 * Logits [n][nVocab] for positions 0..n-1: the first `prefill` tokens in one batch (the prefill
 * path), then one token per forward (the decode path).
 */
export async function decodeLogits(be: Backend, tokens: readonly number[], prefill = 0, signal?: AbortSignal): Promise<Float32Array> {
  const V = be.config.nVocab;
  const out = new Float32Array(tokens.length * V);
  be.truncate(0);
  if (prefill > 0) out.set(await be.forward(tokens.slice(0, prefill), 0, true));
  for (let i = prefill; i < tokens.length; i++) {
    signal?.throwIfAborted();
    out.set(await be.forward([tokens[i]!], i), i * V);
  }
  return out;
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - max);
  const lse = max + Math.log(s);
  return Float64Array.from(row, (x) => x - lse);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export interface KvQuality {
  klMean: number;
  klMax: number;
  top1: number;
  positions: number;
}

export function compareLogits(base: Float32Array, other: Float32Array, nVocab: number): KvQuality {
  const n = base.length / nVocab;
  let sum = 0;
  let max = 0;
  let agree = 0;
  for (let p = 0; p < n; p++) {
    const a = base.subarray(p * nVocab, (p + 1) * nVocab);
    const b = other.subarray(p * nVocab, (p + 1) * nVocab);
    const la = logSoftmax(a);
    const lb = logSoftmax(b);
    let kl = 0;
    for (let i = 0; i < nVocab; i++) kl += Math.exp(la[i]!) * (la[i]! - lb[i]!);
    sum += kl;
    max = Math.max(max, kl);
    if (argmax(a) === argmax(b)) agree++;
  }
  return { klMean: sum / n, klMax: max, top1: agree / n, positions: n };
}
