// Perplexity and KL divergence the way llama.cpp's perplexity tool scores text: the tokens are cut
// into chunks of `ctx`, each chunk starts with BOS (replacing its first token) and runs from an
// empty cache, and only the second half of each chunk is scored (positions ctx/2 .. ctx-2 predict
// the next token), so every scored token has at least ctx/2 tokens of context.
import type { Backend } from './backend.ts';
import { EngineArgumentError } from './errors.ts';

export interface ChunkOptions {
  ctx: number;
  /** Token that replaces each chunk's first token (the model's BOS), or undefined to keep it. */
  bos?: number;
  /** Tokens per forward() call within a chunk (default: the whole chunk). */
  batch?: number;
  signal?: AbortSignal;
  onChunk?: (done: number, total: number) => void;
}

/** Mean ± standard error of the mean. */
export interface Estimate { mean: number; stderr: number }

function estimate(sum: number, sum2: number, n: number): Estimate {
  const mean = sum / n;
  const variance = Math.max(0, sum2 / n - mean * mean);
  return { mean, stderr: n > 1 ? Math.sqrt(variance / (n - 1)) : 0 };
}

function logSoftmaxAt(logits: Float32Array, off: number, n: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[off + i]!);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(logits[off + i]! - max);
  const lse = max + Math.log(s);
  for (let i = 0; i < n; i++) out[i] = logits[off + i]! - lse;
}

function chunks(tokens: readonly number[], o: ChunkOptions): number[][] {
  if (o.ctx < 4) throw new EngineArgumentError(`ctx ${o.ctx} is too small`);
  const n = Math.floor(tokens.length / o.ctx);
  if (n === 0) throw new EngineArgumentError(`the text has ${tokens.length} tokens, fewer than one chunk of ${o.ctx}`);
  return Array.from({ length: n }, (_, i) => {
    const c = tokens.slice(i * o.ctx, (i + 1) * o.ctx);
    if (o.bos !== undefined) c[0] = o.bos;
    return c;
  });
}

async function chunkLogits(be: Backend, chunk: number[], o: ChunkOptions): Promise<Float32Array> {
  const V = be.config.nVocab;
  const out = new Float32Array(chunk.length * V);
  const batch = o.batch ?? chunk.length;
  be.truncate(0);
  for (let i = 0; i < chunk.length; i += batch) {
    o.signal?.throwIfAborted();
    out.set(await be.forward(chunk.slice(i, i + batch), i, true), i * V);
  }
  return out;
}

export interface PerplexityResult {
  ppl: number;
  /** Standard error of ppl (ppl × stderr of the mean NLL, as llama.cpp prints). */
  pplStderr: number;
  nll: Estimate;
  scoredTokens: number;
  chunks: number;
  ctx: number;
}

export async function perplexity(be: Backend, tokens: readonly number[], o: ChunkOptions): Promise<PerplexityResult> {
  const V = be.config.nVocab;
  const cs = chunks(tokens, o);
  const first = Math.floor(o.ctx / 2);
  const lp = new Float64Array(V);
  let sum = 0, sum2 = 0, n = 0;
  for (let c = 0; c < cs.length; c++) {
    const chunk = cs[c]!;
    const logits = await chunkLogits(be, chunk, o);
    for (let j = first; j < o.ctx - 1; j++) {
      logSoftmaxAt(logits, j * V, V, lp);
      const nll = -lp[chunk[j + 1]!]!;
      sum += nll; sum2 += nll * nll; n++;
    }
    o.onChunk?.(c + 1, cs.length);
  }
  const nll = estimate(sum, sum2, n);
  const ppl = Math.exp(nll.mean);
  return { ppl, pplStderr: ppl * nll.stderr, nll, scoredTokens: n, chunks: cs.length, ctx: o.ctx };
}

export interface KldResult {
  /** KL(P_ref || P_model) in nats per scored token. */
  kl: Estimate;
  klMax: number;
  /** Fraction of scored positions where both argmaxes agree ("same top p"). */
  top1: number;
  pplRef: number;
  ppl: number;
  scoredTokens: number;
  chunks: number;
}

export async function kld(ref: Backend, model: Backend, tokens: readonly number[], o: ChunkOptions): Promise<KldResult> {
  const V = ref.config.nVocab;
  if (model.config.nVocab !== V) throw new EngineArgumentError(`vocabularies differ: ${V} vs ${model.config.nVocab}`);
  const cs = chunks(tokens, o);
  const first = Math.floor(o.ctx / 2);
  const lpR = new Float64Array(V);
  const lpM = new Float64Array(V);
  let sum = 0, sum2 = 0, max = 0, same = 0, n = 0, nllR = 0, nllM = 0;
  for (let c = 0; c < cs.length; c++) {
    const chunk = cs[c]!;
    const a = await chunkLogits(ref, chunk, o);
    const b = await chunkLogits(model, chunk, o);
    for (let j = first; j < o.ctx - 1; j++) {
      logSoftmaxAt(a, j * V, V, lpR);
      logSoftmaxAt(b, j * V, V, lpM);
      let kl = 0, amR = 0, amM = 0;
      for (let i = 0; i < V; i++) {
        kl += Math.exp(lpR[i]!) * (lpR[i]! - lpM[i]!);
        if (lpR[i]! > lpR[amR]!) amR = i;
        if (lpM[i]! > lpM[amM]!) amM = i;
      }
      sum += kl; sum2 += kl * kl; max = Math.max(max, kl); n++;
      if (amR === amM) same++;
      nllR -= lpR[chunk[j + 1]!]!;
      nllM -= lpM[chunk[j + 1]!]!;
    }
    o.onChunk?.(c + 1, cs.length);
  }
  return {
    kl: estimate(sum, sum2, n), klMax: max, top1: same / n,
    pplRef: Math.exp(nllR / n), ppl: Math.exp(nllM / n), scoredTokens: n, chunks: cs.length,
  };
}
