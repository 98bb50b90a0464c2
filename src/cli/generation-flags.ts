// Flags a command that generates text shares (model, sampling, context, backend, KV cache), and
// opening the model and a backend from them. `tabshard chat` uses these; the names and meanings
// are those of `tabshard generate`.
import type { ParseArgsConfig } from 'node:util';
import type { Backend } from '../engine/backend.ts';
import { createBackend, fusionFlag, kvMode, openModel, type OpenedModel } from '../engine/node/model.ts';
import type { SamplingOptions } from '../engine/sampler.ts';
import { tokenizerFromGguf, type Tokenizer } from '../engine/tokenizer/index.ts';
import { backendKind, num, threadsFlag } from './commands/generate.ts';

export const GENERATION_FLAGS = {
  model: { type: 'string', short: 'm' },
  'max-tokens': { type: 'string', short: 'n' }, temperature: { type: 'string' }, 'top-k': { type: 'string' },
  'top-p': { type: 'string' }, 'min-p': { type: 'string' }, 'repeat-penalty': { type: 'string' },
  seed: { type: 'string' }, stop: { type: 'string', multiple: true }, ctx: { type: 'string' },
  backend: { type: 'string' }, kv: { type: 'string' }, threads: { type: 'string' }, fusion: { type: 'string' }, store: { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const GENERATION_USAGE = '[--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] '
  + '[--stop STR]... [--ctx N] [--backend auto|webgpu|cpu|reference] [--kv f16|q8|q4|q3|q2|f32] [--threads N] [--fusion auto|all|no-norm|off] [--store DIR]';

type FlagValues = { [K in keyof typeof GENERATION_FLAGS]?: (typeof GENERATION_FLAGS)[K] extends { multiple: true } ? string[] : string };

export function samplingFrom(v: FlagValues): SamplingOptions {
  return {
    temperature: num(v.temperature, 'temperature'), topK: num(v['top-k'], 'top-k', true),
    topP: num(v['top-p'], 'top-p'), minP: num(v['min-p'], 'min-p'),
    repeatPenalty: num(v['repeat-penalty'], 'repeat-penalty'), seed: num(v.seed, 'seed', true),
  };
}

export interface LoadedModel {
  model: OpenedModel;
  tokenizer: Tokenizer;
  backend: Backend;
  close(): Promise<void>;
}

/** Opens --model and a backend for it as the flags say; close() releases both. */
export async function loadFromFlags(v: FlagValues & { model: string }, signal?: AbortSignal): Promise<LoadedModel> {
  const model = await openModel(v.model, { storeDir: v.store, signal });
  try {
    const tokenizer = tokenizerFromGguf(model.file);
    const backend = await createBackend(backendKind(v.backend), model.file, model.source, { signal, nCtx: num(v.ctx, 'ctx', true), kv: kvMode(v.kv), threads: threadsFlag(v.threads), fusion: fusionFlag(v.fusion) });
    return { model, tokenizer, backend, close: async () => { backend.dispose(); await model.close(); } };
  } catch (err) {
    await model.close();
    throw err;
  }
}
