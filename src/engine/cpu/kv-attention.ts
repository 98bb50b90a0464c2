// Causal GQA attention of a batch over a compressed KV cache (src/engine/kv), the CPU backend's
// counterpart of shaders/attention.wgsl. Positions below the batch are read as stored: quantized
// rows are dequantized here, one KV head's slice of one position at a time into a scratch row that
// the query heads of its GQA group share; ring rows are decoded from f16 (or read in place when
// f32); the batch's own positions come from its fresh f32 rows. No full-precision copy of the
// cache is made. Sums run in float64 in the order of attentionRef (src/engine/kv/cache.ts), and
// the dequantized values are the reference's f32 values, so the result equals attentionRef's.
import { f16Table, roundToF16 } from '../../quant/f16.ts';
import { attnFirst, attnScore, type AttnOptions, type AttnShape, type KvLayerRef } from '../kv/cache.ts';
import type { KvLayout, KvSide } from '../kv/layout.ts';

/**
 * Channels c0..c0+n-1 of the quantized row at word `rowBase` into out[0..n): m + d·q per element.
 * d·q is exact (an f16 times a code < 256), and m + d·q is exact in float64 and rounds once on the
 * f32 store, so each value equals dequantAt's.
 */
function dequantSlice(words: Uint32Array, rowBase: number, s: KvSide, bits: number, c0: number, n: number, out: Float32Array, half: Float32Array): void {
  const { group, groupWords } = s;
  const end = c0 + n;
  let c = c0;
  let o = 0;
  while (c < end) {
    const g = Math.floor(c / group);
    const gs = g * group;
    const base = rowBase + g * groupWords;
    const sw = words[base]!;
    const d = half[sw & 0xffff]!;
    const m = half[sw >>> 16]!;
    const stop = Math.min(end, gs + group);
    if (bits === 3) {
      const lo = base + 1;
      const hi = lo + Math.ceil(group / 16);
      for (; c < stop; c++) {
        const i = c - gs;
        const q = ((words[lo + (i >> 4)]! >>> ((i & 15) * 2)) & 3) | (((words[hi + (i >> 5)]! >>> (i & 31)) & 1) << 2);
        out[o++] = m + d * q;
      }
    } else {
      const shift = bits === 8 ? 2 : bits === 4 ? 3 : 4; // log2(codes per word)
      const lane = (1 << shift) - 1;
      const mask = (1 << bits) - 1;
      for (; c < stop; c++) {
        const i = c - gs;
        out[o++] = m + d * ((words[base + 1 + (i >> shift)]! >>> ((i & lane) * bits)) & mask);
      }
    }
  }
}

/** Channels c0..c0+n-1 of the f16 ring row at word `o` into out[0..n). */
function halfSlice(words: Uint32Array, o: number, c0: number, n: number, out: Float32Array, half: Float32Array): void {
  for (let j = 0; j < n; j++) {
    const c = c0 + j;
    const w = words[o + (c >> 1)]!;
    out[j] = half[c & 1 ? w >>> 16 : w & 0xffff]!;
  }
}

/** Where one position's slice of one side lives: `arr[off ..]`, decoded into `seg` when it must be. */
interface Slice {
  arr: Float32Array;
  off: number;
}

class SideReader {
  private readonly L: KvLayout;
  private readonly s: KvSide;
  private readonly words: Uint32Array;
  private readonly f32: Float32Array;
  private readonly fresh: Float32Array;
  private readonly q0: number;
  private readonly pos0: number;
  private readonly seg: Float32Array;
  private readonly half = f16Table();
  readonly out: Slice = { arr: new Float32Array(0), off: 0 };

  constructor(L: KvLayout, s: KvSide, words: Uint32Array, fresh: Float32Array, q0: number, pos0: number, headDim: number) {
    this.L = L;
    this.s = s;
    this.words = words;
    this.f32 = new Float32Array(words.buffer, words.byteOffset, words.length);
    this.fresh = fresh;
    this.q0 = q0;
    this.pos0 = pos0;
    this.seg = new Float32Array(headDim);
  }

  /** Position p's channels c0..c0+n-1, in `this.out` (reused: read it before the next call). */
  read(p: number, c0: number, n: number): Slice {
    const { s, out } = this;
    if (p >= this.pos0) {
      out.arr = this.fresh;
      out.off = (p - this.pos0) * s.dim + c0;
    } else if (p < this.q0) {
      dequantSlice(this.words, p * s.rowWords, s, this.L.bits, c0, n, this.seg, this.half);
      out.arr = this.seg;
      out.off = 0;
    } else {
      const o = s.ringOff + (p % Math.max(1, this.L.ringSlots)) * s.ringRowWords;
      if (this.L.mode === 'f32') {
        out.arr = this.f32;
        out.off = o + c0;
      } else {
        halfSlice(this.words, o, c0, n, this.seg, this.half);
        out.arr = this.seg;
        out.off = 0;
      }
    }
    return out;
  }
}

/**
 * out[t][h·dv ..] = softmax(q·K^T·scale, causal) V for the batch at pos0 (nTok rows of q, kNew,
 * vNew, roped and, when the layout rotates, rotated). Call before cache.store for the same batch.
 * `scores` must hold (nHead/nHeadKv)·(pos0+nTok) entries.
 */
export function kvAttention(
  out: Float32Array, cache: KvLayerRef, q: Float32Array, kNew: Float32Array, vNew: Float32Array,
  nTok: number, pos0: number, sh: AttnShape, scores: Float64Array, o: AttnOptions = {},
): void {
  const { nHead, nHeadKv, headDimK: dk, headDimV: dv } = sh;
  const L = cache.layout;
  const q0 = cache.q0(pos0);
  const g = L.mode === 'f16' ? o.ggmlF16 : undefined;
  const K = new SideReader(L, L.k, cache.k, g ? kNew.map(roundToF16) : kNew, q0, pos0, dk);
  const V = new SideReader(L, L.v, cache.v, g ? vNew.map(roundToF16) : vNew, q0, pos0, dv);
  const grp = nHead / nHeadKv;
  const scale = o.scale ?? 1 / Math.sqrt(dk);
  const cap = o.softcap ?? 0;
  // ggmlF16: q as the f16 matmul sees it, and the score's scale where it is applied (f32).
  const qScale = g?.preScaleQ ? Math.fround(scale) : 1;
  const sScale = g ? (g.preScaleQ ? 1 : Math.fround(scale)) : scale;
  const qh = g ? new Float32Array(q.length) : q;
  if (g) for (let i = 0; i < q.length; i++) qh[i] = roundToF16(Math.fround(q[i]! * qScale));
  const acc = new Float64Array(grp * dv);
  const max = new Float64Array(grp);
  const sum = new Float64Array(grp);
  for (let t = 0; t < nTok; t++) {
    const n = pos0 + t + 1;
    const lo = attnFirst(n, o.window ?? 0);
    for (let kvh = 0; kvh < nHeadKv; kvh++) {
      const h0 = kvh * grp;
      max.fill(-Infinity);
      for (let p = lo; p < n; p++) {
        const { arr, off } = K.read(p, kvh * dk, dk);
        for (let j = 0; j < grp; j++) {
          const qo = t * nHead * dk + (h0 + j) * dk;
          let d = 0;
          for (let i = 0; i < dk; i++) d += qh[qo + i]! * arr[off + i]!;
          const sc = g ? Math.fround(attnScore(Math.fround(d), sScale, cap)) : attnScore(d, scale, cap);
          scores[j * n + p] = sc;
          if (sc > max[j]!) max[j] = sc;
        }
      }
      for (let j = 0; j < grp; j++) {
        let s = 0;
        const m = max[j]!;
        if (g) {
          // ggml's soft_max: expf in f32, the sum in double, then p * (f32)(1/sum), here to f16.
          for (let p = j * n + lo; p < (j + 1) * n; p++) s += scores[p] = Math.fround(Math.exp(Math.fround(scores[p]! - m)));
          const inv = Math.fround(1 / s);
          for (let p = j * n + lo; p < (j + 1) * n; p++) scores[p] = roundToF16(Math.fround(scores[p]! * inv));
          s = 1;
        } else for (let p = j * n + lo; p < (j + 1) * n; p++) s += scores[p] = Math.exp(scores[p]! - m);
        sum[j] = s;
      }
      acc.fill(0);
      for (let p = lo; p < n; p++) {
        const { arr, off } = V.read(p, kvh * dv, dv);
        for (let j = 0; j < grp; j++) {
          const a = scores[j * n + p]!;
          const ao = j * dv;
          for (let i = 0; i < dv; i++) acc[ao + i] = acc[ao + i]! + a * arr[off + i]!;
        }
      }
      for (let j = 0; j < grp; j++) {
        const oo = t * nHead * dv + (h0 + j) * dv;
        for (let i = 0; i < dv; i++) out[oo + i] = acc[j * dv + i]! / sum[j]!;
      }
    }
  }
}
