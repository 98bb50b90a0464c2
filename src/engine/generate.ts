// The generate loop: batched prefill, one-token decode, sampling, stop strings, abort, timing.
//
// Policies (documented choices):
// - Abort: when `signal` aborts, the loop stops at the next token boundary and resolves with what it
//   has and `stoppedBy: 'abort'` (no throw), so a UI keeps the partial answer.
// - Context: prompt + maxTokens > nCtx throws ContextOverflowError before any compute, unless
//   `context: 'clamp'`, which lowers maxTokens to what fits (a prompt alone that does not fit
//   always throws).
// - Stop strings: text is held back while it could still be the start of a stop string; when one
//   appears, the text before it is emitted and nothing after. Tokens keep every sampled token
//   (including those spelling the stop string); EOS/EOG tokens are not included.
// - KV reuse: `cachedTokens` (what the backend's cache holds now, e.g. the previous turn's prompt +
//   answer) lets the loop keep the common prefix and prefill only the rest; default: start at 0.
import type { Backend } from './backend.ts';
import { ContextOverflowError, EngineArgumentError } from './errors.ts';
import { createSampler, type SamplingOptions } from './sampler.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

export interface GenerateOptions {
  /** Text prompt (encoded with BOS per the model, control tokens parsed). */
  prompt?: string;
  /** Or the prompt as token ids (used as is). */
  tokens?: readonly number[];
  /** Default 128. */
  maxTokens?: number;
  sampling?: SamplingOptions;
  stop?: readonly string[];
  signal?: AbortSignal;
  onToken?: (event: TokenEvent) => void;
  /** Tokens per forward() call during prefill (default 64). */
  prefillBatch?: number;
  /** 'error' (default) or 'clamp'; see the header. */
  context?: 'error' | 'clamp';
  /** Tokens the backend's KV cache currently holds (for prefix reuse). */
  cachedTokens?: readonly number[];
  /** Stop on end-of-generation tokens (default true). */
  stopAtEog?: boolean;
}

export interface TokenEvent {
  token: number;
  /** Text this token released (may be '' while UTF-8 or a possible stop string is held back). */
  text: string;
}

export type StopReason = 'eos' | 'stop' | 'max' | 'abort';

export interface GenerateResult {
  /** Generated tokens (not the prompt, not EOS). */
  tokens: number[];
  text: string;
  promptTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  stoppedBy: StopReason;
  /** Tokens whose keys/values the backend's cache now holds (pass as cachedTokens next time). */
  context: number[];
  /** Prompt tokens kept from `cachedTokens` (not prefilled again); the rest were prefilled. */
  reusedTokens: number;
}

const now = (): number => (globalThis.performance ?? Date).now();

/** Text held back until it cannot begin any stop string. */
class StopFilter {
  private held = '';
  stopped = false;
  private readonly stops: readonly string[];
  constructor(stops: readonly string[]) { this.stops = stops.filter((s) => s.length > 0); }

  /** Appends text; returns what may be emitted now. */
  push(text: string): string {
    if (this.stopped) return '';
    this.held += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.held.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.held.slice(0, cut);
      this.held = '';
      return out;
    }
    // Keep the longest suffix that is a prefix of some stop string.
    let keep = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.held.length); n > keep; n--) {
        if (this.held.endsWith(s.slice(0, n))) { keep = n; break; }
      }
    }
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  flush(): string {
    const out = this.stopped ? '' : this.held;
    this.held = '';
    return out;
  }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * Streams token events; the generator's return value is the final result. The backend must hold the
 * whole model (forward()). The loop never runs two backend calls at once.
 */
export async function* generateStream(backend: Backend, tokenizer: Tokenizer, o: GenerateOptions): AsyncGenerator<TokenEvent, GenerateResult> {
  const prompt = o.tokens ? [...o.tokens] : o.prompt !== undefined ? tokenizer.encode(o.prompt, { parseSpecial: true }) : undefined;
  if (!prompt || prompt.length === 0) throw new EngineArgumentError('generate needs a non-empty prompt or tokens');
  const nCtx = backend.config.nCtx;
  let maxTokens = o.maxTokens ?? 128;
  if (prompt.length > nCtx) throw new ContextOverflowError(prompt.length, nCtx, 'the prompt');
  if (prompt.length + maxTokens > nCtx) {
    if (o.context === 'clamp') maxTokens = nCtx - prompt.length;
    else throw new ContextOverflowError(prompt.length + maxTokens, nCtx, `prompt (${prompt.length}) + maxTokens (${maxTokens})`);
  }
  const batch = Math.max(1, o.prefillBatch ?? 64);
  const sampler = createSampler(o.sampling);
  const stopAtEog = o.stopAtEog ?? true;
  const filter = new StopFilter(o.stop ?? []);
  const decoder = tokenizer.decoder();
  const context = [...prompt];
  const generated: number[] = [];
  let text = '';
  const aborted = (): boolean => o.signal?.aborted ?? false;
  const finish = (stoppedBy: StopReason, prefillRate: number, decodeRate: number): GenerateResult => {
    if (stoppedBy !== 'stop') text += filter.push(decoder.flush()) + filter.flush();
    return {
      tokens: generated, text, promptTokens: prompt.length, prefillTokensPerSecond: prefillRate,
      decodeTokensPerSecond: decodeRate, stoppedBy, context: context.slice(0, fed), reusedTokens: keep,
    };
  };

  // Prefill: keep what the cache already holds (but always recompute at least the last prompt token).
  const keep = Math.min(commonPrefix(o.cachedTokens ?? [], prompt), prompt.length - 1);
  backend.truncate(keep);
  let fed = keep;
  const t0 = now();
  let logits: Float32Array | undefined;
  for (let i = keep; i < prompt.length; i += batch) {
    if (aborted()) return finish('abort', 0, 0);
    logits = await backend.forward(prompt.slice(i, i + batch), i, false);
    fed = Math.min(prompt.length, i + batch);
  }
  const prefillMs = now() - t0;
  const prefillRate = prefillMs > 0 ? ((prompt.length - keep) * 1000) / prefillMs : 0;

  let decodeMs = 0;
  let decoded = 0;
  const rate = (): number => (decodeMs > 0 ? (decoded * 1000) / decodeMs : 0);
  for (;;) {
    if (aborted()) return finish('abort', prefillRate, rate());
    if (generated.length >= maxTokens) return finish('max', prefillRate, rate());
    const token = sampler.sample(logits!, context);
    if (stopAtEog && tokenizer.isEog(token)) return finish('eos', prefillRate, rate());
    generated.push(token);
    context.push(token);
    const piece = filter.push(decoder.push(token));
    text += piece;
    const event = { token, text: piece };
    o.onToken?.(event);
    yield event;
    if (filter.stopped) return finish('stop', prefillRate, rate());
    // The last token's logits are only needed if another token may follow.
    if (generated.length >= maxTokens) return finish('max', prefillRate, rate());
    if (aborted()) return finish('abort', prefillRate, rate());
    const t = now();
    logits = await backend.forward([token], context.length - 1, false);
    fed = context.length;
    decodeMs += now() - t;
    decoded++;
  }
}

/** Runs generateStream to the end (events go to onToken) and returns the result. */
export async function generate(backend: Backend, tokenizer: Tokenizer, o: GenerateOptions): Promise<GenerateResult> {
  const it = generateStream(backend, tokenizer, o);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
