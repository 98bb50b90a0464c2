import { describe, expect, it } from 'vitest';
import { perplexity } from '../../src/engine/eval.ts';
import { cpuModel, fixtureF32, logSoftmax, ref } from './helpers.ts';

describe('perplexity', () => {
  it('scores the second half of each chunk; equals the value from the reference logits', async () => {
    const name = 'stories260K-f32';
    const r = ref(name);
    // The exact f32 KV cache: with batch 16 later batches read the cache, and the reference is exact.
    const be = await cpuModel(name, { kv: { mode: 'f32' } });
    const want = fixtureF32(`ref/${name}.logits.f32`);
    // input_tokens[0] is BOS already; one 64-token chunk scores positions 32..62.
    let nll = 0;
    for (let j = 32; j < 63; j++) nll -= logSoftmax(want.subarray(j * 512, (j + 1) * 512))[r.input_tokens[j + 1]!]!;
    const res = await perplexity(be, r.input_tokens, { ctx: 64, bos: 1, batch: 16 });
    expect(res.scoredTokens).toBe(31);
    expect(res.chunks).toBe(1);
    expect(res.nll.mean).toBeCloseTo(nll / 31, 5);
    expect(res.ppl).toBeCloseTo(Math.exp(nll / 31), 4);
    expect(res.pplStderr).toBeGreaterThan(0);
    // Two chunks of 32: each starts from an empty cache with BOS.
    const two = await perplexity(be, r.input_tokens, { ctx: 32, bos: 1 });
    expect(two.chunks).toBe(2);
    expect(two.scoredTokens).toBe(2 * 15);
    await expect(perplexity(be, r.input_tokens.slice(0, 10), { ctx: 32 })).rejects.toMatchObject({ name: 'EngineArgumentError' });
  });
});
