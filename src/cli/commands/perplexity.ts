// `tabshard perplexity --model M --text FILE [--ctx N]`: llama.cpp-style perplexity (chunks of ctx
// tokens, each starting with BOS, second half scored), printed as JSON with its standard error.
import { readFile } from 'node:fs/promises';
import { parse, UsageError } from '../args.ts';
import { configFromGguf } from '../../engine/config.ts';
import { perplexity } from '../../engine/eval.ts';
import { createBackend, kvMode, openModel } from '../../engine/node/model.ts';
import { tokenizerFromGguf } from '../../engine/tokenizer/index.ts';
import { backendKind, num } from './generate.ts';

export const summary = 'perplexity of a model on a text file (llama.cpp method), as JSON';

export const usage = 'tabshard perplexity --model FILE|NAME@VERSION --text FILE [--ctx N] [--batch N] [--backend webgpu|cpu|reference] [--kv f16|q8|q4|q3|q2|f32] [--store DIR]';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    model: { type: 'string', short: 'm' }, text: { type: 'string', short: 'f' }, ctx: { type: 'string', short: 'c' },
    batch: { type: 'string', short: 'b' }, backend: { type: 'string' }, kv: { type: 'string' }, store: { type: 'string' },
  }, usage);
  if (!values.model || !values.text) throw new UsageError(`--model and --text are required\nusage: ${usage}`);
  const text = await readFile(values.text, 'utf8');
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  const model = await openModel(values.model, { storeDir: values.store, signal: ac.signal });
  try {
    const tokenizer = tokenizerFromGguf(model.file);
    const tokens = tokenizer.encode(text);
    const ctx = num(values.ctx, 'ctx', true) ?? Math.min(512, configFromGguf(model.file).nCtx);
    const backend = await createBackend(backendKind(values.backend), model.file, model.source, { signal: ac.signal, nCtx: ctx, kv: kvMode(values.kv) });
    try {
      const res = await perplexity(backend, tokens, {
        ctx, bos: tokenizer.vocab.addBos ? tokenizer.bos : undefined, batch: num(values.batch, 'batch', true),
        signal: ac.signal, onChunk: (d, t) => { if (process.stderr.isTTY) process.stderr.write(`\rchunk ${d}/${t}`); },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(JSON.stringify({
        model: model.label, backend: backend.kind, ctx, tokens: tokens.length, chunks: res.chunks, scoredTokens: res.scoredTokens,
        ppl: res.ppl, pplStderr: res.pplStderr, nllMean: res.nll.mean, nllStderr: res.nll.stderr,
      }));
      return 0;
    } finally {
      backend.dispose();
    }
  } finally {
    process.off('SIGINT', onSigint);
    await model.close();
  }
}
