// transformers.js (WASM execution provider) on a model folder served by the verified cache from
// IndexedDB and local gateways. Playwright drives window.tabshardOnnx; onnxruntime-web's wasm comes
// from our own origin (Vite emits it as an asset), never from a CDN.
import { env, pipeline, type TextGenerationPipeline } from '@huggingface/transformers';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { useVerifiedStore, type TransformersEnvLike } from '../../src/onnx/transformers-env.ts';
import { VerifiedModelCache } from '../../src/onnx/verified-cache.ts';
import { IdbBlockstore } from '../../src/store/idb-blockstore.ts';
import { Loader } from '../../src/store/loader.ts';
import { importRegistry } from '../../src/store/registry.ts';

export interface RunOptions {
  registryJson: string;
  spec: string;
  gateways: string[];
  prompt: string;
  maxNewTokens: number;
}

export interface RunResult {
  text: string;
  tokens: number[];
  loads: { path: string; blocksFetched: number; blocksFromStore: number; sources: Record<string, number> }[];
  allowed: string[];
  refused: string[];
  seconds: number;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: { name: string; message: string }; cacheErrors: { key: string; name: string; message: string }[] };

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const abs = (u: string): string => new URL(u, location.href).href;

async function run(o: RunOptions): Promise<Settled<RunResult>> {
  const started = performance.now();
  const registry = importRegistry(o.registryJson);
  const store = await IdbBlockstore.open();
  const loader = new Loader({ store, registry: async () => registry });
  const cache = new VerifiedModelCache({
    loader, registry: async () => registry, gateways: o.gateways,
    onLoad: (l) => {
      const li = document.createElement('li');
      li.textContent = `${l.path}: ${l.result.blocksFetched} blocks fetched, ${l.result.blocksFromStore} from the store`;
      $('files').append(li);
    },
  });
  const allowed: string[] = [];
  const refused: string[] = [];
  // transformers.js's env type is wider than (and not exported as) the fields we set.
  useVerifiedStore(env as unknown as TransformersEnvLike, cache, { allow: [abs(ortWasm), abs(ortMjs)], allowed, refused });
  const wasm = env.backends.onnx.wasm!;
  wasm.wasmPaths = { mjs: abs(ortMjs), wasm: abs(ortWasm) };
  wasm.numThreads = 1; // no cross-origin isolation here, so no SharedArrayBuffer threads
  wasm.proxy = false;
  try {
    $('status').textContent = `loading ${o.spec}`;
    const gen = (await pipeline('text-generation', o.spec, { device: 'wasm', dtype: 'fp32' })) as TextGenerationPipeline;
    $('status').textContent = 'generating';
    const out = (await gen(o.prompt, { max_new_tokens: o.maxNewTokens, do_sample: false })) as { generated_text: string }[];
    const text = out[0]!.generated_text;
    // The ids too: the same greedy search through the model, without the text round trip.
    const inputs = gen.tokenizer(o.prompt);
    const ids = (await gen.model.generate({ ...inputs, max_new_tokens: o.maxNewTokens, do_sample: false })) as { tolist(): bigint[][] };
    const promptLen = (inputs.input_ids as { dims: number[] }).dims[1]!;
    await gen.dispose();
    $('output').textContent = text;
    $('status').textContent = 'done';
    return {
      ok: true,
      value: {
        text,
        tokens: ids.tolist()[0]!.slice(promptLen).map(Number),
        loads: cache.loads.map((l) => ({ path: l.path, blocksFetched: l.result.blocksFetched, blocksFromStore: l.result.blocksFromStore, sources: l.result.sources })),
        allowed,
        refused,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } catch (err) {
    const e = err as Error;
    $('error').textContent = `${e.name}: ${e.message}`;
    return { ok: false, error: { name: e.name, message: e.message }, cacheErrors: cache.errors };
  }
}

async function stats(): Promise<{ blocks: number; bytes: number }> {
  const s = await (await IdbBlockstore.open()).stats();
  return { blocks: s.blocks, bytes: s.bytes };
}

const api = { run, stats };
export type TabshardOnnxPage = typeof api;
(window as unknown as { tabshardOnnx: TabshardOnnxPage }).tabshardOnnx = api;
$('status').textContent = 'ready';
