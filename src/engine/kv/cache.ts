// CPU reference of one layer's compressed KV cache: the same words, in the same layout, that the
// WGSL kernels keep on the GPU (layout.ts), and the same update rule:
//   before a batch at pos0: positions < q0 are quantized rows, q0..pos0-1 are in the f16 ring at
//   slot p % window, and the batch's own keys/values are used in f32 by its attention;
//   after it: positions < q1 = max(q0, pos0 + nTok - window) are quantized (from the ring or the
//   batch, first), then the batch positions ≥ q1 are written to the ring.
// Writing at pos0 forgets positions ≥ pos0: q0 = min(quantized so far, pos0).
import type { KvLayout, KvSide } from './layout.ts';
import { dequantAt, packF16Pair, quantizeGroup, unpackHi, unpackLo } from './quant.ts';

export interface AttnShape {
  nHead: number;
  nHeadKv: number;
  headDimK: number;
  headDimV: number;
}

/** Per-layer attention options: q·k multiplier, tanh soft-cap (0: none), sliding window (0: none). */
export interface AttnOptions {
  scale?: number;
  softcap?: number;
  window?: number;
  /**
   * Measuring only (src/engine/cpu/ggml-arith.ts): llama.cpp's non-flash attention over an f16
   * cache, i.e. the batch's own K/V rows rounded to f16 as the cache holds them, q rounded to f16
   * (after the scale, where the family scales q first), scores and softmax in f32, and the
   * probabilities rounded to f16 before they weight V. The CPU attention honours it.
   */
  ggmlF16?: { preScaleQ: boolean };
}

/** The score of one q·k product after scaling and soft-capping. */
export function attnScore(dot: number, scale: number, softcap: number): number {
  const s = dot * scale;
  return softcap > 0 ? Math.tanh(s / softcap) * softcap : s;
}

/** First visible position of a query at position n - 1: the window holds the last `window` positions. */
export function attnFirst(n: number, window: number): number {
  return window > 0 ? Math.max(0, n - window) : 0;
}

export class KvLayerRef {
  readonly layout: KvLayout;
  readonly k: Uint32Array;
  readonly v: Uint32Array;
  /** Positions stored as quantized rows. */
  quantized = 0;

  constructor(layout: KvLayout) {
    this.layout = layout;
    this.k = new Uint32Array(layout.k.words);
    this.v = new Uint32Array(layout.v.words);
  }

  /** The boundary q0 the next batch at pos0 sees. */
  q0(pos0: number): number {
    return Math.min(this.quantized, pos0);
  }

  /** Append a batch (rows of K and V, f32, already rotated when the layout rotates). */
  store(pos0: number, nTok: number, kNew: Float32Array, vNew: Float32Array): void {
    const L = this.layout;
    const q0 = this.q0(pos0);
    const q1 = L.quantized ? Math.max(q0, pos0 + nTok - L.window) : 0;
    for (const [s, words, fresh] of [[L.k, this.k, kNew], [L.v, this.v, vNew]] as const) {
      const row = new Float32Array(s.dim);
      for (let p = q0; p < q1; p++) {
        if (p < pos0) readRing(L, s, words, p, row);
        else row.set(fresh.subarray((p - pos0) * s.dim, (p - pos0 + 1) * s.dim));
        for (let g = 0; g < s.dim / s.group; g++) quantizeGroup(row, g * s.group, s.group, L.bits, words, p * s.rowWords + g * s.groupWords);
      }
      for (let p = Math.max(q1, pos0); p < pos0 + nTok; p++) writeRing(L, s, words, p, fresh.subarray((p - pos0) * s.dim, (p - pos0 + 1) * s.dim));
    }
    this.quantized = q1;
  }

  /** Rows 0..n-1 of one side as the attention reads them (n ≤ positions stored). */
  dequantize(which: 'k' | 'v', n: number, q0 = this.quantized): Float32Array {
    const L = this.layout;
    const s = which === 'k' ? L.k : L.v;
    const words = which === 'k' ? this.k : this.v;
    const out = new Float32Array(n * s.dim);
    const row = new Float32Array(s.dim);
    for (let p = 0; p < n; p++) {
      if (p < q0) {
        for (let c = 0; c < s.dim; c++) {
          const g = Math.floor(c / s.group);
          out[p * s.dim + c] = dequantAt(words, p * s.rowWords + g * s.groupWords, s.group, L.bits, c % s.group);
        }
      } else {
        readRing(L, s, words, p, row);
        out.set(row, p * s.dim);
      }
    }
    return out;
  }

  bytes(): number {
    return (this.k.length + this.v.length) * 4;
  }
}

function slotOf(L: KvLayout, s: KvSide, p: number): number {
  return s.ringOff + (p % Math.max(1, L.ringSlots)) * s.ringRowWords;
}

function readRing(L: KvLayout, s: KvSide, words: Uint32Array, p: number, out: Float32Array): void {
  const o = slotOf(L, s, p);
  if (L.mode === 'f32') {
    out.set(new Float32Array(words.buffer, words.byteOffset + o * 4, s.dim));
    return;
  }
  for (let c = 0; c < s.dim; c++) out[c] = c & 1 ? unpackHi(words[o + (c >> 1)]!) : unpackLo(words[o + (c >> 1)]!);
}

function writeRing(L: KvLayout, s: KvSide, words: Uint32Array, p: number, row: Float32Array): void {
  const o = slotOf(L, s, p);
  if (L.mode === 'f32') {
    new Float32Array(words.buffer, words.byteOffset + o * 4, s.dim).set(row);
    return;
  }
  for (let w = 0; w < s.ringRowWords; w++) words[o + w] = packF16Pair(row[2 * w]!, 2 * w + 1 < s.dim ? row[2 * w + 1]! : 0);
}

/**
 * Causal GQA attention of a batch at pos0 over the cache (positions < pos0, as stored) and the
 * batch's own f32 rows; float64 sums. Call before `store` for the same batch, as the GPU does.
 */
export function attentionRef(cache: KvLayerRef, q: Float32Array, kNew: Float32Array, vNew: Float32Array, nTok: number, pos0: number, s: AttnShape, o: AttnOptions = {}): Float32Array {
  const scale = o.scale ?? 1 / Math.sqrt(s.headDimK);
  const cap = o.softcap ?? 0;
  const { nHead, nHeadKv, headDimK: dk, headDimV: dv } = s;
  const q0 = cache.q0(pos0);
  const kAll = new Float32Array((pos0 + nTok) * nHeadKv * dk);
  const vAll = new Float32Array((pos0 + nTok) * nHeadKv * dv);
  kAll.set(cache.dequantize('k', pos0, q0));
  vAll.set(cache.dequantize('v', pos0, q0));
  kAll.set(kNew.subarray(0, nTok * nHeadKv * dk), pos0 * nHeadKv * dk);
  vAll.set(vNew.subarray(0, nTok * nHeadKv * dv), pos0 * nHeadKv * dv);
  const out = new Float32Array(nTok * nHead * dv);
  const scores = new Float64Array(pos0 + nTok);
  const acc = new Float64Array(dv);
  const grp = nHead / nHeadKv;
  for (let t = 0; t < nTok; t++) {
    const n = pos0 + t + 1;
    const lo = attnFirst(n, o.window ?? 0);
    for (let h = 0; h < nHead; h++) {
      const kvh = Math.floor(h / grp);
      let max = -Infinity;
      for (let p = lo; p < n; p++) {
        let d = 0;
        for (let i = 0; i < dk; i++) d += q[t * nHead * dk + h * dk + i]! * kAll[(p * nHeadKv + kvh) * dk + i]!;
        scores[p] = attnScore(d, scale, cap);
        max = Math.max(max, scores[p]!);
      }
      let sum = 0;
      for (let p = lo; p < n; p++) sum += scores[p] = Math.exp(scores[p]! - max);
      acc.fill(0);
      for (let p = lo; p < n; p++) for (let i = 0; i < dv; i++) acc[i] = acc[i]! + scores[p]! * vAll[(p * nHeadKv + kvh) * dv + i]!;
      for (let i = 0; i < dv; i++) out[t * nHead * dv + h * dv + i] = acc[i]! / sum;
    }
  }
  return out;
}
