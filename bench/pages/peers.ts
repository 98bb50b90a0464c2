// Side by side in one page: tabshard's WebGPU engine and wllama (llama.cpp in WASM, CPU threads)
// on the same GGUF bytes: 16-token prefill then 32 greedy decode steps, as ANCHORS.md measured
// wllama. ?model=URL&threads=2&decode=32. Results in window.__peers (read by bench/peers.ts).
// The package has no exports map and ships its TS sources at the root; use its built ESM.
import { Wllama } from '@wllama/wllama/esm/index.js';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { browserEnvironment } from '../../src/gpu/capabilities.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';

const q = new URLSearchParams(location.search);
const modelUrl = q.get('model') ?? '../../models/stories260K.gguf';
const threads = Number(q.get('threads') ?? 2);
const decode = Number(q.get('decode') ?? 32);
const PREFILL = 16;
const out = document.getElementById('out')!;
const log = (s: string) => (out.textContent += `${s}\n`);

async function ours(bytes: Uint8Array) {
  const rt = await GpuRuntime.create(browserEnvironment());
  const be = await createGpuBackend(parseGguf(bytes), bytesSource(bytes), { runtime: rt, nCtx: 256 });
  const toks = Array.from({ length: PREFILL }, (_, i) => 1 + ((i * 7919) % (be.config.nVocab - 1)));
  await be.forward(toks.slice(0, 2), 0); // warm-up: pipelines compiled
  let t = performance.now();
  let logits = await be.forward(toks, 0);
  const prefill = PREFILL / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < decode; i++) {
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    logits = await be.forward([best], PREFILL + i);
  }
  const dec = decode / ((performance.now() - t) / 1000);
  be.dispose();
  rt.destroy();
  return { prefillTps: prefill, decodeTps: dec, adapter: rt.report.adapter?.description };
}

async function wllama(bytes: Uint8Array) {
  const w = new Wllama({ default: wllamaWasm }, { suppressNativeLog: true });
  await w.loadModel([new Blob([bytes as BlobPart])], { n_ctx: 256, n_threads: threads, n_gpu_layers: 0, seed: 1 });
  const prompt = 'Once upon a time, there was a little girl named Lily who';
  const res = (await w.createCompletion({ prompt, max_tokens: decode, temperature: 0, cache_prompt: false, ignore_eos: true } as never)) as unknown as {
    timings?: { prompt_per_second: number; predicted_per_second: number; prompt_n?: number };
  };
  await w.exit();
  return { prefillTps: res.timings?.prompt_per_second ?? NaN, decodeTps: res.timings?.predicted_per_second ?? NaN, threads, crossOriginIsolated };
}

async function main() {
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  log(`model ${modelUrl}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB; crossOriginIsolated=${crossOriginIsolated}`);
  const a = await ours(bytes);
  log(`tabshard WebGPU (${a.adapter}): prefill ${a.prefillTps.toFixed(1)} tok/s, decode ${a.decodeTps.toFixed(1)} tok/s`);
  const b = await wllama(bytes);
  log(`wllama WASM x${threads}: prefill ${b.prefillTps.toFixed(1)} tok/s, decode ${b.decodeTps.toFixed(1)} tok/s`);
  return { model: modelUrl, bytes: bytes.length, tabshard: a, wllama: b, ratio: { prefill: a.prefillTps / b.prefillTps, decode: a.decodeTps / b.decodeTps } };
}

main().then(
  (r) => {
    (window as unknown as { __peers: unknown }).__peers = r;
    document.getElementById('status')!.textContent = 'done';
  },
  (e: Error) => {
    (window as unknown as { __peers: unknown }).__peers = { error: `${e.name}: ${e.message}` };
    document.getElementById('status')!.textContent = `${e.name}: ${e.message}`;
  },
);
