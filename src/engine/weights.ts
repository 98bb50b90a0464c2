// Which tensors a slice of the model needs: names, expected shapes, types and byte sizes. The CPU
// backend, the WebGPU backend and the shard planner all read this one list, so they agree on what
// "layers [a, b) plus embedding/head" costs and loads.
import { findTensor } from '../formats/gguf-reader.ts';
import type { GgufFile, GgufTensorInfo } from '../formats/gguf-types.ts';
import type { LlamaConfig } from './backend.ts';
import { ModelTensorError, UnsupportedModelError } from './errors.ts';
import { ropeFactorTensor } from './family.ts';

/**
 * Per-layer tensors of every family: a role is the tensor's name after `blk.N.` ('.weight'
 * implied; biases say '.bias'). Which ones a layer has comes from FamilyOptions (layerRoles).
 */
export const LAYER_ROLES = [
  'attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_qkv', 'attn_q.bias', 'attn_k.bias', 'attn_v.bias',
  'attn_q_norm', 'attn_k_norm', 'attn_output', 'attn_output.bias', 'post_attention_norm',
  'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down', 'post_ffw_norm',
] as const;
export type LayerRole = (typeof LAYER_ROLES)[number];
export type GlobalRole = 'token_embd' | 'output_norm' | 'output' | 'output.bias' | 'rope_freqs' | 'rope_factors_long' | 'rope_factors_short';

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

function tensorName(role: string): string {
  return role.includes('.') ? role : `${role}.weight`;
}

export function layerTensorName(layer: number, role: LayerRole): string {
  return `blk.${layer}.${tensorName(role)}`;
}

/** The roles a layer of this family has, in the order the graph uses them. */
export function layerRoles(cfg: LlamaConfig): LayerRole[] {
  const f = cfg.family;
  const out: LayerRole[] = ['attn_norm'];
  out.push(...(f.fusedQkv ? (['attn_qkv'] as const) : (['attn_q', 'attn_k', 'attn_v'] as const)));
  if (f.qkvBias) out.push('attn_q.bias', 'attn_k.bias', 'attn_v.bias');
  if (f.qkNorm) out.push('attn_q_norm', 'attn_k_norm');
  out.push('attn_output');
  if (f.oBias) out.push('attn_output.bias');
  if (f.postNorms) out.push('post_attention_norm');
  out.push('ffn_norm');
  if (!f.fusedGateUp) out.push('ffn_gate');
  out.push('ffn_up', 'ffn_down');
  if (f.postNorms) out.push('post_ffw_norm');
  return out;
}

/** ne[] (innermost first) each tensor must have. Matrices are [in, out]. */
export function expectedShape(cfg: LlamaConfig, role: LayerRole | GlobalRole): number[] {
  const q = cfg.nHead * cfg.headDimK;
  const kv = cfg.nHeadKv * cfg.headDimK;
  const vv = cfg.nHeadKv * cfg.headDimV;
  switch (role) {
    case 'attn_norm': case 'ffn_norm': case 'output_norm': case 'post_attention_norm': case 'post_ffw_norm':
    case 'attn_output.bias': return [cfg.nEmbd];
    case 'attn_q': return [cfg.nEmbd, q];
    case 'attn_k': return [cfg.nEmbd, kv];
    case 'attn_v': return [cfg.nEmbd, vv];
    case 'attn_qkv': return [cfg.nEmbd, q + kv + vv];
    case 'attn_q.bias': return [q];
    case 'attn_k.bias': return [kv];
    case 'attn_v.bias': return [vv];
    case 'attn_q_norm': case 'attn_k_norm': return [cfg.headDimK];
    case 'attn_output': return [cfg.nHead * cfg.headDimV, cfg.nEmbd];
    case 'ffn_gate': return [cfg.nEmbd, cfg.nFf];
    case 'ffn_up': return [cfg.nEmbd, cfg.family.fusedGateUp ? 2 * cfg.nFf : cfg.nFf];
    case 'ffn_down': return [cfg.nFf, cfg.nEmbd];
    case 'token_embd': case 'output': return [cfg.nEmbd, cfg.nVocab];
    case 'output.bias': return [cfg.nVocab];
    case 'rope_freqs': case 'rope_factors_long': case 'rope_factors_short': return [cfg.ropeDim / 2];
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

/** Row ranges [from, to) of the parts of fused matrices: attn_qkv holds q, k, v; phi3's ffn_up gate then up. */
export function fusedRows(cfg: LlamaConfig): { attn_q: [number, number]; attn_k: [number, number]; attn_v: [number, number]; ffn_gate: [number, number]; ffn_up: [number, number] } {
  const q = cfg.nHead * cfg.headDimK;
  const k = cfg.nHeadKv * cfg.headDimK;
  const v = cfg.nHeadKv * cfg.headDimV;
  return { attn_q: [0, q], attn_k: [q, q + k], attn_v: [q + k, q + k + v], ffn_gate: [0, cfg.nFf], ffn_up: [cfg.nFf, 2 * cfg.nFf] };
}

/**
 * Put the parts of a layer's fused matrices under their own roles, however a backend holds a
 * matrix: `rows(m, from, to)` gives rows [from, to) of m (a view, not a copy).
 */
export function splitFused<M>(mats: Partial<Record<string, M>>, cfg: LlamaConfig, rows: (m: M, from: number, to: number) => M): void {
  const r = fusedRows(cfg);
  const qkv = mats.attn_qkv;
  if (qkv) for (const role of ['attn_q', 'attn_k', 'attn_v'] as const) mats[role] = rows(qkv, ...r[role]);
  const up = mats.ffn_up;
  if (cfg.family.fusedGateUp && up && !mats.ffn_gate) {
    mats.ffn_gate = rows(up, ...r.ffn_gate);
    mats.ffn_up = rows(up, ...r.ffn_up);
  }
}

/** The tensors of block `layer`, in layerRoles order. */
export function layerWeights(file: GgufFile, cfg: LlamaConfig, layer: number): WeightRef[] {
  return layerRoles(cfg).map((role) => ref(file, cfg, layerTensorName(layer, role), role, layer));
}

/** Every tensor a slice needs, embedding first, then layers in order, then the head. */
export function sliceWeights(file: GgufFile, cfg: LlamaConfig, spec: SliceSpec): WeightRef[] {
  if (!(spec.from >= 0 && spec.from <= spec.to && spec.to <= cfg.nLayer)) {
    throw new ModelTensorError(`layer range [${spec.from}, ${spec.to}) is outside [0, ${cfg.nLayer})`);
  }
  const out: WeightRef[] = [];
  const needEmbd = spec.embed || (spec.head && cfg.tiedOutput);
  if (needEmbd) out.push(ref(file, cfg, 'token_embd.weight', 'token_embd'));
  if (spec.to > spec.from) {
    const f = ropeFactorTensor(cfg);
    if (f) out.push(ref(file, cfg, f, f.replace('.weight', '') as GlobalRole));
  }
  for (let i = spec.from; i < spec.to; i++) out.push(...layerWeights(file, cfg, i));
  if (spec.head) {
    out.push(ref(file, cfg, 'output_norm.weight', 'output_norm'));
    if (!cfg.tiedOutput) out.push(ref(file, cfg, 'output.weight', 'output'));
    if (cfg.family.outputBias) out.push(ref(file, cfg, 'output.bias', 'output.bias'));
  }
  return out;
}

/**
 * Refuse a file holding a tensor this family's graph would not use (llama.cpp refuses such files
 * too): running it without that tensor would guess at the model. The error names the tensor.
 */
export function checkKnownTensors(file: GgufFile, cfg: LlamaConfig): void {
  const known = new Set(['token_embd.weight', 'output_norm.weight', 'output.weight', 'rope_freqs.weight', 'rope_factors_long.weight', 'rope_factors_short.weight']);
  if (cfg.family.outputBias) known.add('output.bias');
  const roles = layerRoles(cfg);
  for (let l = 0; l < cfg.nLayer; l++) for (const r of roles) known.add(layerTensorName(l, r));
  const unknown = file.tensors.filter((t) => !known.has(t.name)).map((t) => t.name);
  if (unknown.length) {
    const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : '';
    throw new UnsupportedModelError(cfg.arch, `tensor${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 3).map((n) => `'${n}'`).join(', ')}${more} not used by this engine's ${cfg.arch} graph`);
  }
}

/** Bytes of the tensors (as stored, i.e. quantized) a slice loads; per layer via sliceWeights(from=i, to=i+1). */
export function sliceBytes(refs: readonly WeightRef[]): number {
  return refs.reduce((s, r) => s + r.info.byteSize, 0);
}

/** Convenience: the whole model's slice. */
export function fullSlice(cfg: LlamaConfig): SliceSpec {
  return { from: 0, to: cfg.nLayer, embed: true, head: true };
}
