import { describe, expect, it } from 'vitest';
import { argmax, cpuModel, fixtureF32, maxRelRowError, ref } from './helpers.ts';

const NAME = 'stories260K-f32';

describe('CPU backend on stories260K-f32', () => {
  it('teacher-forced logits match the ggml/numpy reference at all 64 positions', async () => {
    const be = await cpuModel(NAME);
    const r = ref(NAME);
    const logits = await be.forward(r.input_tokens, 0, true);
    const want = fixtureF32(`ref/${NAME}.logits.f32`);
    expect(logits.length).toBe(want.length);
    // Measure: per position, max|ours - ref| / max|ref|; the worst position must be < 1e-5 (the brief asks 1e-4; we measure ~2e-7).
    const err = maxRelRowError(logits, want, be.config.nVocab);
    expect(err).toBeLessThan(1e-5);
  });

  it('greedy continuation of the prompt reproduces the reference tokens (prefill then decode)', async () => {
    const be = await cpuModel(NAME);
    const r = ref(NAME);
    const seq = [...r.prompt_tokens];
    let logits = await be.forward(seq, 0);
    const n = r.sequence.length;
    while (seq.length < n) {
      const next = argmax(logits);
      seq.push(next);
      if (seq.length < n) logits = await be.forward([next], seq.length - 1);
    }
    expect(seq).toEqual(r.sequence);
  });

  it('layer-range composition equals the whole forward', async () => {
    const be = await cpuModel(NAME);
    const r = ref(NAME);
    const toks = r.input_tokens.slice(0, 20);
    const whole = await be.forward(toks, 0, true);
    be.truncate(0);
    const h0 = await be.embed(toks);
    const h1 = await be.layers(h0, toks.length, 0, 0, 2);
    const h2 = await be.layers(h1, toks.length, 0, 2, 5);
    const split = await be.head(h2, toks.length, true);
    expect(maxRelRowError(split, whole, be.config.nVocab)).toBe(0);

    // Two backends each holding a slice (as two shard participants would).
    const a = await cpuModel(NAME, { layers: [0, 3] });
    const b = await cpuModel(NAME, { layers: [3, 5] });
    expect(a.layerRange).toEqual([0, 3]);
    await expect(a.head(h0, toks.length)).rejects.toMatchObject({ name: 'EngineArgumentError' });
    const mid = await a.layers(await a.embed(toks), toks.length, 0, 0, 3);
    const sharded = await b.head(await b.layers(mid, toks.length, 0, 3, 5), toks.length, true);
    expect(maxRelRowError(sharded, whole, be.config.nVocab)).toBe(0);
    expect(a.memory().weights).toBeLessThan(be.memory().weights);
  });

  it('incremental decode equals a batched forward, and truncate rewinds the cache', async () => {
    // The exact f32 KV cache: decode reads what prefill computed (compressed modes: test/kv/cpu-engine.test.ts).
    const be = await cpuModel(NAME, { kv: { mode: 'f32' } });
    const toks = ref(NAME).input_tokens.slice(0, 12);
    const batched = await be.forward(toks, 0, true);
    be.truncate(0);
    const rows: Float32Array[] = [];
    for (let i = 0; i < toks.length; i++) rows.push(await be.forward([toks[i]!], i));
    const inc = new Float32Array(batched.length);
    rows.forEach((row, i) => inc.set(row, i * row.length));
    expect(maxRelRowError(inc, batched, be.config.nVocab)).toBeLessThan(1e-6);
    be.truncate(6);
    const again = await be.forward(toks.slice(6), 6, true);
    expect(maxRelRowError(again, batched.subarray(6 * be.config.nVocab), be.config.nVocab)).toBeLessThan(1e-6);
  });

  it('refuses positions beyond the context', async () => {
    const be = await cpuModel(NAME, { nCtx: 8 });
    expect(be.config.nCtx).toBe(8);
    await expect(be.forward([1, 2, 3, 4, 5, 6, 7, 8, 9], 0)).rejects.toMatchObject({ name: 'ContextOverflowError' });
  });
});
