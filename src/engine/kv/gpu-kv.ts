// TS side of shaders/kv_store.wgsl, kv_rotate.wgsl and attention.wgsl: uniform layouts (defined
// once, here) and one prepare function per kernel. GpuKvCache owns a backend's cache buffers.
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { prepareDispatch, type PreparedDispatch } from '../../gpu/dispatch.ts';
import type { KernelVariant } from '../../gpu/pipelines.ts';
import type { UniformLayout } from '../../gpu/uniforms.ts';
import type { KvLayout, KvSide } from './layout.ts';
import { levels } from './quant.ts';

const WG = 64;

const STORE: UniformLayout = [
  ['pos0', 'u32'], ['n_tok', 'u32'], ['q0', 'u32'], ['q1', 'u32'],
  ['bits', 'u32'], ['inv_levels', 'f32'], ['ring_slots', 'u32'], ['sides', 'u32'],
  ['k_dim', 'u32'], ['k_group', 'u32'], ['k_group_words', 'u32'], ['k_row_words', 'u32'], ['k_ring_off', 'u32'], ['k_ring_row_words', 'u32'],
  ['v_dim', 'u32'], ['v_group', 'u32'], ['v_group_words', 'u32'], ['v_row_words', 'u32'], ['v_ring_off', 'u32'], ['v_ring_row_words', 'u32'],
];

const ROTATE: UniformLayout = [['rows', 'u32'], ['n_head', 'u32'], ['head_dim', 'u32'], ['offset', 'u32'], ['stride', 'u32'], ['norm', 'f32']];

const ATTN: UniformLayout = [
  ['n_tok', 'u32'], ['n_head', 'u32'], ['n_head_kv', 'u32'], ['head_dim_k', 'u32'], ['head_dim_v', 'u32'],
  ['pos0', 'u32'], ['scale', 'f32'], ['q0', 'u32'], ['bits', 'u32'], ['ring_slots', 'u32'],
  ['k_dim', 'u32'], ['k_group', 'u32'], ['k_group_words', 'u32'], ['k_row_words', 'u32'], ['k_ring_off', 'u32'], ['k_ring_row_words', 'u32'],
  ['v_dim', 'u32'], ['v_group', 'u32'], ['v_group_words', 'u32'], ['v_row_words', 'u32'], ['v_ring_off', 'u32'], ['v_ring_row_words', 'u32'],
  ['softcap', 'f32'], ['swa_window', 'u32'], ['rot_norm', 'f32'],
];

const flags = (L: KvLayout) => (L.mode === 'f32' ? ['RING_F32'] : []);

/** One side's geometry as the store and attention uniforms name it (k_* or v_*). */
function sideFields(p: 'k' | 'v', s: KvSide): Record<string, number> {
  return {
    [`${p}_dim`]: s.dim, [`${p}_group`]: Math.max(1, s.group), [`${p}_group_words`]: s.groupWords, [`${p}_row_words`]: s.rowWords,
    [`${p}_ring_off`]: s.ringOff, [`${p}_ring_row_words`]: s.ringRowWords,
  };
}

export function kvStoreVariant(L: KvLayout, entry: 'quantize' | 'ring'): KernelVariant {
  return { shader: 'kv_store', entry, overrides: { WG }, flags: flags(L), uniforms: STORE };
}

export function attentionVariant(L: KvLayout, rotateOut = false): KernelVariant {
  return { shader: 'attention', overrides: { WG }, flags: [...flags(L), ...(rotateOut ? ['ROTATE_OUT'] : [])], uniforms: ATTN };
}

export interface StoreArgs {
  pos0: number;
  nTok: number;
  q0: number;
  q1: number;
}

export interface KvStoreBuffers {
  kc: GPUBuffer;
  vc: GPUBuffer;
  /** The batch's K and V rows (f32, already roped/rotated). */
  kn: GPUBuffer;
  vn: GPUBuffer;
}

/**
 * Append a batch to both sides of a layer's cache: a quantize dispatch (positions leaving the
 * window) and a ring dispatch, each over K and V together; `separate` keeps one dispatch per side
 * (the unfused baseline the decode counters compare against).
 */
export async function prepareKvStore(rt: GpuRuntime, L: KvLayout, b: KvStoreBuffers, a: StoreArgs, separate = false): Promise<PreparedDispatch[]> {
  const values = {
    pos0: a.pos0, n_tok: a.nTok, q0: a.q0, q1: a.q1, bits: L.quantized ? L.bits : 0, inv_levels: L.quantized ? Math.fround(1 / levels(L.bits)) : 0,
    ring_slots: Math.max(1, L.ringSlots), ...sideFields('k', L.k), ...sideFields('v', L.v),
  };
  // quantize (positions q0..q1-1) then ring (the rest of the batch); none when empty.
  const units = (s: KvSide) => ({
    quantize: (a.q1 - a.q0) * (s.group ? s.dim / s.group : 0),
    ring: Math.max(0, a.pos0 + a.nTok - Math.max(a.q1, a.pos0)) * s.ringRowWords,
  });
  const [uk, uv] = [units(L.k), units(L.v)];
  const out: PreparedDispatch[] = [];
  for (const entry of ['quantize', 'ring'] as const) {
    const parts: [number, number][] = (separate ? [[1, uk[entry]], [2, uv[entry]]] : [[3, uk[entry] + uv[entry]]]).filter(([, n]) => n > 0) as [number, number][];
    if (!parts.length) continue;
    const pipeline = await rt.pipelines.get(kvStoreVariant(L, entry));
    for (const [sides, n] of parts) {
      out.push(prepareDispatch(rt, { pipeline, bindings: [b.kc, b.kn, b.vc, b.vn], uniforms: { layout: STORE, values: { ...values, sides } }, workgroups: Math.ceil(n / WG) }));
    }
  }
  return out;
}

export interface RotateArgs {
  rows: number;
  nHead: number;
  headDim: number;
  offset?: number;
  stride?: number;
}

export async function prepareRotate(rt: GpuRuntime, x: GPUBuffer, a: RotateArgs): Promise<PreparedDispatch> {
  const pipeline = await rt.pipelines.get({ shader: 'kv_rotate', overrides: { WG }, uniforms: ROTATE });
  const values = { rows: a.rows, n_head: a.nHead, head_dim: a.headDim, offset: a.offset ?? 0, stride: a.stride ?? a.nHead * a.headDim, norm: 1 / Math.sqrt(a.headDim) };
  return prepareDispatch(rt, { pipeline, bindings: [x], uniforms: { layout: ROTATE, values }, workgroups: Math.ceil((a.rows * a.nHead) / WG) });
}

export interface KvAttentionArgs {
  nTok: number;
  nHead: number;
  nHeadKv: number;
  headDimK: number;
  headDimV: number;
  pos0: number;
  q0: number;
  scale: number;
  /** tanh soft-cap of the scores (0: none) and sliding window (0: none): src/engine/kv/cache.ts AttnOptions. */
  softcap?: number;
  window?: number;
  /** Rotate each output head back (the rotating KV modes) inside the kernel instead of a kv_rotate dispatch after it. */
  rotateOut?: boolean;
}

/** O = softmax(softcap(Q K^T · scale), causal, windowed) V, in one pass (no scores scratch). */
export async function prepareKvAttention(rt: GpuRuntime, L: KvLayout, bufs: { q: GPUBuffer; kc: GPUBuffer; vc: GPUBuffer; kn: GPUBuffer; vn: GPUBuffer; o: GPUBuffer }, a: KvAttentionArgs): Promise<PreparedDispatch> {
  if (a.headDimV > 8 * WG) throw new RangeError(`value head dim ${a.headDimV} exceeds the attention kernel's ${8 * WG}`);
  if (a.rotateOut && !L.rotate) throw new RangeError('rotateOut needs a rotating KV layout');
  const pipeline = await rt.pipelines.get(attentionVariant(L, a.rotateOut));
  return prepareDispatch(rt, {
    pipeline,
    bindings: [bufs.q, bufs.kc, bufs.vc, bufs.kn, bufs.vn, undefined, bufs.o],
    uniforms: {
      layout: ATTN,
      values: {
        n_tok: a.nTok, n_head: a.nHead, n_head_kv: a.nHeadKv, head_dim_k: a.headDimK, head_dim_v: a.headDimV,
        pos0: a.pos0, scale: a.scale, q0: a.q0, bits: L.quantized ? L.bits : 0, ring_slots: Math.max(1, L.ringSlots),
        ...sideFields('k', L.k), ...sideFields('v', L.v), softcap: a.softcap ?? 0, swa_window: a.window ?? 0, rot_norm: 1 / Math.sqrt(a.headDimV),
      },
    },
    workgroups: a.nTok * a.nHead,
  });
}
