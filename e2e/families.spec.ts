// The family oracle: synthetic models of every supported family (src/engine/synthetic/families.ts)
// run by llama.cpp (wllama, in the page) and by tabshard's CPU backend, WebGPU backend and a 3-way
// CPU layer split, greedy from the same token-id prompts (e2e/pages/families.ts).
//   F32 weights: identical 24 tokens from each of 3 prompts, on every backend.
//   Q8_0: identical, or the first difference falls where llama.cpp's top-2 probabilities are
//         within 1%: printed, asserted only with ORACLE_STRICT_Q8=1. It does not hold on these
//         models: ggml rounds the activations of a Q8_0 matmul to q8_0, and llama.cpp's flash
//         attention arithmetic (f16 Q, f16 V sums, ...) moves them by ~1e-3 first, which flips a
//         few percent of the codes; the runs part at clear margins (LLAMACPP.md: measurements).
//         llama.cpp itself fails the rule against its own run with flash attention off (same
//         file, same build): printed next to ours as the yardstick.
//   Q8_0 with attention silenced: our reference with ggml's rounding replayed (ggml-rounding.ts;
//         and ggml's f16 GELU table, src/engine/cpu/ggml-arith.ts) gives llama.cpp's greedy token
//         at every step and a distribution >= 5x closer than without it (asserted, every family).
// ORACLE_FA=0 runs llama.cpp without flash attention (its plain KQ / softmax / KQV path, which
// scripts/oracle-fit.ts --ggml-arith reproduces up to f32 summation order).
//   Q4_K, Q2_K, and KV caches q8/q4: agreement printed and written to
//         test-results/families-oracle/<family>.json, not asserted.
// A family our engine refuses (UnsupportedModelError) is marked fixme with the engine's reason.
// FAMILIES=llama3,qwen2 runs a subset; FAMILIES_FULL=1 also runs WebGPU on Q4_K/Q2_K and KV q8/q4.
import { mkdirSync, writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { GgmlType } from '../src/quant/ggml-types.ts';
import { rng } from '../src/util/random.ts';
import { FAMILIES, SMALL_SHAPES, syntheticFamilyGguf, type Family } from '../src/engine/synthetic/families.ts';
import { FIRST_PIECE } from '../src/engine/synthetic/vocab.ts';
import type { OracleJob, OracleResult, PageError } from './pages/families.ts';
import type { OracleRun } from './pages/families-wllama.ts';
import type { OurRun, OurRunSpec } from './pages/families-ours.ts';
import { GGML_Q8_0, NO_ROUNDING, replayWithRounding, type ReplayResult } from './ggml-rounding.ts';

const STEPS = 24;
const N_CTX = 256;
const TIE = 0.01;
const full = Boolean(process.env.FAMILIES_FULL);
const strictQ8 = Boolean(process.env.ORACLE_STRICT_Q8);
const only = process.env.FAMILIES?.split(',');
/** ORACLE_TOPK=k records llama.cpp's top-k probabilities per step in the JSON (for studying its rounding). */
const topK = process.env.ORACLE_TOPK ? Number(process.env.ORACLE_TOPK) : undefined;
/** Weight seeds whose F32 runs have no near-tie (llama.cpp's top-2 within 1%) in the 72 steps (phi3 seed 1 had one at 1.4%, where our f16 KV rounding on the GPU could flip it: its smallest margin on seed 5 is 15%). */
const SEED: Record<Family, number> = { llama3: 1, qwen2: 1, qwen3: 1, gemma2: 1, gemma3: 3, phi3: 5 };

/** Three prompts of 8, 12 and 16 filler pieces (ids that spell back to themselves in llama.cpp). */
function prompts(nVocab: number): number[][] {
  const next = rng(11);
  const lo = FIRST_PIECE + 27;
  const hi = nVocab - 16;
  return [8, 12, 16].map((n) => Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo))));
}

interface Agreement {
  /** Per prompt: index of the first token that differs from llama.cpp's, or -1. */
  firstDiff: number[];
  /** Per prompt: llama.cpp's (p1 - p2) / p1 at that step (undefined when equal). */
  margin: (number | undefined)[];
}

function agreement(ref: OracleRun, ours: OurRun): Agreement {
  const firstDiff = ours.tokens.map((t, p) => t.findIndex((x, i) => x !== ref.tokens[p]![i]));
  const margin = firstDiff.map((d, p) => {
    if (d < 0) return undefined;
    const [p1, p2] = ref.top2[p]![d]!;
    return (p1 - p2) / p1;
  });
  return { firstDiff, margin };
}

/** The family's Q8_0 model with attention silenced (attn_output zero): only matmuls, norms and the FFN remain. */
function silencedQ8(family: Family): Uint8Array {
  return syntheticFamilyGguf(family, { type: GgmlType.Q8_0, seed: SEED[family], silence: /attn_output/ });
}

/**
 * llama.cpp's Q8_0 arithmetic, checked where it can be: on the attention-silenced Q8_0 model,
 * replaying llama.cpp's tokens through our reference with ggml's q8_0 activation rounding
 * (e2e/ggml-rounding.ts) must come to llama.cpp's distribution (greedy equal at every step, and
 * >= 5x closer than without the rounding). With attention live, llama.cpp's attention (f16
 * Q, f16 V sums) moves activations by ~1e-3 before each rounding, which flips a few percent of the
 * q8_0 codes and parts the runs at clear margins: src/engine/synthetic/LLAMACPP.md. Gemma's FFN
 * goes through ggml's f16 GELU table, which the replay makes too (ggmlArith).
 */
async function roundingCheck(page: Page, family: Family, report: Record<string, unknown>, project: string) {
  const res = await oracle(page, family, GgmlType.Q8_0, {}, '-silenced', 8);
  if (isError(res.llamacpp)) throw new Error(`llama.cpp failed on ${family} silenced Q8_0: ${res.llamacpp.error.message}`);
  const ref = { tokens: res.llamacpp.tokens, topK: res.llamacpp.topK! };
  const ps = prompts(SMALL_SHAPES[family].nVocab);
  // ggmlArith: gemma's GELU goes through ggml's f16 table; the rest of it is moot with attention silenced.
  const rounded = await replayWithRounding(silencedQ8(family), ps, ref, GGML_Q8_0, { ggmlArith: true });
  const plain = await replayWithRounding(silencedQ8(family), ps, ref, NO_ROUNDING);
  const fmt = (r: ReplayResult) => `greedy ${r.agree}/${r.steps}, mean |dlogp| ${r.meanDistance.toExponential(2)}`;
  console.log(`${project} ${family} Q8_0 attention silenced vs llama.cpp: with ggml's rounding ${fmt(rounded)}; without ${fmt(plain)}`);
  const pick = (r: ReplayResult) => ({ agree: r.agree, steps: r.steps, meanDistance: r.meanDistance });
  report['Q8_0 silenced'] = { tokens: ref.tokens, topK: ref.topK, ours: { 'reference, ggml rounding': pick(rounded), reference: pick(plain) } };
  return { rounded, plain };
}

const isError = (r: unknown): r is { error: PageError } => typeof r === 'object' && r !== null && 'error' in r;
const show = (a: Agreement) => a.firstDiff.map((d, i) => (d < 0 ? `${STEPS}/${STEPS}` : `${d}/${STEPS} (top-2 margin ${(100 * a.margin[i]!).toFixed(2)}%)`)).join(', ');

async function oracle(page: Page, family: Family, type: number, ours: Record<string, OurRunSpec>, variant = '', k = topK, flashAttn = process.env.ORACLE_FA ? process.env.ORACLE_FA === '1' : undefined): Promise<OracleResult> {
  const job: OracleJob = { url: `families-models/${family}-${type}${variant}.gguf`, prompts: prompts(SMALL_SHAPES[family].nVocab), steps: STEPS, nCtx: N_CTX, threads: 1, topK: k, ours, ...(flashAttn !== undefined ? { flashAttn } : {}) };
  return page.evaluate((j) => (window as unknown as { __oracle: { run: (j: OracleJob) => Promise<OracleResult> } }).__oracle.run(j), job);
}

test.describe('model families vs llama.cpp', () => {
  test.skip(({ browserName }) => browserName !== 'chromium', 'one browser is enough for the oracle (wllama runs on the CPU)');

  for (const family of FAMILIES) {
    test(family, async ({ page }, info) => {
      test.skip(only !== undefined && !only.includes(family), 'not in FAMILIES');
      test.setTimeout(300_000);
      const files = new Map<string, Uint8Array>();
      for (const type of [GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q2_K]) {
        files.set(`${family}-${type}.gguf`, syntheticFamilyGguf(family, { type, seed: SEED[family] }));
      }
      files.set(`${family}-${GgmlType.Q8_0}-silenced.gguf`, silencedQ8(family));
      await page.route('**/families-models/*.gguf', (route) => {
        const body = files.get(new URL(route.request().url()).pathname.split('/').pop()!);
        return body ? route.fulfill({ body: Buffer.from(body) }) : route.fulfill({ status: 404 });
      });
      await page.goto('./e2e/pages/families.html');
      await page.waitForFunction(() => (window as unknown as { __oracle?: unknown }).__oracle);

      const gpuExtra: Record<string, OurRunSpec> = full ? { 'webgpu kv q8': { backend: 'webgpu', kv: 'q8' }, 'webgpu kv q4': { backend: 'webgpu', kv: 'q4' } } : {};
      const f32 = await oracle(page, family, GgmlType.F32, {
        cpu: { backend: 'cpu', kv: 'f16' }, webgpu: { backend: 'webgpu', kv: 'f16' }, 'cpu split 3': { backend: 'cpu-split3', kv: 'f16' },
        'cpu kv q8': { backend: 'cpu', kv: 'q8' }, 'cpu kv q4': { backend: 'cpu', kv: 'q4' }, ...gpuExtra,
      });
      if (isError(f32.llamacpp)) throw new Error(`llama.cpp failed on ${family}: ${f32.llamacpp.error.message}`);
      const unsupported = Object.values(f32.ours).find((r) => isError(r) && r.error.name === 'UnsupportedModelError');
      if (unsupported && isError(unsupported)) {
        console.log(`${family}: engine refuses it: ${unsupported.error.message}`);
        test.fixme(true, `${family}: ${unsupported.error.message}`);
        return;
      }
      const q = (type: number) => oracle(page, family, type, full ? { cpu: { backend: 'cpu', kv: 'f16' }, webgpu: { backend: 'webgpu', kv: 'f16' } } : { cpu: { backend: 'cpu', kv: 'f16' } });
      const q8 = await oracle(page, family, GgmlType.Q8_0, { cpu: { backend: 'cpu', kv: 'f16' }, webgpu: { backend: 'webgpu', kv: 'f16' } });
      const reported = { Q4_K: await q(GgmlType.Q4_K), Q2_K: await q(GgmlType.Q2_K) };

      const report: Record<string, unknown> = { family, seed: SEED[family], steps: STEPS, prompts: prompts(SMALL_SHAPES[family].nVocab) };
      const check = (label: string, res: OracleResult) => {
        const ref = res.llamacpp;
        if (isError(ref)) throw new Error(`llama.cpp failed on ${family} ${label}: ${ref.error.message}`);
        const ties = ref.top2.flat().filter(([p1, p2]) => (p1 - p2) / p1 < TIE).length;
        const out: Record<string, Agreement | PageError> = {};
        for (const [name, r] of Object.entries(res.ours)) {
          if (isError(r)) {
            console.log(`${info.project.name} ${family} ${label} ${name}: ${r.error.name}: ${r.error.message}`);
            out[name] = r.error;
            continue;
          }
          out[name] = agreement(ref, r);
          console.log(`${info.project.name} ${family} ${label} ${name}: agrees ${show(out[name] as Agreement)} [${r.seconds.toFixed(1)} s]`);
        }
        report[label] = { llamacppSeconds: ref.seconds, nearTies: ties, tokens: ref.tokens, ours: out, ...(ref.topK ? { topK: ref.topK } : {}) };
        return out;
      };
      const a32 = check('F32', f32);
      const a8 = check('Q8_0', q8);
      // The tie rule's yardstick: llama.cpp against itself with only its attention kernel changed
      // (flash attention off, where the run above has it on, or on where ORACLE_FA=0 turned it off).
      const other = await oracle(page, family, GgmlType.Q8_0, {}, '', 2, process.env.ORACLE_FA !== '0' ? false : true);
      if (!isError(other.llamacpp) && !isError(q8.llamacpp)) {
        const self = agreement(q8.llamacpp, { tokens: other.llamacpp.tokens, seconds: 0 });
        const clear = self.firstDiff.filter((d, p) => d >= 0 && self.margin[p]! >= TIE).length;
        console.log(`${info.project.name} ${family} Q8_0 llama.cpp flash attention ${process.env.ORACLE_FA !== '0' ? 'off' : 'on'} vs llama.cpp: agrees ${show(self)}; tie rule ${clear ? `fails at ${clear} of 3 prompts` : 'holds'}`);
        report['Q8_0 llama.cpp vs itself, other attention kernel'] = self;
      }
      const rounding = await roundingCheck(page, family, report, info.project.name);
      for (const [label, res] of Object.entries(reported)) check(label, res);
      mkdirSync('test-results/families-oracle', { recursive: true });
      writeFileSync(`test-results/families-oracle/${family}.json`, JSON.stringify(report, null, 1));

      for (const name of ['cpu', 'webgpu', 'cpu split 3']) {
        const a = a32[name];
        expect(a, `F32 ${name}`).toBeDefined();
        expect('firstDiff' in a! ? a.firstDiff : a, `F32 ${name} vs llama.cpp: first differing step per prompt`).toEqual([-1, -1, -1]);
      }
      const split = f32.ours['cpu split 3'];
      const single = f32.ours.cpu;
      if (!isError(split) && !isError(single)) expect(split!.tokens, '3-way CPU split vs one CPU backend').toEqual(single!.tokens);
      for (const name of ['cpu', 'webgpu']) {
        const a = a8[name];
        if (!a || !('firstDiff' in a)) throw new Error(`Q8_0 ${name}: ${JSON.stringify(a)}`);
        const clear = a.firstDiff.flatMap((d, p) => (d >= 0 && a.margin[p]! >= TIE ? [`prompt ${p} step ${d}`] : []));
        console.log(`${info.project.name} ${family} Q8_0 ${name}: tie rule ${clear.length ? `FAILS at ${clear.join(', ')}` : 'holds'}`);
        if (strictQ8) expect(clear, `Q8_0 ${name}: differences where llama.cpp's top-2 are not within 1%`).toEqual([]);
      }
      writeFileSync(`test-results/families-oracle/${family}.json`, JSON.stringify(report, null, 1));
      expect(rounding.rounded.agree, `${family} attention silenced, Q8_0 with ggml's rounding: greedy steps equal to llama.cpp's`).toBe(rounding.rounded.steps);
      expect(rounding.rounded.meanDistance, `${family} attention silenced: ggml's rounding brings us >= 5x closer to llama.cpp`).toBeLessThan(rounding.plain.meanDistance / 5);
    });
  }
});
