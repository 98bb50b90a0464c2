// Our engine (CPU backend) vs transformers.js on the exported stories260K folder, in one Node run:
// transformers.js on onnxruntime-web's WASM execution provider (handed to transformers.js through
// its `Symbol.for('onnxruntime')` hook, so the same WASM build the browsers use, single-threaded as
// in a page without cross-origin isolation). Prefill (64-token prompt) and decode (60 greedy steps) tokens/s,
// reported as ratios to ours. Timing by difference: generate(1 new token) ≈ prefill,
// generate(61) − generate(1) = 60 decode steps; the same method for every runtime.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { generate } from '../src/engine/generate.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { tokenizerFromGguf } from '../src/engine/tokenizer/index.ts';
import { parseGguf } from '../src/formats/gguf-reader.ts';
import { bytesSource } from '../src/formats/range-source.ts';
import { exportOnnx } from '../src/onnx/export.ts';

const GGUF = 'test/fixtures/stories260K-f32.gguf';
const DECODE = 60;

interface Rates { prefillTps: number; decodeTps: number }

async function timed(f: () => Promise<unknown>, reps: number): Promise<number> {
  await f(); // warm-up
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

async function rates(gen: (newTokens: number) => Promise<unknown>, promptLen: number, reps: number): Promise<Rates> {
  const one = await timed(() => gen(1), reps);
  const many = await timed(() => gen(DECODE + 1), reps);
  return { prefillTps: promptLen / one, decodeTps: DECODE / Math.max(1e-9, many - one) };
}

type Pipe = (text: string, o: Record<string, unknown>) => Promise<unknown>;

async function transformersWasmRates(folder: string, prompt: string, promptLen: number, reps: number): Promise<Rates> {
  // transformers.js uses this runtime instead of onnxruntime-node when it is present at import time.
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = 1;
  // Its wasm from node_modules (file: URLs), never transformers.js's default CDN.
  web.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', import.meta.url).href;
  (globalThis as Record<symbol, unknown>)[Symbol.for('onnxruntime')] = web;
  const tj = await import('@huggingface/transformers');
  tj.env.allowRemoteModels = false;
  tj.env.useFSCache = false;
  tj.env.localModelPath = `${dirname(folder)}/`;
  // With a hooked runtime transformers.js lists no devices: 'auto' maps to none, and we name the EP.
  const pipe = (await tj.pipeline('text-generation', basename(folder), {
    dtype: 'fp32', device: 'auto', session_options: { executionProviders: ['wasm'] },
  })) as unknown as Pipe;
  return rates((n) => pipe(prompt, { max_new_tokens: n, min_new_tokens: n, do_sample: false }), promptLen, reps);
}

export async function run(args: string[]): Promise<unknown> {
  const reps = Number(args[0] ?? 3);
  const bytes = new Uint8Array(readFileSync(GGUF));
  const file = parseGguf(bytes);
  const tok = tokenizerFromGguf(file);
  // A 64-token prompt (the reference's teacher-forced text) so prefill is measurable.
  const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { text: string };
  const prompt = ref.text;
  const promptLen = tok.encode(prompt).length;
  const backend = await createCpuBackend(file, bytesSource(bytes));
  const ours = await rates((n) => generate(backend, tok, { prompt, maxTokens: n }), promptLen, reps);

  const dir = mkdtempSync(join(tmpdir(), 'tabshard-bench-onnx-'));
  try {
    const folder = join(dir, 'stories260k');
    await exportOnnx(GGUF, folder, { formats: ['f32'] });
    const wasm = await transformersWasmRates(folder, prompt, promptLen, reps);
    const result = {
      model: 'stories260K-f32', promptTokens: promptLen, decodeTokens: DECODE, reps,
      ours, transformersWasm: wasm,
      ratios: {
        prefill_transformersWasm_over_ours: wasm.prefillTps / ours.prefillTps,
        decode_transformersWasm_over_ours: wasm.decodeTps / ours.decodeTps,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
