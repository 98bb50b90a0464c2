// Fits how llama.cpp rounds on a quantized family model: replays llama.cpp's greedy tokens (from the
// family oracle's JSON, recorded with ORACLE_TOPK=8) through tabshard's TypeScript reference backend
// with one activation-quantization variant, and prints the agreement and the mean |log p ours -
// log p llama.cpp| over llama.cpp's top-k ids. The F32 file gives the floor (f16 KV, summation
// order); a variant that reproduces ggml's arithmetic would come down to it. Written by hand: no
// library replays llama.cpp's rounding, and this is a study tool, not part of the engine.
import { readFileSync } from 'node:fs';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import { createCpuBackend } from '../src/engine/cpu/backend.ts';
import { syntheticFamilyGguf } from '../src/engine/synthetic/families.ts';
import { FAMILIES, type Family } from '../src/engine/synthetic/shapes.ts';
import { roundToF16 } from '../src/quant/f16.ts';
import type { MatmulFn } from '../src/engine/graph.ts';

const USAGE = `usage: node scripts/oracle-fit.ts FAMILY TYPE [VARIANT] [--json FILE]
  FAMILY   ${FAMILIES.join('|')}
  TYPE     ggml type of the weights: 0 (F32), 8 (Q8_0), 12 (Q4_K), 10 (Q2_K)
  VARIANT  4 letters: how activations are rounded to q8_0 (blocks of 32, d = amax/127 as f16) in
           decode rows, prefill rows in groups of 4, the remaining prefill rows, and the head:
           n none, r round half away, t truncate, h f16 only, k q8_K (blocks of 256). Default nnnn.
  --json   the oracle JSON (default test-results/families-oracle/FAMILY.json from
           ORACLE_TOPK=8 FAMILIES=FAMILY npx playwright test e2e/families.spec.ts)`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.length < 2) {
  console.log(USAGE);
  process.exit(args.includes('--help') ? 0 : 2);
}
const family = args[0] as Family;
const type = Number(args[1]);
const variant = args[2] && !args[2].startsWith('--') ? args[2] : 'nnnn';
const jsonAt = args.indexOf('--json');
const oracle = JSON.parse(readFileSync(jsonAt >= 0 ? args[jsonAt + 1]! : `test-results/families-oracle/${family}.json`, 'utf8'));
const label = ({ 0: 'F32', 8: 'Q8_0', 12: 'Q4_K', 10: 'Q2_K' } as Record<number, string>)[type];
const ref = label ? oracle[label] : undefined;
if (!ref?.topK) throw new Error(`no ${label ?? type} top-k data in the oracle JSON: record it with ORACLE_TOPK=8`);

function roundAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/** One row of n activations as the variant letter rounds them (in place into o). */
function roundRow(x: Float32Array, o: Float32Array, off: number, n: number, m: string): void {
  if (m === 'n' || m === 'h') {
    for (let i = off; i < off + n; i++) o[i] = m === 'h' ? roundToF16(x[i]!) : x[i]!;
    return;
  }
  const qk = m === 'k' ? 256 : 32;
  for (let b = off; b < off + n; b += qk) {
    let amax = 0;
    for (let j = 0; j < qk; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const dq = m === 'k' ? d : roundToF16(d);
    for (let j = 0; j < qk; j++) {
      const v = Math.fround(x[b + j]! * id);
      o[b + j] = (m === 't' ? Math.trunc(v) : roundAway(v)) * dq;
    }
  }
}

const bytes = syntheticFamilyGguf(family, { type, seed: oracle.seed });
const be = await createCpuBackend(parseGguf(bytes), bytesSource(bytes), { nCtx: 256, kv: { mode: 'f16' } });
const plain: MatmulFn<Float32Array> = be.matmul;
let inHead = false;
const [dec, pre4, rem, head] = variant.split('');
const rounded: MatmulFn<Float32Array> = (y, x, w, nTok, nIn, nOut) => {
  const o = new Float32Array(x.length);
  const full = nTok - (nTok % 4);
  for (let t = 0; t < nTok; t++) roundRow(x, o, t * nIn, nIn, inHead ? head! : nTok === 1 ? dec! : t < full ? pre4! : rem!);
  plain(y, o, w, nTok, nIn, nOut);
};
Object.assign(be, { matmul: rounded });
const headOf = be.head.bind(be);
Object.assign(be, {
  head: async (h: Float32Array, n: number, all?: boolean) => {
    inHead = true;
    try {
      return await headOf(h, n, all);
    } finally {
      inHead = false;
    }
  },
});

let agree = 0;
let err = 0;
let nErr = 0;
const lines: string[] = [];
for (const [pi, p] of (oracle.prompts as number[][]).entries()) {
  be.truncate(0);
  let logits = await be.forward([1, ...p], 0);
  let pos = p.length + 1;
  let line = '';
  for (let s = 0; s < ref.tokens[pi].length; s++) {
    let best = 0;
    let mx = -Infinity;
    for (let i = 0; i < logits.length; i++) if (logits[i]! > mx) (mx = logits[i]!), (best = i);
    let z = 0;
    for (const v of logits) z += Math.exp(v - mx);
    for (const { id, p: pr } of ref.topK[pi][s] as { id: number; p: number }[]) {
      if (pr < 1e-3) continue;
      err += Math.abs(logits[id]! - mx - Math.log(z) - Math.log(pr));
      nErr++;
    }
    line += best === ref.tokens[pi][s] ? '.' : 'x';
    if (best === ref.tokens[pi][s]) agree++;
    logits = await be.forward([ref.tokens[pi][s]], pos++); // llama.cpp's token, whatever ours was
  }
  lines.push(line);
}
console.log(`${family} ${label} ${variant}: greedy agrees ${agree}/${lines.join('').length} [${lines.join(' ')}], mean |dlogp| ${(err / nErr).toExponential(2)}`);
