// The GPU lab's streamed synthetic models and time boxes (no GPU needed): the file a StreamedModel
// serves is a valid model of the family at the asked shape and type, any split of reads gives the
// same bytes, its weights dequantize to the synthetic families' scale, and an 8B model is planned
// and read without holding more than the range asked for.
import { describe, expect, it } from 'vitest';
import { readGgufHeader } from '../../src/formats/gguf-reader.ts';
import { configFromGguf } from '../../src/engine/config.ts';
import { fullSlice, sliceWeights } from '../../src/engine/weights.ts';
import { dequantize } from '../../src/quant/dequantize.ts';
import { GgmlType, ggmlType } from '../../src/quant/ggml-types.ts';
import { freshSeed, rng } from '../../src/util/random.ts';
import { streamedModel } from '../../bench/gpu-lab/model.ts';
import { LLAMA3_8B, labPlan } from '../../bench/gpu-lab/sizes.ts';
import { Budget } from '../../bench/gpu-lab/budget.ts';

const small = labPlan('small').models;

describe('streamed synthetic model', () => {
  for (const [m, type] of [[small[0]!, GgmlType.Q4_K], [small[1]!, GgmlType.Q2_K]] as const) {
    it(`${m.name} ${ggmlType(type).name}: a valid model, the same bytes however it is read`, async () => {
      const seed = freshSeed();
      console.log(`seed ${seed}`);
      const sm = streamedModel(m.family, m.shape, type, seed);
      const file = await readGgufHeader(sm.source);
      const cfg = configFromGguf(file);
      expect([cfg.nLayer, cfg.nEmbd, cfg.nFf, cfg.nVocab, cfg.nHeadKv]).toEqual([m.shape.nLayer, m.shape.nEmbd, m.shape.nFf, m.shape.nVocab, m.shape.nHeadKv]);
      expect(cfg.tiedOutput).toBe(m.shape.tied);
      // Every tensor the engine's graph needs is there with its shape (sliceWeights throws otherwise).
      const refs = sliceWeights(file, cfg, fullSlice(cfg));
      expect(refs.length).toBe(file.tensors.length);
      expect(sm.source.size).toBe(sm.fileBytes);

      const whole = await sm.source.read(0, sm.source.size);
      const next = rng(seed);
      const parts: Uint8Array[] = [];
      for (let at = 0; at < whole.length; ) {
        const n = Math.min(whole.length - at, 1 + Math.floor(next() * 70_000));
        parts.push(await sm.source.read(at, n));
        at += n;
      }
      expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);

      for (const t of file.tensors.filter((t) => t.shape.length === 2)) {
        expect(t.type).toBe(type);
        const w = dequantize(t.type, whole.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize), t.nElements);
        let ss = 0;
        for (const v of w) ss += v * v;
        const rms = Math.sqrt(ss / w.length);
        expect(w.every(Number.isFinite), t.name).toBe(true);
        // Projections ~ 1.4/sqrt(cols), the embedding 0.2, the head 1/sqrt(cols): within 2x of it.
        const want = t.name === 'token_embd.weight' ? 0.2 : t.name === 'output.weight' ? 1 / Math.sqrt(t.shape[0]!) : 1.4 / Math.sqrt(t.shape[0]!);
        expect(rms, t.name).toBeGreaterThan(want / 2);
        expect(rms, t.name).toBeLessThan(want * 2);
      }
      // The floor: every matrix once (a tied head is token_embd read in full) plus one embedding row.
      const embd = file.tensors.find((t) => t.name === 'token_embd.weight')!;
      const mats = file.tensors.filter((t) => t.shape.length === 2 && (cfg.tiedOutput || t.name !== 'token_embd.weight'));
      expect(sm.floorBytesPerToken).toBe(mats.reduce((n, t) => n + t.byteSize, 0) + embd.byteSize / cfg.nVocab);
    });
  }

  it('Llama-3-8B Q4_K: real size, planned and read range by range in bounded memory', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const sm = streamedModel('llama3', LLAMA3_8B, GgmlType.Q4_K);
    const file = await readGgufHeader(sm.source);
    const cfg = configFromGguf(file);
    expect([cfg.nLayer, cfg.nVocab, cfg.nEmbd, cfg.nFf]).toEqual([32, 128256, 4096, 14336]);
    // Q4_K: 144 bytes per 256 weights. Per layer: q, o (E x E), k, v (E x E/4), gate, up, down (E x F).
    const E = 4096;
    const F = 14336;
    const perLayer = ((2 * E * E + 2 * E * (E / 4) + 3 * E * F) / 256) * 144;
    const head = ((2 * E * 128256) / 256) * 144; // token_embd + output
    const weights = file.tensors.filter((t) => t.shape.length === 2).reduce((n, t) => n + t.byteSize, 0);
    expect(weights).toBe(32 * perLayer + head);
    expect(sm.fileBytes).toBeGreaterThan(4.5e9);
    const down = file.tensors.find((t) => t.name === 'blk.31.ffn_down.weight')!;
    const bytes = await sm.source.read(down.absoluteOffset, down.byteSize);
    expect(bytes.length).toBe(down.byteSize);
    expect(dequantize(down.type, bytes.subarray(0, 144 * 56), 256 * 56).every(Number.isFinite)).toBe(true);
    // The header's zero views and the templates are all it holds besides the range read (~33 MB).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 2 ** 20);
  });
});

describe('time boxes', () => {
  it('a section stops allowing new items when its budget or the overall deadline is spent', () => {
    let now = 0;
    const b = new Budget(100, () => now);
    const a = b.section('a', 30).begin();
    expect(a.allows()).toBe(true);
    now = 29_000;
    expect(a.allows(0.5)).toBe(true);
    expect(a.allows(2)).toBe(false);
    now = 31_000;
    expect(a.allows()).toBe(false);
    a.finish();
    const c = b.section('c', 500);
    now = 90_000;
    expect(c.allows()).toBe(true);
    now = 101_000;
    expect(c.allows()).toBe(false); // its own budget is not spent, the run's is
    const r = b.report();
    expect(r.sections.map((s) => [s.name, s.usedS])).toEqual([['a', 31], ['c', 11]]);
  });
});
