// The context a backend is created with. Real files state their training context (Llama 3.x:
// 131072, Qwen2.5: 32768) and a cache of that size does not fit a browser tab, so, like llama.cpp's
// tools (n_ctx 4096 by default), the default is capped, and further by what the device can hold;
// an explicit request is honoured up to the model's own context. The reason is said in words.
import { resolveKvLayout, type KvOptions } from './kv/layout.ts';
import type { LlamaConfig } from './backend.ts';

export const DEFAULT_CONTEXT = 4096;

export interface ContextChoice {
  nCtx: number;
  /** e.g. "context 4096 (the model's is 131072; default cap 4096)". */
  reason: string;
}

/** KV bytes of one position in every layer, in the cache layout `kv` (mode, groups, window) gives. */
export function kvBytesPerPosition(cfg: LlamaConfig, kv: KvOptions | undefined): number {
  const n = 1024;
  const L = resolveKvLayout(kv, { ...cfg, nCtx: n });
  return ((L.k.words + L.v.words) * 4 * cfg.nLayer) / n;
}

/**
 * `maxKvBytes`: what the device can give the cache of one model in all (a GPU buffer limit times
 * the layers, or a CPU memory budget); undefined when unknown.
 */
export function chooseContext(cfg: LlamaConfig, requested: number | undefined, kv: KvOptions | undefined, maxKvBytes?: number): ContextChoice {
  const model = cfg.nCtx;
  if (requested !== undefined) {
    const nCtx = Math.max(1, Math.min(requested, model));
    return { nCtx, reason: nCtx < requested ? `context ${nCtx} (asked for ${requested}; the model's is ${model})` : `context ${nCtx} (asked for)` };
  }
  let nCtx = Math.min(model, DEFAULT_CONTEXT);
  let why = nCtx < model ? `default cap ${DEFAULT_CONTEXT}` : "the model's own";
  if (maxKvBytes !== undefined) {
    const fits = Math.floor(maxKvBytes / kvBytesPerPosition(cfg, kv));
    if (fits < nCtx) {
      nCtx = Math.max(1, fits);
      why = `the KV cache this device can hold (${(maxKvBytes / 2 ** 20).toFixed(0)} MiB)`;
    }
  }
  return { nCtx, reason: `context ${nCtx} (the model's is ${model}; ${why})` };
}
