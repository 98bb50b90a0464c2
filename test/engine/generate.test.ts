import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend.ts';
import { generate, generateStream } from '../../src/engine/generate.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { cpuModel, modelFile, ref } from './helpers.ts';

const NAME = 'stories260K-f32';
const tok = tokenizerFromGguf(modelFile(NAME).file);
const r = ref(NAME);
const backend = await cpuModel(NAME);

describe('generate', () => {
  it('greedy generation reproduces the reference continuation, for any prefill batch', async () => {
    const n = r.generated_tokens.length;
    for (const prefillBatch of [64, 2]) {
      const res = await generate(backend, tok, { prompt: r.prompt, maxTokens: n, prefillBatch });
      expect(res.tokens).toEqual(r.generated_tokens);
      expect(res.text).toBe(r.generated_text_only);
      expect(res.stoppedBy).toBe('max');
      expect(res.promptTokens).toBe(5);
      expect(res.prefillTokensPerSecond).toBeGreaterThan(0);
      expect(res.decodeTokensPerSecond).toBeGreaterThan(0);
    }
  });

  it('streams events whose texts add up to the result text', async () => {
    const it = generateStream(backend, tok, { prompt: r.prompt, maxTokens: 20 });
    let text = '';
    const tokens: number[] = [];
    let res = await it.next();
    while (!res.done) {
      tokens.push(res.value.token);
      text += res.value.text;
      res = await it.next();
    }
    expect(res.value.tokens).toEqual(tokens);
    expect(res.value.text).toBe(text);
    expect(tokens).toEqual(r.generated_tokens.slice(0, 20));
  });

  it('stops at a stop string spanning token boundaries and does not emit it', async () => {
    const full = r.generated_text_only;
    for (const stop of ['girl nam', 'Lily', '.']) {
      const seen: string[] = [];
      const res = await generate(backend, tok, { prompt: r.prompt, maxTokens: 60, stop: [stop, 'never-appears'], onToken: (e) => seen.push(e.text) });
      expect(res.stoppedBy).toBe('stop');
      expect(res.text).toBe(full.slice(0, full.indexOf(stop)));
      expect(seen.join('')).toBe(res.text);
    }
  });

  it('honours maxTokens and aborts mid-generation with stoppedBy "abort"', async () => {
    const max = await generate(backend, tok, { prompt: r.prompt, maxTokens: 3 });
    expect(max.tokens).toHaveLength(3);
    expect(max.stoppedBy).toBe('max');

    const ac = new AbortController();
    let count = 0;
    const res = await generate(backend, tok, {
      prompt: r.prompt, maxTokens: 50, signal: ac.signal,
      onToken: () => { if (++count === 4) ac.abort(); },
    });
    expect(res.stoppedBy).toBe('abort');
    expect(res.tokens).toEqual(r.generated_tokens.slice(0, 4));
    const pre = AbortSignal.abort();
    expect((await generate(backend, tok, { prompt: r.prompt, signal: pre, maxTokens: 5 })).tokens).toEqual([]);
  });

  it('sampling with a seed is reproducible', async () => {
    const run = (seed: number) => generate(backend, tok, { prompt: r.prompt, maxTokens: 24, sampling: { temperature: 1, topK: 40, topP: 0.95, seed } });
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.text).toBe(b.text);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('stops at EOS (not included in tokens or text)', async () => {
    // A scripted backend: whatever the input, the next token follows `script`, then EOS (2).
    const script = tok.encode('the end', { addBos: false }); // dummy prefix: ' the end'
    const fake: Backend = {
      ...backend,
      forward: (tokens: ArrayLike<number>, pos: number) => {
        const i = pos + tokens.length - r.prompt_tokens.length;
        const l = new Float32Array(backend.config.nVocab);
        l[i < script.length ? script[i]! : 2] = 10;
        return Promise.resolve(l);
      },
      truncate: () => {},
    };
    const res = await generate(fake, tok, { prompt: r.prompt, maxTokens: 50 });
    expect(res.stoppedBy).toBe('eos');
    expect(res.tokens).toEqual(script);
    expect(res.text).toBe(' the end');
  });

  it('reuses the cached prefix', async () => {
    const first = await generate(backend, tok, { prompt: r.prompt, maxTokens: 10 });
    const again = await generate(backend, tok, { tokens: [...first.context, ...tok.encode(' She', { addBos: false })], maxTokens: 5, cachedTokens: first.context });
    const fresh = await generate(backend, tok, { tokens: [...first.context, ...tok.encode(' She', { addBos: false })], maxTokens: 5 });
    expect(again.tokens).toEqual(fresh.tokens);
    expect(again.context).toEqual(fresh.context);
  });

  it('refuses prompt + maxTokens beyond the context unless clamped', async () => {
    const small = await cpuModel(NAME, { nCtx: 16 });
    await expect(generate(small, tok, { prompt: r.prompt, maxTokens: 20 })).rejects.toMatchObject({ name: 'ContextOverflowError' });
    const res = await generate(small, tok, { prompt: r.prompt, maxTokens: 20, context: 'clamp' });
    expect(res.tokens).toEqual(r.generated_tokens.slice(0, 11));
  });
});
