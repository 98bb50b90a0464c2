// One page, one adapter: tabshard (WebGPU and CPU backends, on one or more GGUFs) against
// transformers.js (device 'webgpu' and 'wasm', on the ONNX folder exported from a GGUF, fp32 and/or
// q4 MatMulNBits). Every runtime gets the same prompt ids (our tokenizer's, or ids given outright
// for synthetic vocabularies), so tokenizer differences cannot move the token count or the greedy
// path. Timing, per runtime: a warm-up generate(1+D) (compiles every kernel/shape the timed runs
// meet), then pairs generate(1) ≈ prefill and generate(1+D), best of each (see rates()); the
// difference is D decode steps. The greedy ids come from the last generate(1+D).
// ?model=URL[&label=L]... (repeatable: one GGUF per model, labels name its entries)
// &onnx=NAME&dtypes=fp32,q4&devices=webgpu,wasm&backends=webgpu,cpu&decode=60&reps=2&budget=0
// [&ids=1,2,3 | &prompt=TEXT] ; results in window.__onnx (read by bench/onnx-browser.ts).
// The ONNX folder is served under /bench-models/ by the driver.
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
const list = (key: string, dflt: string): string[] => (q.get(key) ?? dflt).split(',').filter((s) => s !== '');
const modelUrls = q.getAll('model').length > 0 ? q.getAll('model') : ['/models/stories260K.gguf'];
const labels = q.getAll('label');
const onnxName = q.get('onnx') ?? 'stories260k';
const DTYPES = list('dtypes', 'fp32,q4') as ('fp32' | 'q4')[];
const DEVICES = list('devices', 'webgpu,wasm') as ('webgpu' | 'wasm')[];
const BACKENDS = list('backends', 'webgpu,cpu');
const DECODE = Number(q.get('decode') ?? 60);
const REPS = Number(q.get('reps') ?? 2);
const BUDGET = Number(q.get('budget') ?? 0);
const MAX_REPS = 10;
const PROMPT = q.get('prompt') ?? 'Once upon a time';
const ID_LIST = q.get('ids');
const out = document.getElementById('out')!;
const log = (s: string) => {
  out.textContent += `${s}\n`;
  console.info(`[bench] ${s}`); // the driver echoes these: progress on runs that take minutes
};
const abs = (u: string): string => new URL(u, location.href).href;

export interface Rates { prefillTps: number; decodeTps: number; tokens: number[]; prefillSeconds: number; genSeconds: number; pairs: number }
export type Entry = { name: string; ok: true; rates: Rates } | { name: string; ok: false; error: string };

async function timed<T>(f: () => Promise<T>): Promise<{ s: number; v: T }> {
  const t0 = performance.now();
  const v = await f();
  return { s: (performance.now() - t0) / 1000, v };
}

/**
 * gen(n) must run the whole prompt and n greedy steps from an empty cache and return the new ids.
 * Pairs gen(1), gen(1+D) are timed `reps` times, then again while the timed runs so far took less
 * than `budget` seconds (at most MAX_REPS pairs): best-of-many filters the stalls that other work on
 * a shared machine causes in cheap runs, and slow runs are not repeated past their budget.
 */
async function rates(gen: (n: number) => Promise<number[]>, promptLen: number): Promise<Rates> {
  await gen(DECODE + 1); // warm-up: pipelines / sessions compiled for every shape, buffers allocated
  let one = Infinity;
  let many = Infinity;
  let tokens: number[] = [];
  let spent = 0;
  let pairs = 0;
  while (pairs < REPS || (spent < BUDGET && pairs < MAX_REPS)) {
    const a = await timed(() => gen(1));
    const b = await timed(() => gen(DECODE + 1));
    one = Math.min(one, a.s);
    many = Math.min(many, b.s);
    tokens = b.v;
    spent += a.s + b.s;
    pairs++;
  }
  return { prefillTps: promptLen / one, decodeTps: DECODE / Math.max(1e-9, many - one), tokens, prefillSeconds: one, genSeconds: many, pairs };
}

async function attempt(name: string, f: () => Promise<Rates>): Promise<Entry> {
  const t0 = performance.now();
  try {
    const r = await f();
    log(`${name}: prefill ${r.prefillTps.toFixed(2)} tok/s, decode ${r.decodeTps.toFixed(2)} tok/s (best of ${r.pairs}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all)`);
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
  const entries: Entry[] = [];
  const models: { url: string; label: string; weightTypes: string; bytes: number }[] = [];
  let ids: number[] | undefined = ID_LIST ? ID_LIST.split(',').map(Number) : undefined;
  const rt = BACKENDS.includes('webgpu') ? await GpuRuntime.create(browserEnvironment()) : undefined;
  // Chromium leaves `description` empty for SwiftShader; vendor + architecture name it.
  const a = rt?.report.adapter;
  const adapter = a ? [a.vendor, a.architecture, a.device || a.description].filter(Boolean).join(' ') + (a.isFallbackAdapter ? ' (fallback)' : '') : undefined;
  log(`crossOriginIsolated=${crossOriginIsolated}; ${DECODE} decode steps; best of ${REPS} (more while under ${BUDGET} s, at most ${MAX_REPS})`);
  for (const [i, url] of modelUrls.entries()) {
    const label = labels[i] ?? '';
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const file = parseGguf(bytes);
    const tok = tokenizerFromGguf(file);
    ids ??= tok.encode(PROMPT);
    const inputIds = ids;
    const weightTypes = [...new Set(file.tensors.map((t) => ggmlType(t.type).name))].join(',');
    models.push({ url, label, weightTypes, bytes: bytes.length });
    log(`model ${url} (${weightTypes}, ${bytes.length} bytes); ${inputIds.length} prompt ids`);
    const name = (backend: string) => `tabshard-${backend}${label ? `-${label}` : ''}`;
    if (rt) {
      entries.push(await attempt(name('webgpu'), async () => {
        const be = await createGpuBackend(file, bytesSource(bytes), { runtime: rt, nCtx: 256 });
        try { return await oursWith(be, tok, inputIds); } finally { be.dispose(); }
      }));
    }
    if (BACKENDS.includes('cpu')) {
      entries.push(await attempt(name('cpu'), async () => {
        const be = await createCpuBackend(file, bytesSource(bytes), { nCtx: 256 });
        try { return await oursWith(be, tok, inputIds); } finally { be.dispose(); }
      }));
    }
  }
  rt?.destroy();
  const promptIds = ids;
  if (!promptIds) throw new Error('no prompt ids (no model given)');
  for (const device of DEVICES) {
    for (const dtype of DTYPES) entries.push(await attempt(`transformers-${device}-${dtype}`, () => theirs(device, dtype, promptIds)));
  }
  return { models, onnx: onnxName, prompt: ID_LIST ? null : PROMPT, promptIds, promptTokens: promptIds.length, decode: DECODE, reps: REPS, budgetSeconds: BUDGET, maxReps: MAX_REPS, adapter, crossOriginIsolated, wasmThreads: wasm.numThreads, entries };
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
