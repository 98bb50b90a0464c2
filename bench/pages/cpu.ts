// One engine, one GGUF, one thread count per page load (bench/cpu.ts opens a fresh page for each,
// so each page's memory is its own): ?engine=wasm|wllama&model=URL&threads=N&prefill=16&decode=32.
// The page must be cross-origin isolated for N > 1 (bench/cpu.ts serves COOP/COEP); the result says
// how many threads really ran. The file is fetched into a Blob for both engines (as ANCHORS.md ran
// wllama): ours reads it by ranges, tensor by tensor, into WASM memory. Results in window.__cpu.
import { Wllama } from '@wllama/wllama/esm/index.js';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { readGgufHeader } from '../../src/formats/gguf-reader.ts';
import type { RangeSource } from '../../src/formats/range-source.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';

const q = new URLSearchParams(location.search);
const engine = q.get('engine') ?? 'wasm';
const modelUrl = q.get('model')!;
const threads = Number(q.get('threads') ?? 2);
const prefill = Number(q.get('prefill') ?? 16);
const decode = Number(q.get('decode') ?? 32);

function blobSource(blob: Blob): RangeSource {
  return { size: blob.size, read: async (o, n) => new Uint8Array(await blob.slice(o, o + n).arrayBuffer()) };
}

/** Prefill `prefill` ids in one batch, then `decode` single steps, as llama.cpp's timings count them. */
async function ours(blob: Blob) {
  const t0 = performance.now();
  const src = blobSource(blob);
  const be = await createWasmBackend(await readGgufHeader(src), src, { nCtx: Math.max(256, prefill + decode), threads });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const ids = Array.from({ length: prefill }, (_, i) => (i === 0 ? 1 : 300 + ((i * 7919) % 1000)));
    let t = performance.now();
    let logits = await be.forward(ids, 0);
    const prefillTps = prefill / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < decode; i++) {
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
      logits = await be.forward([best], prefill + i);
    }
    const decodeTps = decode / ((performance.now() - t) / 1000);
    return { prefillTps, decodeTps, loadSeconds, cpuPath: be.cpuPath, weightsBytes: be.memory().weights, fileTensorBytes: be.fileBytes };
  } finally {
    be.dispose();
  }
}

/** wllama as ANCHORS.md drove it; the prompt is BOS + prefill-1 synthetic pieces ('a0 b0 ...'). */
async function wllama(blob: Blob) {
  const t0 = performance.now();
  const w = new Wllama({ default: wllamaWasm }, { suppressNativeLog: true });
  await w.loadModel([blob], { n_ctx: Math.max(256, prefill + decode), n_threads: threads, n_gpu_layers: 0, seed: 1 });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const prompt = Array.from({ length: prefill - 1 }, (_, i) => `${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26)}`).join(' ');
    const res = (await w.createCompletion({ prompt, max_tokens: decode, temperature: 0, cache_prompt: false, ignore_eos: true } as never)) as unknown as {
      timings?: { prompt_per_second: number; predicted_per_second: number; prompt_n?: number; predicted_n?: number };
    };
    return { prefillTps: res.timings?.prompt_per_second ?? NaN, decodeTps: res.timings?.predicted_per_second ?? NaN, loadSeconds, promptTokens: res.timings?.prompt_n, decoded: res.timings?.predicted_n };
  } finally {
    await w.exit();
  }
}

const out = document.getElementById('out')!;
const status = document.getElementById('status')!;
(async () => {
  try {
    const blob = await (await fetch(modelUrl)).blob();
    const r = engine === 'wllama' ? await wllama(blob) : await ours(blob);
    const result = { engine, threads, crossOriginIsolated, ...r };
    out.textContent = JSON.stringify(result, null, 2);
    (window as unknown as { __cpu: unknown }).__cpu = result;
    status.textContent = 'done';
  } catch (err) {
    (window as unknown as { __cpu: unknown }).__cpu = { error: `${(err as Error).name}: ${(err as Error).message}` };
    status.textContent = 'failed';
  }
})();
