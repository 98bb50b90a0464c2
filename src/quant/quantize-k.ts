// K-quant encoders: choose levels with quant-super, then pack them in exactly the byte layouts that
// dequant-k.ts documents (and the WGSL kernels read).
import { quantizeAffineSuper, quantizeSymSuper } from './quant-super.ts';

function putF16(out: Uint8Array, o: number, bits: number): void {
  out[o] = bits & 255;
  out[o + 1] = bits >> 8;
}

/** Q2_K (84 bytes): 16 sub-blocks of 16, levels 0..3, 4-bit scale | 4-bit min per sub-block. */
export function quantizeQ2_K(x: Float32Array, out: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 84;
    const r = quantizeAffineSuper(x, b * 256, 16, 16, 3, 15);
    for (let j = 0; j < 16; j++) out[o + j] = r.scales[j]! | (r.mins[j]! << 4);
    out.fill(0, o + 16, o + 80);
    for (let i = 0; i < 256; i++) {
      const half = i >> 7, s = (i >> 5) & 3, lb = i & 31;
      out[o + 16 + half * 32 + lb]! |= r.levels[i]! << (2 * s);
    }
    putF16(out, o + 80, r.d);
    putF16(out, o + 82, r.dmin);
  }
}

/** Q3_K (110 bytes): 16 sub-blocks of 16, levels -4..3 (2 low bits + hmask bit), 6-bit signed scales. */
export function quantizeQ3_K(x: Float32Array, out: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 110;
    const r = quantizeSymSuper(x, b * 256, 16, 16, -4, 3, -32, 31);
    out.fill(0, o, o + 108);
    for (let i = 0; i < 256; i++) {
      const L = r.levels[i]! + 4; // 0..7
      const half = i >> 7, s = (i >> 5) & 3, lb = i & 31;
      out[o + 32 + half * 32 + lb]! |= (L & 3) << (2 * s);
      if (L >= 4) out[o + lb]! |= 1 << (half * 4 + s);
    }
    for (let j = 0; j < 16; j++) {
      const v = r.scales[j]! + 32; // 0..63
      if (j < 8) out[o + 96 + j]! |= v & 15;
      else out[o + 96 + j - 8]! |= (v & 15) << 4;
      out[o + 96 + 8 + (j & 3)]! |= (v >> 4) << (2 * (j >> 2));
    }
    putF16(out, o + 108, r.d);
  }
}

/** Q4_K (144 bytes): 8 sub-blocks of 32, levels 0..15, 6-bit scale and min per sub-block. */
export function quantizeQ4_K(x: Float32Array, out: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 144;
    const r = quantizeAffineSuper(x, b * 256, 8, 32, 15, 63);
    putF16(out, o, r.d);
    putF16(out, o + 2, r.dmin);
    const sc = r.scales, mn = r.mins;
    for (let j = 0; j < 4; j++) {
      out[o + 4 + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
      out[o + 8 + j] = (mn[j]! & 63) | ((mn[j + 4]! >> 4) << 6);
      out[o + 12 + j] = (sc[j + 4]! & 15) | ((mn[j + 4]! & 15) << 4);
    }
    for (let k = 0; k < 4; k++) {
      for (let l = 0; l < 32; l++) out[o + 16 + k * 32 + l] = r.levels[k * 64 + l]! | (r.levels[k * 64 + 32 + l]! << 4);
    }
  }
}

/** Q6_K (210 bytes): 16 sub-blocks of 16, levels -32..31, int8 scales. */
export function quantizeQ6_K(x: Float32Array, out: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 210;
    const r = quantizeSymSuper(x, b * 256, 16, 16, -32, 31, -128, 127);
    const L = (i: number): number => r.levels[i]! + 32;
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const y = h * 128 + l;
        out[o + h * 64 + l] = (L(y) & 15) | ((L(y + 64) & 15) << 4);
        out[o + h * 64 + l + 32] = (L(y + 32) & 15) | ((L(y + 96) & 15) << 4);
        out[o + 128 + h * 32 + l] = (L(y) >> 4) | ((L(y + 32) >> 4) << 2) | ((L(y + 64) >> 4) << 4) | ((L(y + 96) >> 4) << 6);
      }
    }
    for (let j = 0; j < 16; j++) out[o + 192 + j] = r.scales[j]! & 255;
    putF16(out, o + 208, r.d);
  }
}
