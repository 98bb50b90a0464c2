// CPU reference dequantization of the 256-element "K" super-block types, in ggml's f32 arithmetic
// (Math.fround after each float op). The byte layouts below are what the WGSL kernels mirror.
import { f16Table } from './f16.ts';

const fr = Math.fround;

function f16At(h: Float32Array, src: Uint8Array, o: number): number {
  return h[src[o]! | (src[o + 1]! << 8)]!;
}

/**
 * The 6-bit (scale, min) pair `j` (0..7) of Q4_K/Q5_K's 12 packed bytes `s`:
 * j < 4: scale = s[j] & 63, min = s[j+4] & 63;
 * j >= 4: scale = (s[j+4] & 15) | (s[j-4] >> 6) << 4, min = (s[j+4] >> 4) | (s[j] >> 6) << 4.
 */
export function scaleMinK4(src: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [src[s + j]! & 63, src[s + j + 4]! & 63];
  return [(src[s + j + 4]! & 15) | ((src[s + j - 4]! >> 6) << 4), (src[s + j + 4]! >> 4) | ((src[s + j]! >> 6) << 4)];
}

/**
 * Q2_K, 84 bytes: scales[16] @0 (low nibble scale, high nibble min, per 16 weights), qs[64] @16
 * (2 bits), d f16 @80, dmin f16 @82. Weight order: two halves of 128; in a half, shift s=0,2,4,6
 * takes bits s..s+1 of qs[32 bytes] for 32 weights (16 per scale).  y = d*sc*q - dmin*m
 */
export function dequantQ2_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 84;
    const d = f16At(h, src, o + 80);
    const dmin = f16At(h, src, o + 82);
    let y = b * 256;
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + 16 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = src[o + is++]!;
          const dl = fr(d * (sc & 15));
          const ml = fr(dmin * (sc >> 4));
          for (let l = 0; l < 16; l++) dst[y++] = fr(fr(dl * ((src[q + part * 16 + l]! >> shift) & 3)) - ml);
        }
      }
    }
  }
}

/**
 * The 16 signed 6-bit scales of Q3_K from its 12 packed bytes: low 4 bits from byte j (j < 8, low
 * nibble) or byte j-8 (high nibble), high 2 bits from byte 8 + j%4 at bit 2*floor(j/4); minus 32.
 */
export function scalesQ3_K(src: Uint8Array, s: number, out: Int8Array): void {
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? src[s + j]! & 15 : src[s + j - 8]! >> 4;
    const high = (src[s + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3;
    out[j] = (low | (high << 4)) - 32;
  }
}

/**
 * Q3_K, 110 bytes: hmask[32] @0 (3rd bit: weight i of a 128-half uses bit (half*4 + shift/2) of
 * hmask[i % 32]), qs[64] @32 (low 2 bits, same order as Q2_K), scales[12] @96, d f16 @108.
 * q = low2 - (high bit set ? 0 : 4), in -4..3.  y = d*(sc-32)*q
 */
export function dequantQ3_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  const scales = new Int8Array(16);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 110;
    const d = f16At(h, src, o + 108);
    scalesQ3_K(src, o + 96, scales);
    let y = b * 256;
    let is = 0;
    let m = 1;
    for (let half = 0; half < 2; half++) {
      const q = o + 32 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const dl = fr(d * scales[is++]!);
          for (let l = part * 16; l < part * 16 + 16; l++) {
            const v = ((src[q + l]! >> shift) & 3) - (src[o + l]! & m ? 0 : 4);
            dst[y++] = fr(dl * v);
          }
        }
        m <<= 1;
      }
    }
  }
}

/**
 * Q4_K, 144 bytes: d f16 @0, dmin f16 @2, scales[12] @4 (8 packed 6-bit scale/min pairs, see
 * scaleMinK4), qs[128] @16. Each 64 weights use 32 bytes: low nibbles with pair 2k, high with 2k+1.
 * y = d*sc*q - dmin*m
 */
export function dequantQ4_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 144;
    const d = f16At(h, src, o);
    const dmin = f16At(h, src, o + 2);
    let y = b * 256;
    for (let k = 0; k < 4; k++) {
      const q = o + 16 + k * 32;
      const [sc1, m1] = scaleMinK4(src, o + 4, 2 * k);
      const [sc2, m2] = scaleMinK4(src, o + 4, 2 * k + 1);
      const d1 = fr(d * sc1), mm1 = fr(dmin * m1), d2 = fr(d * sc2), mm2 = fr(dmin * m2);
      for (let l = 0; l < 32; l++) dst[y++] = fr(fr(d1 * (src[q + l]! & 15)) - mm1);
      for (let l = 0; l < 32; l++) dst[y++] = fr(fr(d2 * (src[q + l]! >> 4)) - mm2);
    }
  }
}

/**
 * Q5_K, 176 bytes: d f16 @0, dmin f16 @2, scales[12] @4 (as Q4_K), qh[32] @16 (5th bit: weights of
 * group g (0..7, 32 each) use bit g of qh[l]), qs[128] @48 (as Q4_K).  y = d*sc*q - dmin*m
 */
export function dequantQ5_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 176;
    const d = f16At(h, src, o);
    const dmin = f16At(h, src, o + 2);
    let y = b * 256;
    for (let k = 0; k < 4; k++) {
      const q = o + 48 + k * 32;
      const [sc1, m1] = scaleMinK4(src, o + 4, 2 * k);
      const [sc2, m2] = scaleMinK4(src, o + 4, 2 * k + 1);
      const d1 = fr(d * sc1), mm1 = fr(dmin * m1), d2 = fr(d * sc2), mm2 = fr(dmin * m2);
      const u1 = 1 << (2 * k), u2 = 2 << (2 * k);
      for (let l = 0; l < 32; l++) dst[y++] = fr(fr(d1 * ((src[q + l]! & 15) + (src[o + 16 + l]! & u1 ? 16 : 0))) - mm1);
      for (let l = 0; l < 32; l++) dst[y++] = fr(fr(d2 * ((src[q + l]! >> 4) + (src[o + 16 + l]! & u2 ? 16 : 0))) - mm2);
    }
  }
}

/**
 * Q6_K, 210 bytes: ql[128] @0 (low 4 bits), qh[64] @128 (high 2 bits), scales int8[16] @192, d f16
 * @208. Per half of 128 (ql += 64, qh += 32, sc += 8), for l in 0..31:
 * w[l] = ql[l]&15 | (qh[l]>>0&3)<<4, w[l+32] = ql[l+32]&15 | (qh[l]>>2&3)<<4,
 * w[l+64] = ql[l]>>4 | (qh[l]>>4&3)<<4, w[l+96] = ql[l+32]>>4 | (qh[l]>>6&3)<<4; scale index
 * l/16 + 0,2,4,6.  y = d*sc*(w-32)
 */
export function dequantQ6_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 210;
    const d = f16At(h, src, o + 208);
    for (let half = 0; half < 2; half++) {
      const ql = o + half * 64, qh = o + 128 + half * 32, sc = o + 192 + half * 8;
      const y = b * 256 + half * 128;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const a = src[ql + l]!, c = src[ql + l + 32]!, hb = src[qh + l]!;
        const q1 = ((a & 15) | ((hb & 3) << 4)) - 32;
        const q2 = ((c & 15) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((c >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        dst[y + l] = fr(fr(d * ((src[sc + is]! << 24) >> 24)) * q1);
        dst[y + l + 32] = fr(fr(d * ((src[sc + is + 2]! << 24) >> 24)) * q2);
        dst[y + l + 64] = fr(fr(d * ((src[sc + is + 4]! << 24) >> 24)) * q3);
        dst[y + l + 96] = fr(fr(d * ((src[sc + is + 6]! << 24) >> 24)) * q4);
      }
    }
  }
}

/** Q8_K, 292 bytes: d f32 @0, qs int8[256] @4, bsums int16[16] @260 (unused here).  y = d*q */
export function dequantQ8_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 292;
    const d = v.getFloat32(o, true);
    for (let j = 0; j < 256; j++) dst[b * 256 + j] = fr(d * ((src[o + 4 + j]! << 24) >> 24));
  }
}
