// The decode fusions (src/engine/gpu/fused.ts) change no output: on every fixture the fused (with
// RMSNorm folded into the matvecs, and with it kept as its own dispatch as on SwiftShader) and
// unfused WebGPU backends give the same greedy tokens with logits equal to f32 rounding; and a
// decode token of the demo model takes the number of dispatches the graph implies, so a lost
// fusion (or an extra op) is caught.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../../src/gpu/node.ts';
import { createGpuBackend, type GpuBackend } from '../../src/engine/gpu/index.ts';
import type { KvOptions } from '../../src/engine/kv/layout.ts';
import { FAMILIES, syntheticFamilyGguf } from '../../src/engine/synthetic/families.ts';
import { GgmlType } from '../../src/quant/ggml-types.ts';
import { GRAPHS } from '../../src/engine/gpu/graph-bench.ts';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await GpuRuntime.create(await nodeGpuEnvironment());
});
afterAll(() => rt?.destroy());

/** The three decode graphs: every fusion, every fusion but the norm fold, none. */
type Graph = (typeof GRAPHS)[number];

async function backend(path: string | Uint8Array, g: Graph, kv?: KvOptions): Promise<GpuBackend> {
  const bytes = typeof path === 'string' ? new Uint8Array(readFileSync(path)) : path;
  return createGpuBackend(parseGguf(bytes), bytesSource(bytes), { runtime: rt, nCtx: 64, kv, fuse: g.fuse, fuseNorm: g.fuseNorm });
}

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

/** Prefill a prompt, then decode greedily; the tokens and each step's logits. */
async function greedy(be: GpuBackend, prompt: number[], n: number): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  let l = await be.forward(prompt, 0);
  const tokens: number[] = [];
  const logits: Float32Array[] = [l];
  for (let i = 0; i < n; i++) {
    tokens.push(argmax(l));
    l = await be.forward([tokens[i]!], prompt.length + i);
    logits.push(l);
  }
  return { tokens, logits };
}

async function compareFused(name: string, file: string | Uint8Array, prompt: number[], kv: KvOptions): Promise<void> {
  const runs = [];
  for (const g of GRAPHS) {
    const be = await backend(file, g, kv);
    try {
      expect(be.fuseNorm).toBe(g.fuseNorm);
      runs.push(await greedy(be, prompt, 24));
    } finally {
      be.dispose();
    }
  }
  const b = runs[2]!;
  for (const [k, a] of runs.slice(0, 2).entries()) {
    let worst = 0;
    a.logits.forEach((l, i) => {
      const m = Math.max(...b.logits[i]!.map(Math.abs));
      for (let j = 0; j < l.length; j++) worst = Math.max(worst, Math.abs(l[j]! - b.logits[i]![j]!) / m);
    });
    console.log(`${name}: ${a.tokens.join(' ')}; ${GRAPHS[k]!.graph} vs unfused max relative logit difference ${worst.toExponential(2)}`);
    expect(a.tokens).toEqual(b.tokens);
    // Same f32 operations in the same order; only FMA contraction may differ between shaders.
    expect(worst).toBeLessThan(1e-5);
  }
}

describe('fused and unfused decode agree', () => {
  // Every family's per-head parts (biases, q/k norms, NEOX and partial RoPE) through head_prep,
  // with the q4 KV mode's Hadamard rotation where the head size allows it.
  for (const family of FAMILIES) {
    it(`synthetic ${family} (Q8_0, KV q4): same greedy tokens, logits within f32 rounding`, async () => {
      await compareFused(family, syntheticFamilyGguf(family, { type: GgmlType.Q8_0, seed: 1 }), [1, 300, 301, 302, 303], { mode: 'q4' });
    }, 120_000);
  }
  for (const name of ['stories260K-f32', 'stories260K-pad256-q8_0', 'stories260K-pad256-q6_k', 'stories260K-pad256-q4_k', 'stories260K-pad256-q3_k', 'stories260K-pad256-q2_k']) {
    it(`${name}: same greedy tokens, logits within f32 rounding`, async () => {
      await compareFused(name, `test/fixtures/${name}.gguf`, [1, 403, 407, 261, 378], { mode: 'f16' });
    }, 120_000);
  }
});

it('a demo-model decode token takes the dispatches the graph implies, fused and not', async () => {
  for (const g of GRAPHS) {
    const { fuse, fuseNorm } = g;
    const be = await backend('public/models/stories260K.gguf', g);
    try {
      await be.forward([1, 403, 407], 0);
      await be.forward([261], 3);
      await be.forward([378], 4);
      const w = be.lastWork;
      const c = be.config;
      const L = c.nLayer;
      // Per layer, both ways: attention (1). Unfused: RoPE on q and k (2); K and V appended to the
      // cache (2 ring stores; no position reaches the quantized part here); when the KV mode
      // rotates, the rotation of q, k, v and of the attention output (4). Fused: head_prep does
      // RoPE and the q/k/v rotation in one (1); attention rotates its output itself; one ring
      // store takes K and V (1).
      const rot = be.kvLayout.rotate;
      const shared = 1 + (fuse ? 1 + 1 : 2 + 2 + (rot ? 4 : 0));
      // Unfused: rmsnorm, q, k, v; o, add; rmsnorm, gate, up, silu_mul; down, add. Head: rmsnorm, output.
      // Fused: norm+q|k|v (one routed matvec); o+add; norm+gate|up+silu; down+add. Head: norm+output.
      // Fused with the norm apart: the two rmsnorms and the head's come back.
      const perLayer = fuse ? shared + 4 + (fuseNorm ? 0 : 2) : shared + 12;
      const head = fuse && fuseNorm ? 1 : 2;
      const expected = 1 + L * perLayer + head;
      console.log(`demo decode token, ${g.graph}: ${JSON.stringify(w)}; expected dispatches 1 + ${L} x ${perLayer} + ${head} = ${expected}`);
      expect(w.dispatches).toBe(expected);
      expect(w.bindGroups).toBe(0);
      expect(w.uniformWrites).toBe(1);
    } finally {
      be.dispose();
    }
  }
}, 120_000);

it('the norm fold is off by default on SwiftShader (this adapter), and never on without fusions', async () => {
  const bytes = new Uint8Array(readFileSync('public/models/stories260K.gguf'));
  const file = parseGguf(bytes);
  const report = rt.report.adapter;
  console.log(`adapter: ${JSON.stringify(report)}`);
  const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: 64 });
  const off = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: 64, fuse: false, fuseNorm: true });
  try {
    expect(be.fuse).toBe(true);
    expect(be.fuseNorm).toBe(false);
    expect(off.fuseNorm).toBe(false);
  } finally {
    be.dispose();
    off.dispose();
  }
});
