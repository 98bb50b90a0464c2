// Token sampling with llama.cpp's semantics and order: repetition penalty (positive logits divided,
// negative multiplied, over the last N distinct tokens) → top-k → top-p → min-p → temperature →
// a draw from a seeded PRNG. temperature <= 0 means greedy (argmax after the penalty).
// Top-p and min-p look at the softmax of the penalised logits before temperature, as llama.cpp does.

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off (default). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 = off (default). */
  topP?: number;
  /** Drop tokens with p < minP * p_max; 0 = off (default). */
  minP?: number;
  /** 1 = off (default). */
  repeatPenalty?: number;
  /** Window of recent tokens the penalty looks at (default 64). */
  repeatLastN?: number;
  /** PRNG seed (default 0xdecafbad); the same seed and inputs give the same tokens. */
  seed?: number;
}

export interface Sampler {
  /** Picks the next token from `logits` given the tokens so far (`history`, for the penalty). */
  sample(logits: Float32Array, history?: ArrayLike<number>): number;
}

/** A candidate list: indices and their (penalised, then scaled) logits, sorted on demand. */
interface Candidates { ids: number[]; logit: Float64Array }

/** xoshiro128** seeded through splitmix32: small, fast, and identical in every JS engine. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
    d = rotl(d, 11);
    return r / 4294967296;
  };
}
function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** llama.cpp's repetition penalty, applied in place on a copy of the logits. */
export function applyRepeatPenalty(logits: Float64Array, history: ArrayLike<number>, penalty: number, lastN: number): void {
  if (penalty === 1 || lastN === 0) return;
  const seen = new Set<number>();
  for (let i = Math.max(0, history.length - lastN); i < history.length; i++) seen.add(history[i]!);
  for (const id of seen) {
    if (id < 0 || id >= logits.length) continue;
    const l = logits[id]!;
    logits[id] = l > 0 ? l / penalty : l * penalty;
  }
}

/** Softmax over the candidates (sorted by logit descending), as probabilities. */
function probs(c: Candidates): Float64Array {
  const p = new Float64Array(c.ids.length);
  const max = c.logit[c.ids[0]!]!;
  let sum = 0;
  for (let i = 0; i < c.ids.length; i++) { p[i] = Math.exp(c.logit[c.ids[i]!]! - max); sum += p[i]!; }
  for (let i = 0; i < p.length; i++) p[i] = p[i]! / sum;
  return p;
}

export function topK(c: Candidates, k: number): void {
  if (k > 0 && k < c.ids.length) c.ids.length = k;
}

export function topP(c: Candidates, p: number): void {
  if (p >= 1) return;
  const pr = probs(c);
  let cum = 0;
  for (let i = 0; i < pr.length; i++) {
    cum += pr[i]!;
    if (cum >= p) { c.ids.length = i + 1; return; }
  }
}

export function minP(c: Candidates, m: number): void {
  if (m <= 0) return;
  const pr = probs(c);
  const cut = m * pr[0]!;
  let n = 1;
  while (n < pr.length && pr[n]! >= cut) n++;
  c.ids.length = n;
}

/** The candidates left after penalty and filters, sorted by logit descending (exported for tests). */
export function filterCandidates(logits: Float32Array, history: ArrayLike<number>, o: SamplingOptions): Candidates {
  const logit = Float64Array.from(logits);
  applyRepeatPenalty(logit, history, o.repeatPenalty ?? 1, o.repeatLastN ?? 64);
  const ids = Array.from({ length: logit.length }, (_, i) => i);
  // Stable sort: equal logits keep id order, so results do not depend on the engine's sort.
  ids.sort((a, b) => logit[b]! - logit[a]! || a - b);
  const c = { ids, logit };
  topK(c, o.topK ?? 0);
  topP(c, o.topP ?? 1);
  minP(c, o.minP ?? 0);
  return c;
}

export function createSampler(o: SamplingOptions = {}): Sampler {
  const temperature = o.temperature ?? 0;
  const rand = seededRandom(o.seed ?? 0xdecafbad);
  return {
    sample(logits: Float32Array, history: ArrayLike<number> = []): number {
      if (temperature <= 0) {
        if ((o.repeatPenalty ?? 1) === 1) return argmax(logits);
        const l = Float64Array.from(logits);
        applyRepeatPenalty(l, history, o.repeatPenalty!, o.repeatLastN ?? 64);
        return argmax(l);
      }
      const c = filterCandidates(logits, history, o);
      for (const id of c.ids) c.logit[id] = c.logit[id]! / temperature;
      const p = probs(c);
      const u = rand();
      let cum = 0;
      for (let i = 0; i < p.length; i++) {
        cum += p[i]!;
        if (u < cum) return c.ids[i]!;
      }
      return c.ids[c.ids.length - 1]!;
    },
  };
}
