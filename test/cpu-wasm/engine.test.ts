// The WASM CPU backend against the TypeScript reference backend, f32 KV so that the matmuls are
// the only difference. Tolerances:
//  - F32 weights (no activation rounding): the same greedy tokens, logits within 1e-5 (max-relative).
//  - Quantized weights: activations are rounded to int8 per block before each matmul (as ggml's CPU
//    backend does; per-matmul error bound in check.ts). That moves logits by 1-5% of their range,
//    enough to flip near-ties of these small models' greedy choices, so the comparison is teacher
//    forced on the reference's greedy sequence: mean KL(reference || wasm) per position < 0.02 nats
//    and top-1 agreement >= 90% on the trained fixture model (measured: <= 7e-3, >= 96%); on the
//    random synthetic families, whose sharp attention amplifies small changes, < 0.08 nats and
//    >= 80% (measured: <= 0.041, >= 88%). All figures are logged.
//  - A 3-way layer split of the WASM backend equals its whole model exactly.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import type { GgufFile } from '../../src/formats/gguf-types.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { FAMILIES, syntheticFamilyGguf } from '../../src/engine/synthetic/families.ts';
import { GgmlType, ggmlType } from '../../src/quant/ggml-types.ts';
import { fixture } from '../formats/fixtures.ts';
import { argmax, logSoftmax, maxRelRowError } from '../engine/helpers.ts';

const PROMPT = [1, 17, 300, 42, 9, 250, 77, 5, 123, 64];
const STEPS = 16;

/** Greedy tokens (prompt prefilled in one batch, then one token at a time) and each step's logits. */
async function greedy(be: Backend, steps = STEPS): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  let l = await be.forward(PROMPT, 0);
  for (let i = 0; i < steps; i++) {
    logits.push(l);
    tokens.push(argmax(l));
    l = await be.forward([tokens[i]!], PROMPT.length + i);
  }
  return { tokens, logits };
}

/** max|a - b| / max|b| over the whole array. */
const maxRel = (a: Float32Array, b: Float32Array): number => maxRelRowError(a, b, b.length);

/** Mean KL(p || q) per row and top-1 agreement of two [n][V] logit arrays. */
function klTop1(p: Float32Array, q: Float32Array, V: number): { kl: number; top1: number } {
  let kl = 0, agree = 0;
  const n = p.length / V;
  for (let r = 0; r < n; r++) {
    const lp = logSoftmax(p.subarray(r * V, (r + 1) * V)), lq = logSoftmax(q.subarray(r * V, (r + 1) * V));
    for (let i = 0; i < V; i++) kl += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
    if (argmax(p.subarray(r * V, (r + 1) * V)) === argmax(q.subarray(r * V, (r + 1) * V))) agree++;
  }
  return { kl: kl / n, top1: agree / n };
}

async function compare(label: string, file: GgufFile, bytes: Uint8Array, exact: boolean, synthetic = false): Promise<void> {
  const opts = { kv: { mode: 'f32' as const }, nCtx: 64 };
  const ref = await createCpuBackend(file, bytesSource(bytes), opts);
  const wasm = await createWasmBackend(file, bytesSource(bytes), opts);
  try {
    const want = await greedy(ref);
    if (exact) {
      const got = await greedy(wasm);
      const worst = Math.max(...got.logits.map((l, i) => maxRel(l, want.logits[i]!)));
      console.log(`${label}: reference ${want.tokens.join(' ')} | wasm max rel logit error ${worst.toExponential(2)}`);
      expect(got.tokens).toEqual(want.tokens);
      expect(worst).toBeLessThan(1e-5);
      return;
    }
    const seq = [...PROMPT, ...want.tokens];
    ref.truncate(0);
    wasm.truncate(0);
    const p = await ref.forward(seq, 0, true);
    const q = await wasm.forward(seq, 0, true);
    const { kl, top1 } = klTop1(p, q, ref.config.nVocab);
    console.log(`${label}: teacher forced over ${seq.length} positions: mean KL ${kl.toExponential(2)} nats, top-1 agreement ${(100 * top1).toFixed(1)}%, max rel logit error ${maxRel(q, p).toExponential(2)}`);
    expect(kl).toBeLessThan(synthetic ? 0.08 : 0.02);
    expect(top1).toBeGreaterThanOrEqual(synthetic ? 0.8 : 0.9);
  } finally {
    wasm.dispose();
    ref.dispose();
  }
}

describe('WASM backend vs the TypeScript reference', () => {
  const ggufs = readdirSync(new URL('../fixtures/', import.meta.url)).filter((f) => f.endsWith('.gguf'));
  it.each(ggufs)('%s', async (name) => {
    const bytes = fixture(name);
    await compare(name, parseGguf(bytes), bytes, name.includes('f32'));
  }, 60_000);

  for (const family of FAMILIES) {
    for (const type of [GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q2_K]) {
      it(`family ${family}, ${ggmlType(type).name} weights`, async () => {
        const bytes = syntheticFamilyGguf(family, { seed: 5, type });
        await compare(`${family}/${ggmlType(type).name}`, parseGguf(bytes), bytes, type === GgmlType.F32, true);
      }, 60_000);
    }
  }

  it('a 3-way layer split equals the whole model (gemma3: windows, post norms, soft-caps)', async () => {
    const bytes = syntheticFamilyGguf('gemma3', { seed: 5, type: GgmlType.Q4_K });
    const file = parseGguf(bytes);
    const n = file.tensors.filter((t) => t.name.endsWith('attn_norm.weight')).length;
    const cuts = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
    const whole = await createWasmBackend(file, bytesSource(bytes), { nCtx: 64 });
    const parts: Backend[] = [];
    for (let i = 0; i < 3; i++) parts.push(await createWasmBackend(file, bytesSource(bytes), { nCtx: 64, layers: [cuts[i]!, cuts[i + 1]!] }));
    let h = await parts[0]!.embed(PROMPT);
    for (let i = 0; i < 3; i++) h = await parts[i]!.layers(h, PROMPT.length, 0, cuts[i]!, cuts[i + 1]!);
    const split = await parts[2]!.head(h, PROMPT.length);
    expect(maxRel(split, await whole.forward(PROMPT, 0))).toBe(0);
  });
});
