// Which tensors a slice of the model needs: names, expected shapes, types and byte sizes. The CPU
// backend, the WebGPU backend and the shard planner all read this one list, so they agree on what
// "layers [a, b) plus embedding/head" costs and loads.
import { findTensor } from '../formats/gguf-reader.ts';
import type { GgufFile, GgufTensorInfo } from '../formats/gguf-types.ts';
import type { LlamaConfig } from './backend.ts';
import { ModelTensorError } from './errors.ts';

export const LAYER_ROLES = [
  'attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down',
] as const;
export type LayerRole = (typeof LAYER_ROLES)[number];
export type GlobalRole = 'token_embd' | 'output_norm' | 'output' | 'rope_freqs';

export interface WeightRef {
  readonly name: string;
  readonly role: LayerRole | GlobalRole;
  /** Block index for per-layer tensors. */
  readonly layer: number | undefined;
  readonly info: GgufTensorInfo;
}

export interface SliceSpec {
  /** Layers [from, to). */
  readonly from: number;
  readonly to: number;
  /** Holds the embedding (token_embd). */
  readonly embed: boolean;
  /** Holds the head (output_norm + output, or token_embd when tied). */
  readonly head: boolean;
}

export function layerTensorName(layer: number, role: LayerRole): string {
  return `blk.${layer}.${role}.weight`;
}

/** ne[] (innermost first) each tensor must have. Matrices are [in, out]. */
export function expectedShape(cfg: LlamaConfig, role: LayerRole | GlobalRole): number[] {
  const q = cfg.nHead * cfg.headDimK;
  const kv = cfg.nHeadKv * cfg.headDimK;
  switch (role) {
    case 'attn_norm': case 'ffn_norm': case 'output_norm': return [cfg.nEmbd];
    case 'attn_q': return [cfg.nEmbd, q];
    case 'attn_k': return [cfg.nEmbd, kv];
    case 'attn_v': return [cfg.nEmbd, cfg.nHeadKv * cfg.headDimV];
    case 'attn_output': return [cfg.nHead * cfg.headDimV, cfg.nEmbd];
    case 'ffn_gate': case 'ffn_up': return [cfg.nEmbd, cfg.nFf];
    case 'ffn_down': return [cfg.nFf, cfg.nEmbd];
    case 'token_embd': case 'output': return [cfg.nEmbd, cfg.nVocab];
    case 'rope_freqs': return [cfg.ropeDim / 2];
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  // GGUF writers may keep trailing 1s (e.g. a vector stored as [n, 1]).
  const strip = (s: readonly number[]): number[] => {
    const out = [...s];
    while (out.length > 1 && out[out.length - 1] === 1) out.pop();
    return out;
  };
  const x = strip(a);
  const y = strip(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function ref(file: GgufFile, cfg: LlamaConfig, name: string, role: LayerRole | GlobalRole, layer?: number): WeightRef {
  const info = findTensor(file, name);
  if (!info) throw new ModelTensorError(`model has no tensor '${name}'`);
  const want = expectedShape(cfg, role);
  if (!sameShape(info.shape, want)) {
    throw new ModelTensorError(`tensor '${name}' has shape [${info.shape}], expected [${want}]`);
  }
  return { name, role, layer, info };
}

/** The nine tensors of block `layer`, in LAYER_ROLES order. */
export function layerWeights(file: GgufFile, cfg: LlamaConfig, layer: number): WeightRef[] {
  return LAYER_ROLES.map((role) => ref(file, cfg, layerTensorName(layer, role), role, layer));
}

/** Every tensor a slice needs, embedding first, then layers in order, then the head. */
export function sliceWeights(file: GgufFile, cfg: LlamaConfig, spec: SliceSpec): WeightRef[] {
  if (!(spec.from >= 0 && spec.from <= spec.to && spec.to <= cfg.nLayer)) {
    throw new ModelTensorError(`layer range [${spec.from}, ${spec.to}) is outside [0, ${cfg.nLayer})`);
  }
  const out: WeightRef[] = [];
  const needEmbd = spec.embed || (spec.head && cfg.tiedOutput);
  if (needEmbd) out.push(ref(file, cfg, 'token_embd.weight', 'token_embd'));
  if (spec.to > spec.from && findTensor(file, 'rope_freqs.weight')) out.push(ref(file, cfg, 'rope_freqs.weight', 'rope_freqs'));
  for (let i = spec.from; i < spec.to; i++) out.push(...layerWeights(file, cfg, i));
  if (spec.head) {
    out.push(ref(file, cfg, 'output_norm.weight', 'output_norm'));
    if (!cfg.tiedOutput) out.push(ref(file, cfg, 'output.weight', 'output'));
  }
  return out;
}

/** Bytes of the tensors (as stored, i.e. quantized) a slice loads; per layer via sliceWeights(from=i, to=i+1). */
export function sliceBytes(refs: readonly WeightRef[]): number {
  return refs.reduce((s, r) => s + r.info.byteSize, 0);
}

/** Convenience: the whole model's slice. */
export function fullSlice(cfg: LlamaConfig): SliceSpec {
  return { from: 0, to: cfg.nLayer, embed: true, head: true };
}
