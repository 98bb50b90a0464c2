// llama.cpp (wllama, WASM, CPU threads) as the oracle: greedy continuations with llama.cpp's own
// top-2 next-token probabilities at every step. wllama 3 runs llama-server's completion handler,
// which takes prompts as text only (an id array is refused), so prompts are spelled with filler
// pieces that llama.cpp's SentencePiece tokenizer maps back to exactly those ids (plus BOS); the
// prompt-token count it reports is checked. `logprobs: 2` gives the softmax of the raw logits
// (before sampling) as ids. After a failed call the worker's heap is unusable: one model per load.
import { Wllama } from '@wllama/wllama/esm/index.js';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';

export interface OracleRun {
  /** Greedy tokens per prompt. */
  tokens: number[][];
  /** Per prompt, per step: llama.cpp's top-2 probabilities [p1, p2] and their ids. */
  top2: [number, number][][];
  top2Ids: [number, number][][];
  /** With OracleOptions.topK: per prompt, per step, llama.cpp's top-k ids and probabilities. */
  topK?: { id: number; p: number }[][][];
  /** End-of-generation ids llama.cpp masks under ignore_eos (our greedy skips them too). */
  eog: number[];
  /** Load and generation time. */
  seconds: number;
}

export interface OracleOptions {
  nCtx: number;
  threads: number;
  steps: number;
  /** llama.cpp KV cache type; f16 is llama.cpp's default. */
  cacheType?: 'f16' | 'q8_0' | 'q4_0';
  /** llama.cpp's flash attention (its default in this build: on); false runs the plain KQ / softmax / KQV path. */
  flashAttn?: boolean;
  /** Record llama.cpp's top-k probabilities per step (k > 2), for fitting how it rounds. */
  topK?: number;
}

interface Prob { id: number; logprob: number }
interface Step extends Prob { top_logprobs: Prob[] }
interface Completion {
  choices: { logprobs: { content: Step[] } | null }[];
  usage: { prompt_tokens: number };
}

/** llama.cpp's SentencePiece view of `ids` as text: pieces joined, '▁' as space, no leading space (llama.cpp adds it). */
export function promptText(ids: readonly number[], pieces: readonly string[]): string {
  return ids.map((id) => pieces[id]!.replaceAll('\u2581', ' ')).join('').replace(/^ /, '');
}

export async function runWllama(bytes: Uint8Array, prompts: readonly string[], promptLengths: readonly number[], o: OracleOptions): Promise<OracleRun> {
  const t0 = performance.now();
  // ?log on the page URL shows llama.cpp's own log (load errors are only reported there).
  const w = new Wllama({ default: wllamaWasm }, { suppressNativeLog: !new URLSearchParams(location.search).has('log') });
  const cache = o.cacheType ?? 'f16';
  // n_parallel 1: llama.cpp picks LongRoPE's long/short factors by n_ctx per sequence.
  await w.loadModel([new Blob([bytes as BlobPart])], {
    n_ctx: o.nCtx, n_threads: o.threads, n_gpu_layers: 0, seed: 1, n_parallel: 1, cache_type_k: cache, cache_type_v: cache,
    ...(o.flashAttn === undefined ? {} : { flash_attn: o.flashAttn }),
  });
  try {
    const run: OracleRun = { tokens: [], top2: [], top2Ids: [], eog: w.getLoadedContextInfo().list_tokens_eog, seconds: 0 };
    for (const [i, prompt] of prompts.entries()) {
      const res = (await w.createCompletion({
        prompt, max_tokens: o.steps, temperature: 0, cache_prompt: false, ignore_eos: true, logprobs: Math.max(2, o.topK ?? 2),
      } as never)) as unknown as Completion;
      // BOS + the pieces: anything else means the text did not map back to the ids.
      if (res.usage.prompt_tokens !== promptLengths[i]! + 1) {
        throw new Error(`llama.cpp tokenized prompt ${i} into ${res.usage.prompt_tokens} tokens, expected ${promptLengths[i]! + 1}`);
      }
      const steps = res.choices[0]?.logprobs?.content ?? [];
      run.tokens.push(steps.map((s) => s.id));
      run.top2.push(steps.map((s) => [Math.exp(s.top_logprobs[0]!.logprob), Math.exp(s.top_logprobs[1]!.logprob)]));
      run.top2Ids.push(steps.map((s) => [s.top_logprobs[0]!.id, s.top_logprobs[1]!.id]));
      if (o.topK) (run.topK ??= []).push(steps.map((s) => s.top_logprobs.map((t) => ({ id: t.id, p: Math.exp(t.logprob) }))));
    }
    run.seconds = (performance.now() - t0) / 1e3;
    return run;
  } finally {
    await w.exit();
  }
}
