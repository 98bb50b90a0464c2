// The compressed KV cache's memory layout, shared by the CPU reference and the WGSL kernels.
//
// Scheme: every position's K row and V row
// are quantized per token, in groups of `group` consecutive channels, asymmetric (an f16 scale d and
// an f16 minimum m in one u32 per group; x ≈ m + d·q, q in 0..2^b-1). Keys (and values) are first
// rotated per head by a normalized Walsh-Hadamard transform, which spreads the outlier channels
// that make per-token key quantization fail (the reason KIVI quantizes keys per channel) over the
// whole head, as QuaRot does. The most recent `window` positions stay in f16 in a ring of exactly
// `window` slots; a position is quantized when it leaves the window.
//
// One u32 buffer per layer and side (K, V): [quantRows rows of rowWords][ring: slots of ringRowWords].
// Modes f32 and f16 are the plain caches: no quantized rows, the ring is the whole context.
import { KvConfigError } from './errors.ts';

export type KvMode = 'f32' | 'f16' | 'q8' | 'q4' | 'q3' | 'q2';
export const KV_MODES: readonly KvMode[] = ['f32', 'f16', 'q8', 'q4', 'q3', 'q2'];

export interface KvOptions {
  mode?: KvMode;
  /** Channels per quantization group (clamped to the largest divisor of the row width ≤ it). */
  group?: number;
  /** Most recent positions kept in f16 (clamped to the context). */
  window?: number;
  /** Hadamard-rotate heads before quantizing (default on; off when a head width is not a power of 2). */
  rotate?: boolean;
}

/** Defaults: q2 uses wider groups so that it is ≥ 85% smaller than f16 at 4k with margin. */
export const KV_DEFAULTS: Record<KvMode, { group: number; window: number }> = {
  f32: { group: 0, window: 0 },
  f16: { group: 0, window: 0 },
  q8: { group: 128, window: 32 },
  q4: { group: 128, window: 32 },
  q3: { group: 128, window: 32 },
  q2: { group: 256, window: 32 },
};

export interface KvSide {
  /** Channels per row (nHeadKv · headDim). */
  dim: number;
  group: number;
  /** Words per group: 1 scale word + packed codes. */
  groupWords: number;
  /** Words per quantized row. */
  rowWords: number;
  /** Words per ring slot (f16 pairs, or f32). */
  ringRowWords: number;
  /** Word offset of the ring in the buffer. */
  ringOff: number;
  /** Words in the buffer. */
  words: number;
}

export interface KvLayout {
  mode: KvMode;
  /** Bits per stored code (32/16 for the plain modes). */
  bits: number;
  quantized: boolean;
  rotate: boolean;
  nCtx: number;
  window: number;
  ringSlots: number;
  quantRows: number;
  k: KvSide;
  v: KvSide;
}

export interface KvShape {
  nCtx: number;
  nHeadKv: number;
  headDimK: number;
  headDimV: number;
}

const BITS: Record<KvMode, number> = { f32: 32, f16: 16, q8: 8, q4: 4, q3: 3, q2: 2 };

/** Code words per group of g values: b ∈ {2,4,8} packed densely; 3 bits as a 2-bit and a 1-bit plane. */
export function codeWords(bits: number, g: number): number {
  return bits === 3 ? Math.ceil(g / 16) + Math.ceil(g / 32) : Math.ceil((g * bits) / 32);
}

function largestDivisorAtMost(n: number, cap: number): number {
  for (let d = Math.min(n, cap); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

function side(dim: number, bits: number, group: number, quantRows: number, slots: number, full32: boolean): KvSide {
  const quant = bits <= 8;
  const g = quant ? largestDivisorAtMost(dim, group) : dim;
  const groupWords = quant ? 1 + codeWords(bits, g) : 0;
  const rowWords = quant ? (dim / g) * groupWords : 0;
  const ringRowWords = full32 ? dim : Math.ceil(dim / 2);
  const ringOff = quantRows * rowWords;
  return { dim, group: g, groupWords, rowWords, ringRowWords, ringOff, words: ringOff + slots * ringRowWords };
}

/**
 * The default KV mode, chosen from the measured quality and memory (README, issue 6 note): q8 is
 * indistinguishable from f16 on the fixtures (KL 3e-6, top-1 100%) and 48% smaller at 4k tokens;
 * q4 (73% smaller) is the choice for long contexts.
 */
export const DEFAULT_KV_MODE: KvMode = 'q8';

export function resolveKvLayout(opts: KvOptions | undefined, s: KvShape): KvLayout {
  const mode = opts?.mode ?? DEFAULT_KV_MODE;
  if (!KV_MODES.includes(mode)) throw new KvConfigError(`unknown KV mode '${String(mode)}' (one of ${KV_MODES.join(', ')})`);
  const bits = BITS[mode];
  const quantized = bits <= 8;
  const d = KV_DEFAULTS[mode];
  const group = opts?.group ?? d.group;
  // A default group spans at most two heads: groups that straddle many heads mix their ranges and
  // cost precision on small heads (the 8-wide fixture: q4 KL 2.5e-3 with 32-wide groups, 7.6e-4
  // with 16). Not for q2, whose wide groups are what keeps it >= 85% smaller than f16 at 4k on
  // 64-wide heads (TinyLlama: 85.3% capped, 86.0% not). Heads of 64+ keep q8/q4/q3's 128.
  const cap = (hd: number) => (opts?.group !== undefined || mode === 'q2' ? group : Math.min(group, 2 * hd));
  const groupK = cap(s.headDimK);
  const groupV = cap(s.headDimV);
  const win = opts?.window ?? d.window;
  if (quantized && !(Number.isInteger(group) && group >= 1)) throw new KvConfigError(`KV group must be a positive integer, got ${group}`);
  if (quantized && !(Number.isInteger(win) && win >= 0)) throw new KvConfigError(`KV window must be an integer ≥ 0, got ${win}`);
  const window = quantized ? Math.min(win, s.nCtx) : s.nCtx;
  const quantRows = quantized ? s.nCtx - window : 0;
  const slots = window;
  const rotate = quantized && (opts?.rotate ?? true) && isPow2(s.headDimK) && isPow2(s.headDimV);
  return {
    mode,
    bits,
    quantized,
    rotate,
    nCtx: s.nCtx,
    window,
    ringSlots: slots,
    quantRows,
    k: side(s.nHeadKv * s.headDimK, bits, groupK, quantRows, slots, mode === 'f32'),
    v: side(s.nHeadKv * s.headDimV, bits, groupV, quantRows, slots, mode === 'f32'),
  };
}

/** GPU buffers are padded to 16 bytes by the pool; the accounting pads the same way. */
const pad16 = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

export function sideBytes(s: KvSide): number {
  return pad16(s.words * 4);
}

/** Bytes of one layer's K and V buffers, exactly as allocated. */
export function layerKvBytes(l: KvLayout): number {
  return sideBytes(l.k) + sideBytes(l.v);
}

/** Bits per cached element, everything included (codes, scales, minima, window, padding). */
export function bitsPerElement(l: KvLayout): number {
  return (8 * layerKvBytes(l)) / (l.nCtx * (l.k.dim + l.v.dim));
}

/** A one-line description for logs and the CLI. */
export function describeKv(l: KvLayout): string {
  if (!l.quantized) return `${l.mode} (${bitsPerElement(l).toFixed(2)} bits/element)`;
  return `${l.mode} group ${l.k.group}/${l.v.group} window ${l.window}${l.rotate ? ' hadamard' : ''} (${bitsPerElement(l).toFixed(3)} bits/element at ${l.nCtx})`;
}

/**
 * The same scheme as `L` (groups, rotation, window) sized for `cap` ≤ L.nCtx positions, for a cache
 * that grows by re-layout (the CPU backend's). Its ring has min(window, cap) slots: while fewer
 * than `cap` positions exist no ring slot wraps, so slot p % ringSlots is p in the small layout and
 * in the larger one, and growing only moves words. kvLayoutAt(L, L.nCtx) equals L.
 */
export function kvLayoutAt(L: KvLayout, cap: number): KvLayout {
  if (!(Number.isInteger(cap) && cap >= 1 && cap <= L.nCtx)) throw new KvConfigError(`KV capacity must be an integer in 1..${L.nCtx}, got ${cap}`);
  const window = L.quantized ? Math.min(L.window, cap) : cap;
  const quantRows = L.quantized ? cap - window : 0;
  const full32 = L.mode === 'f32';
  return {
    ...L,
    nCtx: cap,
    window,
    ringSlots: window,
    quantRows,
    k: side(L.k.dim, L.bits, L.k.group, quantRows, window, full32),
    v: side(L.v.dim, L.bits, L.v.group, quantRows, window, full32),
  };
}
