// `tabshard generate --model FILE|NAME@VERSION --prompt TEXT ...`: stream generated text to stdout,
// or print one JSON object with --json.
import { parse, UsageError } from '../args.ts';
import { generate } from '../../engine/generate.ts';
import { createBackend, fusionFlag, kvMode, openModel, type BackendKind } from '../../engine/node/model.ts';
import type { SamplingOptions } from '../../engine/sampler.ts';
import { tokenizerFromGguf } from '../../engine/tokenizer/index.ts';
import { MAX_THREADS } from '../../engine/wasm/index.ts';
import { GpuBackend } from '../../engine/gpu/gpu-backend.ts';

export const summary = 'generate text from a GGUF model (file or NAME@VERSION in the local store)';

export const usage = 'tabshard generate --model FILE|NAME@VERSION --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] '
  + '[--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] [--stop STR]... [--ctx N] [--backend auto|webgpu|cpu|reference] [--kv f16|q8|q4|q3|q2|f32] [--threads N] [--fusion auto|all|no-norm|off] [--store DIR] [--json]';

export function num(v: string | undefined, flag: string, int = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) throw new UsageError(`--${flag} must be a${int ? 'n integer' : ' number'}, got '${v}'\nusage: ${usage}`);
  return n;
}

/** --backend: absent or 'auto' picks the faster path here (engine/auto); the others force one. */
/** --threads: CPU threads for the cpu backend (default: the cores, up to 8). */
export function threadsFlag(v: string | undefined): number | undefined {
  const n = num(v, 'threads', true);
  if (n !== undefined && (n < 1 || n > MAX_THREADS)) throw new UsageError(`--threads must be from 1 to ${MAX_THREADS}, got '${v}'\nusage: ${usage}`);
  return n;
}

export function backendKind(v: string | undefined): BackendKind | 'auto' | undefined {
  if (v === undefined || v === 'auto' || v === 'cpu' || v === 'webgpu' || v === 'reference') return v;
  throw new UsageError(`--backend must be auto, webgpu, cpu or reference, got '${v}'`);
}

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    model: { type: 'string', short: 'm' }, prompt: { type: 'string', short: 'p' },
    'max-tokens': { type: 'string', short: 'n' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
    'top-p': { type: 'string' }, 'min-p': { type: 'string' }, 'repeat-penalty': { type: 'string' },
    seed: { type: 'string' }, stop: { type: 'string', multiple: true }, ctx: { type: 'string' },
    backend: { type: 'string' }, kv: { type: 'string' }, threads: { type: 'string' }, fusion: { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean' },
  }, usage);
  if (!values.model || values.prompt === undefined) throw new UsageError(`--model and --prompt are required\nusage: ${usage}`);
  const sampling: SamplingOptions = {
    temperature: num(values.temperature, 'temperature'), topK: num(values['top-k'], 'top-k', true),
    topP: num(values['top-p'], 'top-p'), minP: num(values['min-p'], 'min-p'),
    repeatPenalty: num(values['repeat-penalty'], 'repeat-penalty'), seed: num(values.seed, 'seed', true),
  };
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  const model = await openModel(values.model, { storeDir: values.store, signal: ac.signal });
  try {
    const tokenizer = tokenizerFromGguf(model.file);
    for (const w of tokenizer.warnings) process.stderr.write(`tabshard generate: warning: ${w}\n`);
    const backend = await createBackend(backendKind(values.backend), model.file, model.source, { signal: ac.signal, nCtx: num(values.ctx, 'ctx', true), kv: kvMode(values.kv), threads: threadsFlag(values.threads), fusion: fusionFlag(values.fusion) });
    try {
      const json = values.json ?? false;
      if (!json && backend.contextReason) process.stderr.write(`tabshard: ${backend.contextReason}\n`);
      if (!json) process.stdout.write(values.prompt);
      const res = await generate(backend, tokenizer, {
        prompt: values.prompt, maxTokens: num(values['max-tokens'], 'max-tokens', true) ?? 128, sampling,
        stop: values.stop, signal: ac.signal, context: 'clamp',
        onToken: json ? undefined : (e) => { if (e.text) process.stdout.write(e.text); },
      });
      if (json) {
        console.log(JSON.stringify({
          tokens: res.tokens, text: res.text, promptTokens: res.promptTokens,
          prefillTokensPerSecond: res.prefillTokensPerSecond, decodeTokensPerSecond: res.decodeTokensPerSecond,
          stoppedBy: res.stoppedBy, backend: backend.kind, model: model.label, memory: backend.memory(),
          kv: backend.kvLayout.mode, kvBytes: backend.memory().kv, context: backend.config.nCtx, contextReason: backend.contextReason,
          // WebGPU: dispatches, pipeline switches, bind groups, uniform writes and bytes of the last decode token.
          gpuWork: 'lastWork' in backend ? backend.lastWork : undefined,
          gpuGraph: backend instanceof GpuBackend ? { fuse: backend.fuse, fuseNorm: backend.fuseNorm } : undefined,
          cpuPath: 'cpuPath' in backend ? backend.cpuPath : undefined,
        }));
      } else {
        process.stdout.write('\n');
        process.stderr.write(`[${backend.kind}] ${res.promptTokens} prompt tokens at ${res.prefillTokensPerSecond.toFixed(1)} tok/s, `
          + `${res.tokens.length} generated at ${res.decodeTokensPerSecond.toFixed(1)} tok/s (${res.stoppedBy})\n`);
      }
      return 0;
    } finally {
      backend.dispose();
    }
  } finally {
    process.off('SIGINT', onSigint);
    await model.close();
  }
}
