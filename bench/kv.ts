// `npm run bench -- kv [--quick] [--cpu-only]`: the compressed KV cache, per mode, side by side in one run:
//  1. KV bytes at 512/2k/4k tokens (everything included, from the layouts the engine allocates)
//     on real shapes, against f16;
//  2. decode tokens/s at those lengths on a synthetic model with a real attention shape
//     (TinyLlama-like: 32 heads, 4 KV heads of 64; random Q4_K weights; 2 layers), against f16,
//     on the WebGPU backend and on the CPU backend;
//  3. KL divergence and top-1 agreement against the f16-KV run on the fixture models over their
//     reference sequences (teacher-forced decode, one token per forward).
import { readFileSync } from 'node:fs';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import { writeGguf, type GgufWriteTensor } from '../src/formats/gguf-writer.ts';
import { GgufValueType, type GgufKV } from '../src/formats/gguf-types.ts';
import { createCpuBackend, type CpuBackend } from '../src/engine/cpu/index.ts';
import { createGpuBackend } from '../src/engine/gpu/index.ts';
import { randomTensorBytes } from '../src/gpu/quant-checks.ts';
import { bitsPerElement, describeKv, layerKvBytes, resolveKvLayout, KV_MODES, type KvMode } from '../src/engine/kv/layout.ts';
import { compareLogits, decodeLogits } from '../src/engine/kv/quality.ts';
import { rng } from '../src/util/random.ts';

const MODES = KV_MODES.filter((m) => m !== 'f32');
const LENGTHS = [512, 2048, 4096];
const SHAPES = {
  'llama3-8b': { nLayer: 32, nHeadKv: 8, headDimK: 128, headDimV: 128 },
  'tinyllama-1.1b': { nLayer: 22, nHeadKv: 4, headDimK: 64, headDimV: 64 },
};

function bytesTable() {
  const rows: Record<string, unknown>[] = [];
  for (const [shape, s] of Object.entries(SHAPES)) {
    for (const nCtx of LENGTHS) {
      const f16 = layerKvBytes(resolveKvLayout({ mode: 'f16' }, { nCtx, ...s })) * s.nLayer;
      const line: string[] = [];
      for (const mode of MODES) {
        const L = resolveKvLayout({ mode }, { nCtx, ...s });
        const bytes = layerKvBytes(L) * s.nLayer;
        rows.push({ shape, tokens: nCtx, mode, bytes, bitsPerElement: bitsPerElement(L), vsF16: bytes / f16, smallerThanF16: 1 - bytes / f16, layout: describeKv(L) });
        line.push(`${mode} ${(bytes / 2 ** 20).toFixed(1)} MiB ${(100 * (1 - bytes / f16)).toFixed(1)}% smaller (${bitsPerElement(L).toFixed(3)} b/el)`);
      }
      console.log(`${shape} @${nCtx}: ${line.join(', ')}`);
    }
  }
  return rows;
}

/** A llama GGUF with random Q4_K weights and a real attention shape. */
function syntheticModel(nCtx: number): Uint8Array {
  const E = 2048;
  const H = 32;
  const HKV = 4;
  const D = 64;
  const F = 5632;
  const V = 2048;
  const nLayer = 2;
  const next = rng(7);
  const q4k = (name: string, cols: number, rows: number): GgufWriteTensor => ({ name, shape: [cols, rows], type: 12, data: randomTensorBytes(12, rows, cols, next) });
  const norm = (name: string): GgufWriteTensor => ({ name, shape: [E], type: 0, data: new Uint8Array(new Float32Array(E).fill(1).buffer) });
  const tensors: GgufWriteTensor[] = [q4k('token_embd.weight', E, V), norm('output_norm.weight')];
  for (let l = 0; l < nLayer; l++) {
    const b = `blk.${l}.`;
    tensors.push(norm(`${b}attn_norm.weight`), norm(`${b}ffn_norm.weight`));
    tensors.push(q4k(`${b}attn_q.weight`, E, H * D), q4k(`${b}attn_k.weight`, E, HKV * D), q4k(`${b}attn_v.weight`, E, HKV * D), q4k(`${b}attn_output.weight`, H * D, E));
    tensors.push(q4k(`${b}ffn_gate.weight`, E, F), q4k(`${b}ffn_up.weight`, E, F), q4k(`${b}ffn_down.weight`, F, E));
  }
  const u32 = (key: string, value: number): GgufKV => ({ key, type: GgufValueType.U32, value });
  const metadata: GgufKV[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    u32('llama.context_length', nCtx), u32('llama.embedding_length', E), u32('llama.block_count', nLayer),
    u32('llama.feed_forward_length', F), u32('llama.attention.head_count', H), u32('llama.attention.head_count_kv', HKV),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufValueType.F32, value: 1e-5 },
  ];
  return writeGguf({ metadata, tensors });
}

async function decodeSpeed(rt: GpuRuntime, quick: boolean) {
  const lengths = quick ? [512, 2048] : LENGTHS;
  const bytes = syntheticModel(Math.max(...lengths));
  const file = parseGguf(bytes);
  const rows: Record<string, unknown>[] = [];
  const steps = quick ? 3 : 6;
  for (const n of lengths) {
    const line: string[] = [];
    let f16Rate = 0;
    for (const mode of MODES) {
      const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: n, batch: 1, kv: { mode } });
      try {
        be.kvAssumeFilled(n - 1);
        await be.forward([1], n - 1); // warm: pipelines
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) await be.forward([1 + i], n - 1);
        const rate = steps / ((performance.now() - t0) / 1000);
        if (mode === 'f16') f16Rate = rate;
        rows.push({ tokens: n, mode, tokensPerSecond: rate, vsF16: rate / f16Rate, kvBytes: be.memory().kv });
        line.push(`${mode} ${rate.toFixed(2)} tok/s (${(rate / f16Rate).toFixed(2)}x f16)`);
      } finally {
        be.dispose();
      }
    }
    console.log(`decode @${n}: ${line.join(', ')}`);
  }
  return rows;
}

/**
 * The same decode on the CPU backend (Node CLI, WebKit, CPU shard participants): the weights are
 * dequantized to f32 at load, so the matmuls cost the same in every mode and the ratio shows what
 * reading a compressed cache costs or saves in the CPU attention. The modes' backends are held
 * side by side and timed in interleaved rounds, best round each, so that load from other
 * processes on the machine hits every mode alike.
 */
async function cpuDecodeSpeed(quick: boolean) {
  const lengths = quick ? [512, 2048] : LENGTHS;
  const bytes = syntheticModel(Math.max(...lengths));
  const file = parseGguf(bytes);
  const rows: Record<string, unknown>[] = [];
  const steps = quick ? 2 : 4;
  const rounds = quick ? 2 : 3;
  for (const n of lengths) {
    const bes = new Map<KvMode, CpuBackend>();
    try {
      for (const mode of MODES) {
        const be = await createCpuBackend(file, bytesSource(bytes), { nCtx: n, kv: { mode } });
        bes.set(mode, be);
        be.kvAssumeFilled(n - 1);
        await be.forward([1], n - 1); // warm: the JIT
      }
      const best = new Map<KvMode, number>();
      for (let r = 0; r < rounds; r++) {
        for (const [mode, be] of bes) {
          const t0 = performance.now();
          for (let i = 0; i < steps; i++) await be.forward([1 + i], n - 1);
          best.set(mode, Math.max(best.get(mode) ?? 0, steps / ((performance.now() - t0) / 1000)));
        }
      }
      const f16Rate = best.get('f16')!;
      const line: string[] = [];
      for (const [mode, rate] of best) {
        rows.push({ tokens: n, mode, tokensPerSecond: rate, vsF16: rate / f16Rate, kvBytes: bes.get(mode)!.memory().kv });
        line.push(`${mode} ${rate.toFixed(2)} tok/s (${(rate / f16Rate).toFixed(2)}x f16)`);
      }
      console.log(`cpu decode @${n}: ${line.join(', ')}`);
    } finally {
      for (const be of bes.values()) be.dispose();
    }
  }
  return rows;
}

async function quality(rt: GpuRuntime, quick: boolean) {
  const models = quick ? ['stories260K-f32'] : ['stories260K-f32', 'stories260K-pad256-q4_k', 'stories260K-pad256-q2_k'];
  const rows: Record<string, unknown>[] = [];
  for (const name of models) {
    const bytes = new Uint8Array(readFileSync(`test/fixtures/${name}.gguf`));
    const file = parseGguf(bytes);
    const seq = (JSON.parse(readFileSync(`test/fixtures/ref/${name}.json`, 'utf8')) as { sequence: number[] }).sequence.slice(0, 64);
    const runs = new Map<KvMode, Float32Array>();
    for (const mode of ['f16', 'q8', 'q4', 'q3', 'q2'] as KvMode[]) {
      const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, kv: { mode } });
      try {
        runs.set(mode, await decodeLogits(be, seq));
        if (mode === 'f16') continue;
        const q = compareLogits(runs.get('f16')!, runs.get(mode)!, be.config.nVocab);
        rows.push({ model: name, mode, layout: describeKv(be.kvLayout), ...q });
        console.log(`${name} ${mode} vs f16: KL mean ${q.klMean.toExponential(2)} max ${q.klMax.toExponential(2)}, top-1 ${(100 * q.top1).toFixed(1)}% (${describeKv(be.kvLayout)})`);
      } finally {
        be.dispose();
      }
    }
  }
  return rows;
}

export async function run(args: string[]) {
  const quick = args.includes('--quick');
  // --cpu-only: the byte table and the CPU decode rows, without a GPU (where only a software adapter exists).
  if (args.includes('--cpu-only')) return { bytes: bytesTable(), decodeCpu: await cpuDecodeSpeed(quick) };
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const a = rt.report.adapter;
  console.log(`adapter: ${a?.vendor} ${a?.architecture} ${a?.description}`);
  try {
    const bytes = bytesTable();
    const decode = await decodeSpeed(rt, quick);
    const decodeCpu = await cpuDecodeSpeed(quick);
    const q = await quality(rt, quick);
    return { adapter: a, bytes, decode, decodeCpu, quality: q };
  } finally {
    rt.destroy();
  }
}
