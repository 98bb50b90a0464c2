// The planner's budget for a CPU participant comes from the 4 GiB wasm32 memory: a Llama-2-7B-shaped
// model at Q8_0 (~6.7 GiB of weights, header only: no bytes behind it) is refused by the WASM
// backend's own checkFits as one slice, and planned across CPU tabs that each offer far more memory
// it gets ranges that checkFits accepts; on WebGPU participants the same offers hold it whole.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GgufFile, GgufKV, GgufTensorInfo } from '../../src/formats/gguf-types.ts';
import { configFromGguf } from '../../src/engine/config.ts';
import { sliceWeights } from '../../src/engine/weights.ts';
import { checkFits } from '../../src/engine/wasm/load.ts';
import { WASM_MAX_BYTES } from '../../src/engine/wasm/index.ts';
import { GgmlType } from '../../src/quant/ggml-types.ts';
import { modelCosts } from '../../src/shard/costs.ts';
import { CPU_PARTICIPANT_BUDGET, WASM_HEAP_ALLOWANCE } from '../../src/shard/cpu-budget.ts';
import { layerBudget, plan, type Participant } from '../../src/shard/planner.ts';
import { explain } from '../../src/ui/format.ts';

const GiB = 2 ** 30;
const S = { nEmbd: 4096, nFf: 11008, nLayer: 32, nHead: 32, nVocab: 32000 };

/** A GGUF header (metadata + tensor infos) of a llama model with every matrix at Q8_0. */
function header(): GgufFile {
  const kv = (key: string, type: number, value: GgufKV['value']): [string, GgufKV] => [key, { key, type: type as GgufKV['type'], value }];
  const metadata = new Map<string, GgufKV>([
    kv('general.architecture', 8, 'llama'), kv('llama.block_count', 4, S.nLayer), kv('llama.embedding_length', 4, S.nEmbd),
    kv('llama.feed_forward_length', 4, S.nFf), kv('llama.attention.head_count', 4, S.nHead), kv('llama.attention.head_count_kv', 4, S.nHead),
    kv('llama.context_length', 4, 4096), kv('llama.attention.layer_norm_rms_epsilon', 6, 1e-5),
  ]);
  const tensors: GgufTensorInfo[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], q8: boolean) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const byteSize = q8 ? (n / 32) * 34 : 4 * n;
    tensors.push({ name, shape, type: q8 ? GgmlType.Q8_0 : GgmlType.F32, typeName: q8 ? 'q8_0' : 'f32', nElements: n, offset, absoluteOffset: offset, byteSize } as GgufTensorInfo);
    offset += Math.ceil(byteSize / 32) * 32;
  };
  add('token_embd.weight', [S.nEmbd, S.nVocab], true);
  for (let l = 0; l < S.nLayer; l++) {
    add(`blk.${l}.attn_norm.weight`, [S.nEmbd], false);
    for (const r of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) add(`blk.${l}.${r}.weight`, [S.nEmbd, S.nEmbd], true);
    add(`blk.${l}.ffn_norm.weight`, [S.nEmbd], false);
    add(`blk.${l}.ffn_gate.weight`, [S.nEmbd, S.nFf], true);
    add(`blk.${l}.ffn_up.weight`, [S.nEmbd, S.nFf], true);
    add(`blk.${l}.ffn_down.weight`, [S.nFf, S.nEmbd], true);
  }
  add('output_norm.weight', [S.nEmbd], false);
  add('output.weight', [S.nEmbd, S.nVocab], true);
  return { version: 3, metadata, tensors, alignment: 32, headerSize: 0, dataOffset: 0, fileSize: offset };
}

/** __heap_base of the kernels module(s) as built: what sits below the first weight. */
async function heapBases(): Promise<number[]> {
  const out: number[] = [];
  for (const f of ['src/engine/wasm/kernels.wasm', 'src/engine/wasm/kernels-mt.wasm']) {
    if (!existsSync(f)) continue;
    const mod = await WebAssembly.compile(readFileSync(f));
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: f.includes('-mt') });
    const inst = await WebAssembly.instantiate(mod, { env: { memory } });
    out.push((inst.exports.__heap_base as WebAssembly.Global).value as number);
  }
  return out;
}

describe('CPU participants: budget from the 4 GiB WASM memory', () => {
  const file = header();
  const cfg = configFromGguf(file);
  const costs = modelCosts(file, { nCtx: 2048, kvBytesPerElement: 1 });
  const weights = costs.layerWeightBytes.reduce((a, b) => a + b, 0) + costs.embeddingBytes + costs.headBytes;

  it('the allowance covers the kernels\' heap base, and the budget is below 4 GiB', async () => {
    const bases = await heapBases();
    expect(bases.length).toBeGreaterThan(0);
    for (const b of bases) expect(b).toBeLessThan(WASM_HEAP_ALLOWANCE / 4);
    expect(CPU_PARTICIPANT_BUDGET).toBeLessThan(WASM_MAX_BYTES);
    expect(layerBudget(costs, { id: 'a', memoryBytes: 64 * GiB, backend: 'cpu', rttSeconds: 0, bandwidthBytesPerSecond: 1e8 })).toBe(CPU_PARTICIPANT_BUDGET);
    expect(layerBudget(costs, { id: 'a', memoryBytes: GiB, backend: 'cpu', rttSeconds: 0, bandwidthBytesPerSecond: 1e8 })).toBe(GiB);
    expect(layerBudget(costs, { id: 'a', memoryBytes: 64 * GiB, backend: 'webgpu', rttSeconds: 0, bandwidthBytesPerSecond: 1e8 })).toBe(64 * GiB);
  });

  it('one tab refuses the whole model; planned across CPU tabs each range fits one WASM memory', async () => {
    const heapBase = Math.max(...(await heapBases()));
    console.log(`weights ${(weights / GiB).toFixed(2)} GiB, CPU budget ${(CPU_PARTICIPANT_BUDGET / GiB).toFixed(3)} GiB, heap base ${heapBase}`);
    expect(weights).toBeGreaterThan(4 * GiB);
    let err: Error | undefined;
    try {
      checkFits(sliceWeights(file, cfg, { from: 0, to: cfg.nLayer, embed: true, head: true }), heapBase);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('WasmMemoryLimitError');
    expect(err?.message).toMatch(/shard it across tabs/);
    // What the app's load line shows for it (the name crosses the worker boundary intact).
    expect(explain(err)).toMatch(/^WasmMemoryLimitError: .* — Share across tabs: /);

    // Every tab offers 16 GiB (a desktop's RAM): only the WASM limit forces the split.
    const ps: Participant[] = ['coord', 'h1', 'h2', 'h3'].map((id, i) => ({
      id, memoryBytes: 16 * GiB, backend: 'cpu', coordinator: i === 0, rttSeconds: i ? 0.001 : 0, bandwidthBytesPerSecond: i ? 1e8 : Infinity,
    }));
    const p = plan(costs, ps, { strategy: 'layers' });
    console.log(p.stages.map((s) => `${s.participant} [${s.from}, ${s.to}) ${(s.memoryBytes / GiB).toFixed(2)} GiB`).join('; '));
    expect(p.stages.length).toBeGreaterThanOrEqual(2);
    expect(p.stages[0]!.from).toBe(0);
    expect(p.stages.at(-1)!.to).toBe(cfg.nLayer);
    for (const s of p.stages) {
      const coord = s.participant === 'coord';
      expect(s.memoryBytes + (coord ? costs.embeddingBytes + costs.headBytes : 0)).toBeLessThanOrEqual(CPU_PARTICIPANT_BUDGET);
      // What that participant's WASM backend would load: its layers, plus embedding and head on the coordinator.
      expect(() => checkFits(sliceWeights(file, cfg, { from: s.from, to: s.to, embed: coord, head: coord }), heapBase)).not.toThrow();
    }

    // The same offers on WebGPU: one participant holds it all (fewest participants).
    const gpu = plan(costs, ps.map((x) => ({ ...x, backend: 'webgpu' as const })), { strategy: 'layers' });
    expect(gpu.stages).toHaveLength(1);
  });

  it('two CPU tabs hold it between them; one CPU tab alone is infeasible', () => {
    const ps: Participant[] = ['coord', 'h1'].map((id, i) => ({ id, memoryBytes: 16 * GiB, backend: 'cpu', coordinator: i === 0, rttSeconds: 0, bandwidthBytesPerSecond: Infinity }));
    let err: Error & { missingBytes?: number } | undefined;
    try {
      plan(costs, ps, { strategy: 'layers' });
    } catch (e) {
      err = e as Error;
    }
    // Two 4 GiB memories hold ~8 GiB minus the coordinator's embedding and head: more than the
    // 6.7 GiB of weights plus KV, so this fits; one tab alone does not.
    expect(err).toBeUndefined();
    expect(() => plan(costs, ps.slice(0, 1), { strategy: 'layers' })).toThrow(/does not fit|cannot hold/);
  });
});
