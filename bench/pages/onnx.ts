// One page, one adapter: tabshard (WebGPU and CPU backends, on the GGUF) against transformers.js
// (device 'webgpu' and 'wasm', on the ONNX folder exported from that GGUF, fp32 and q4 MatMulNBits).
// Every runtime gets the same prompt ids (our tokenizer's, so tokenizer differences cannot move the
// token count or the greedy path) and the same timing method as bench/onnx.ts: generate(1 new
// token) ≈ prefill, generate(1+D) − generate(1) = D decode steps, best of `reps` after a warm-up.
// ?model=/models/stories260K.gguf&onnx=stories260k&decode=60&reps=2 ; results in window.__onnx
// (read by bench/onnx-browser.ts). The ONNX folder is served under /bench-models/ by the driver.
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { Backend } from '../../src/engine/backend.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { generate } from '../../src/engine/generate.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { browserEnvironment } from '../../src/gpu/capabilities.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { ggmlType } from '../../src/quant/ggml-types.ts';

const q = new URLSearchParams(location.search);
const modelUrl = q.get('model') ?? '/models/stories260K.gguf';
const onnxName = q.get('onnx') ?? 'stories260k';
const DECODE = Number(q.get('decode') ?? 60);
const REPS = Number(q.get('reps') ?? 2);
const PROMPT = q.get('prompt') ?? 'Once upon a time';
const out = document.getElementById('out')!;
const log = (s: string) => (out.textContent += `${s}\n`);
const abs = (u: string): string => new URL(u, location.href).href;

export interface Rates { prefillTps: number; decodeTps: number; tokens: number[] }
export type Entry = { name: string; ok: true; rates: Rates } | { name: string; ok: false; error: string };

async function best(f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: pipelines / sessions compiled, buffers allocated
  let t = Infinity;
  for (let i = 0; i < REPS; i++) {
    const s = performance.now();
    await f();
    t = Math.min(t, performance.now() - s);
  }
  return t / 1000;
}

/** gen(n) must run the whole prompt and n greedy steps from an empty cache and return the new ids. */
async function rates(gen: (n: number) => Promise<number[]>, promptLen: number): Promise<Rates> {
  const one = await best(() => gen(1));
  const many = await best(() => gen(DECODE + 1));
  return { prefillTps: promptLen / one, decodeTps: DECODE / Math.max(1e-9, many - one), tokens: await gen(DECODE) };
}

async function attempt(name: string, f: () => Promise<Rates>): Promise<Entry> {
  try {
    const r = await f();
    log(`${name}: prefill ${r.prefillTps.toFixed(1)} tok/s, decode ${r.decodeTps.toFixed(1)} tok/s`);
    return { name, ok: true, rates: r };
  } catch (e) {
    const err = e as Error;
    const msg = `${err.name}: ${err.message}`;
    log(`${name}: FAILED ${msg}`);
    return { name, ok: false, error: msg };
  }
}

function oursWith(backend: Backend, tok: ReturnType<typeof tokenizerFromGguf>, ids: number[]) {
  // stopAtEog off: every runtime runs exactly n steps (transformers.js via min_new_tokens).
  return rates(async (n) => (await generate(backend, tok, { tokens: ids, maxTokens: n, stopAtEog: false })).tokens, ids.length);
}

// transformers.js fetches <localModelPath><name>/... from our own origin; nothing from the hub or a CDN.
env.allowLocalModels = true;
env.allowRemoteModels = false;
env.localModelPath = abs('/bench-models/');
env.useBrowserCache = false;
const wasm = env.backends.onnx.wasm!;
wasm.wasmPaths = { mjs: abs(ortMjs), wasm: abs(ortWasm) };
// One thread: our CPU backend is single-threaded JS, so WASM EP vs CPU is like for like.
wasm.numThreads = Number(q.get('threads') ?? 1);
wasm.proxy = false;

type Generate = (o: Record<string, unknown>) => Promise<{ tolist(): bigint[][] }>;

async function theirs(device: 'webgpu' | 'wasm', dtype: 'fp32' | 'q4', ids: number[]): Promise<Rates> {
  const model = await AutoModelForCausalLM.from_pretrained(onnxName, { device, dtype });
  try {
    const input_ids = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    // generate()'s declared parameter type is narrower than the options it accepts.
    const gen = (model.generate as unknown as Generate).bind(model);
    return await rates(async (n) => {
      const o = await gen({ input_ids, attention_mask, max_new_tokens: n, min_new_tokens: n, do_sample: false });
      return o.tolist()[0]!.slice(ids.length).map(Number);
    }, ids.length);
  } finally {
    await model.dispose();
  }
}

async function main() {
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const file = parseGguf(bytes);
  const tok = tokenizerFromGguf(file);
  const ids = tok.encode(PROMPT);
  const types = [...new Set(file.tensors.map((t) => ggmlType(t.type).name))].join(',');
  log(`model ${modelUrl} (${types}); prompt ${JSON.stringify(PROMPT)} = ${ids.length} ids; ${DECODE} decode steps; crossOriginIsolated=${crossOriginIsolated}`);
  const entries: Entry[] = [];
  const rt = await GpuRuntime.create(browserEnvironment());
  const adapter = rt.report.adapter?.description;
  entries.push(await attempt('tabshard-webgpu', async () => {
    const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: 256 });
    try { return await oursWith(be, tok, ids); } finally { be.dispose(); }
  }));
  rt.destroy();
  entries.push(await attempt('tabshard-cpu', async () => oursWith(await createCpuBackend(file, bytesSource(bytes), { nCtx: 256 }), tok, ids)));
  for (const device of ['webgpu', 'wasm'] as const) {
    for (const dtype of ['fp32', 'q4'] as const) entries.push(await attempt(`transformers-${device}-${dtype}`, () => theirs(device, dtype, ids)));
  }
  return { model: modelUrl, weightTypes: types, prompt: PROMPT, promptTokens: ids.length, decode: DECODE, reps: REPS, adapter, crossOriginIsolated, wasmThreads: wasm.numThreads, entries };
}

main().then(
  (r) => {
    (window as unknown as { __onnx: unknown }).__onnx = r;
    document.getElementById('status')!.textContent = 'done';
  },
  (e: Error) => {
    (window as unknown as { __onnx: unknown }).__onnx = { error: `${e.name}: ${e.message}` };
    document.getElementById('status')!.textContent = `${e.name}: ${e.message}`;
  },
);
