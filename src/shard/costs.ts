// ModelCosts from a GGUF header: per-layer weight bytes come straight from the tensor infos (the same
// list of tensors the backends load, engine/weights.ts), KV bytes from the attention shape. Times
// are measured by calibration when available; otherwise decode is assumed memory-bound, so a layer
// costs its bytes over a nominal bandwidth (a placeholder that preserves ratios between layers).
import type { GgufFile } from '../formats/gguf-types.ts';
import { configFromGguf } from '../engine/config.ts';
import { findTensor } from '../formats/gguf-reader.ts';
import { layerWeights } from '../engine/weights.ts';
import type { ModelCosts } from './plan-types.ts';

/** Nominal bytes/second used when no layer time was measured (a mid-range laptop GPU). */
export const NOMINAL_BYTES_PER_SECOND = 50e9;

export interface ModelCostsOptions {
  /** Context length the KV cache is sized for. */
  nCtx: number;
  /** Bytes per cached key/value element (4 for f32, 2 for f16, ~0.5-1 for compressed caches). */
  kvBytesPerElement: number;
  /** Measured seconds per token per layer: one for all layers, or one per layer. */
  layerTimeSeconds?: number | readonly number[];
  /** Bytes per hidden element on the wire (4 for f32 frames, 2 for f16); default 4. */
  wireBytesPerElement?: number;
}

export function modelCosts(file: GgufFile, opts: ModelCostsOptions): ModelCosts {
  const cfg = configFromGguf(file);
  const L = cfg.nLayer;
  const layerWeightBytes: number[] = [];
  const layerWeightBytesByType: Record<string, number>[] = [];
  for (let l = 0; l < L; l++) {
    const byType: Record<string, number> = {};
    let total = 0;
    for (const r of layerWeights(file, cfg, l)) {
      byType[r.info.typeName] = (byType[r.info.typeName] ?? 0) + r.info.byteSize;
      total += r.info.byteSize;
    }
    layerWeightBytes.push(total);
    layerWeightBytesByType.push(byType);
  }
  const kvPerToken = cfg.nHeadKv * (cfg.headDimK + cfg.headDimV) * opts.kvBytesPerElement;
  const t = opts.layerTimeSeconds;
  const layerSeconds = layerWeightBytes.map((b, l) =>
    typeof t === 'number' ? t : t ? t[l]! : b / NOMINAL_BYTES_PER_SECOND);
  const size = (name: string): number => findTensor(file, name)?.byteSize ?? 0;
  const embeddingBytes = size('token_embd.weight');
  // A tied head reads token_embd, which the coordinator already holds for the embedding.
  const headBytes = size('output_norm.weight') + (cfg.tiedOutput ? 0 : size('output.weight'));
  const rope = size('rope_freqs.weight');
  return {
    nLayer: L,
    nCtx: opts.nCtx,
    layerWeightBytes,
    layerWeightBytesByType,
    kvBytesPerToken: new Array<number>(L).fill(kvPerToken),
    layerSeconds,
    embeddingBytes: embeddingBytes + rope,
    headBytes,
    // The embedding is a row copy; the head is a full matvec over its bytes.
    embedSeconds: (cfg.nEmbd * 4) / NOMINAL_BYTES_PER_SECOND,
    headSeconds: (cfg.tiedOutput ? embeddingBytes : headBytes) / NOMINAL_BYTES_PER_SECOND,
    hiddenBytesPerToken: cfg.nEmbd * (opts.wireBytesPerElement ?? 4),
  };
}
