// `tabshard kld --model M --ref F32MODEL --text FILE [--ctx N]`: mean KL(P_ref || P_model) over the
// scored tokens (llama.cpp's chunking: second half of each ctx-token chunk) and top-1 agreement.
// Both models run side by side in one process (no saved logits file).
import { readFile } from 'node:fs/promises';
import { parse, UsageError } from '../args.ts';
import { configFromGguf } from '../../engine/config.ts';
import { kld } from '../../engine/eval.ts';
import { createBackend, kvMode, openModel } from '../../engine/node/model.ts';
import { tokenizerFromGguf } from '../../engine/tokenizer/index.ts';
import { backendKind, num } from './generate.ts';

export const summary = 'KL divergence and top-1 agreement of a model against a reference model, as JSON';

export const usage = 'tabshard kld --model FILE|NAME@VERSION --ref FILE|NAME@VERSION --text FILE [--ctx N] [--backend webgpu|cpu|reference] [--kv f16|q8|q4|q3|q2|f32] [--store DIR]';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    model: { type: 'string', short: 'm' }, ref: { type: 'string' }, text: { type: 'string', short: 'f' },
    ctx: { type: 'string', short: 'c' }, backend: { type: 'string' }, kv: { type: 'string' }, store: { type: 'string' },
  }, usage);
  if (!values.model || !values.ref || !values.text) throw new UsageError(`--model, --ref and --text are required\nusage: ${usage}`);
  const text = await readFile(values.text, 'utf8');
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  const refModel = await openModel(values.ref, { storeDir: values.store, signal: ac.signal });
  const model = await openModel(values.model, { storeDir: values.store, signal: ac.signal }).catch(async (err: unknown) => {
    await refModel.close();
    throw err;
  });
  try {
    // The reference's tokenizer defines the tokens; both models must share the vocabulary.
    const tokenizer = tokenizerFromGguf(refModel.file);
    const tokens = tokenizer.encode(text);
    const ctx = num(values.ctx, 'ctx', true) ?? Math.min(512, configFromGguf(refModel.file).nCtx);
    const kind = backendKind(values.backend);
    const refBackend = await createBackend(kind, refModel.file, refModel.source, { signal: ac.signal, nCtx: ctx });
    const backend = await createBackend(kind, model.file, model.source, { signal: ac.signal, nCtx: ctx, kv: kvMode(values.kv) });
    try {
      const res = await kld(refBackend, backend, tokens, {
        ctx, bos: tokenizer.vocab.addBos ? tokenizer.bos : undefined, signal: ac.signal,
        onChunk: (d, t) => { if (process.stderr.isTTY) process.stderr.write(`\rchunk ${d}/${t}`); },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(JSON.stringify({
        model: model.label, ref: refModel.label, backend: backend.kind, ctx, chunks: res.chunks, scoredTokens: res.scoredTokens,
        klMean: res.kl.mean, klStderr: res.kl.stderr, klMax: res.klMax, top1: res.top1, ppl: res.ppl, pplRef: res.pplRef,
      }));
      return 0;
    } finally {
      refBackend.dispose();
      backend.dispose();
    }
  } finally {
    process.off('SIGINT', onSigint);
    await model.close();
    await refModel.close();
  }
}
