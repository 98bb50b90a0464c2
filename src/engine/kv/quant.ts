// CPU reference of the KV group quantizer, written step by step in f32 (Math.fround) so that it
// follows the WGSL kernel's arithmetic: d = (max - min) · f32(1/levels); d and min are rounded to
// f16 and packed in one word (d low, min high); codes use the rounded values:
// q = clamp(floor((x - m) · (1/d) + 0.5), 0, levels). The GPU's 1/d and f32→f16 conversion may
// differ from these by an ulp, so GPU and CPU agree up to one code step at rounding boundaries.
import { f16ToF32, f32ToF16 } from '../../quant/f16.ts';

const fr = Math.fround;

export function levels(bits: number): number {
  return (1 << bits) - 1;
}

export function packF16Pair(lo: number, hi: number): number {
  return (f32ToF16(lo) | (f32ToF16(hi) << 16)) >>> 0;
}

export function unpackLo(w: number): number {
  return f16ToF32(w & 0xffff);
}

export function unpackHi(w: number): number {
  return f16ToF32(w >>> 16);
}

/**
 * Quantize x[off .. off+g) into out[base ..]: one scale word, then the codes
 * (b ∈ {2,4,8}: 32/b per word, low bits first; b = 3: a 2-bit plane then a 1-bit plane).
 */
export function quantizeGroup(x: ArrayLike<number>, off: number, g: number, bits: number, out: Uint32Array, base: number): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < g; i++) {
    const v = fr(x[off + i]!);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const L = levels(bits);
  const d = fr(fr(hi - lo) * fr(1 / L));
  const sw = packF16Pair(d, lo);
  out[base] = sw;
  const ds = unpackLo(sw);
  const ms = unpackHi(sw);
  const inv = ds > 0 ? fr(1 / ds) : 0;
  const nw = bits === 3 ? Math.ceil(g / 16) + Math.ceil(g / 32) : Math.ceil((g * bits) / 32);
  out.fill(0, base + 1, base + 1 + nw);
  const plane1 = base + 1 + Math.ceil(g / 16);
  for (let i = 0; i < g; i++) {
    const t = Math.floor(fr(fr(fr(x[off + i]!) - ms) * inv) + 0.5);
    const q = Math.min(L, Math.max(0, t));
    if (bits === 3) {
      out[base + 1 + (i >> 4)] |= (q & 3) << ((i & 15) * 2);
      out[plane1 + (i >> 5)] |= (q >> 2) << (i & 31);
    } else {
      const per = 32 / bits;
      out[base + 1 + Math.floor(i / per)] |= q << ((i % per) * bits);
    }
  }
  for (let w = base + 1; w < base + 1 + nw; w++) out[w] = out[w]! >>> 0;
}

/** The code of element i of the group starting at word `base`. */
export function codeAt(words: Uint32Array, base: number, g: number, bits: number, i: number): number {
  if (bits === 3) {
    const lo = (words[base + 1 + (i >> 4)]! >>> ((i & 15) * 2)) & 3;
    const hi = (words[base + 1 + Math.ceil(g / 16) + (i >> 5)]! >>> (i & 31)) & 1;
    return lo | (hi << 2);
  }
  const per = 32 / bits;
  return (words[base + 1 + Math.floor(i / per)]! >>> ((i % per) * bits)) & levels(bits);
}

/** Dequantized element i of the group at `base`: m + d·q, as the kernel computes it (f32). */
export function dequantAt(words: Uint32Array, base: number, g: number, bits: number, i: number): number {
  const sw = words[base]!;
  return fr(unpackHi(sw) + fr(unpackLo(sw) * codeAt(words, base, g, bits, i)));
}
