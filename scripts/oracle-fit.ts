// Fits how llama.cpp rounds on a family model: replays llama.cpp's greedy tokens (the family
// oracle's JSON, recorded with ORACLE_TOPK=8) through tabshard's TypeScript reference with one
// activation-rounding variant (e2e/ggml-rounding.ts) and prints the greedy agreement and the mean
// |log p ours - log p llama.cpp| over llama.cpp's top-k ids. The F32 file gives the floor.
import { readFileSync } from 'node:fs';
import { syntheticFamilyGguf } from '../src/engine/synthetic/families.ts';
import { FAMILIES, type Family } from '../src/engine/synthetic/shapes.ts';
import { parseRounding, replayWithRounding } from '../e2e/ggml-rounding.ts';

const USAGE = `usage: node scripts/oracle-fit.ts FAMILY TYPE [VARIANT] [--json FILE] [--silence REGEX]
  FAMILY     ${FAMILIES.join('|')}
  TYPE       ggml type of the weights: 0 (F32), 8 (Q8_0), 12 (Q4_K), 10 (Q2_K)
  VARIANT    4 letters: how activations are rounded before each matmul in decode rows, prefill
             rows in groups of 4, the other prefill rows, and the head: n none, r q8_0 rounded,
             t q8_0 truncated, h f16, k q8_K-style. Default nnnn; ggml's Q8_0 path is rrrr.
  --json     the oracle JSON (default test-results/families-oracle/FAMILY.json, written by
             ORACLE_TOPK=8 FAMILIES=FAMILY npx playwright test e2e/families.spec.ts)
  --silence  with the JSON's "silenced" run: zero these tensors as the spec did (attn_output)
  --ggml-arith  also make llama.cpp's roundings in RoPE, attention (f16 q, own K/V and
             probabilities: its non-flash path, so record the oracle with ORACLE_FA=0) and GELU
             (its f16 table): src/engine/cpu/ggml-arith.ts
  PERSTEP=1  print the distance per prompt and step`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.length < 2) {
  console.log(USAGE);
  process.exit(args.includes('--help') ? 0 : 2);
}
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const family = args[0] as Family;
if (!FAMILIES.includes(family)) throw new Error(`unknown family ${family}`);
const type = Number(args[1]);
const variant = args[2] && !args[2].startsWith('--') ? args[2] : 'nnnn';
const oracle = JSON.parse(readFileSync(flag('--json') ?? `test-results/families-oracle/${family}.json`, 'utf8'));
const silence = flag('--silence');
const label = silence ? `${type === 8 ? 'Q8_0' : 'F32'} silenced` : ({ 0: 'F32', 8: 'Q8_0', 12: 'Q4_K', 10: 'Q2_K' } as Record<number, string>)[type];
const ref = label ? oracle[label] : undefined;
if (!ref?.topK) throw new Error(`no ${label ?? type} top-k data in the oracle JSON: record it with ORACLE_TOPK=8`);
const bytes = syntheticFamilyGguf(family, { type, seed: oracle.seed, silence: silence ? new RegExp(silence) : undefined });
const r = await replayWithRounding(bytes, oracle.prompts, ref, parseRounding(variant), { ggmlArith: args.includes('--ggml-arith') });
if (process.env.PERSTEP) for (const row of r.perStep) console.log(row.map((v) => v.toExponential(1)).join(" "));
console.log(`${family} ${label} ${variant}: greedy agrees ${r.agree}/${r.steps}, mean |dlogp| ${r.meanDistance.toExponential(2)}${r.misses.length ? `; differs at ${r.misses.map((m) => `p${m.prompt}s${m.step} (margin ${(100 * m.margin).toFixed(2)}%)`).join(', ')}` : ''}`);
