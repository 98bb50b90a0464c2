// CPU reference dequantization of the plain and 32-element block types. Arithmetic is f32 as in
// ggml's to_float: Math.fround after each float operation (doing one f32 op in double and rounding
// once is exact, since double has more than 2*24+2 bits). Each function writes `nBlocks` blocks
// from `src` (starting at byte 0) into `dst` (starting at element 0).
import { bf16ToF32, f16Table } from './f16.ts';

const fr = Math.fround;

export function dequantF32(src: Uint8Array, dst: Float32Array, n: number): void {
  const v = new DataView(src.buffer, src.byteOffset, n * 4);
  for (let i = 0; i < n; i++) dst[i] = v.getFloat32(i * 4, true);
}

export function dequantF16(src: Uint8Array, dst: Float32Array, n: number): void {
  const h = f16Table();
  for (let i = 0; i < n; i++) dst[i] = h[src[2 * i]! | (src[2 * i + 1]! << 8)]!;
}

export function dequantBF16(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = bf16ToF32(src[2 * i]! | (src[2 * i + 1]! << 8));
}

/** Q8_0, 34 bytes / 32 weights: d f16 @0, qs int8[32] @2.  y = d * q */
export function dequantQ8_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 34;
    const d = h[src[o]! | (src[o + 1]! << 8)]!;
    for (let j = 0; j < 32; j++) dst[b * 32 + j] = fr(d * ((src[o + 2 + j]! << 24) >> 24));
  }
}

/** Q4_0, 18 bytes / 32: d f16 @0, qs[16] @2 (low nibbles = weights 0..15, high = 16..31).  y = (q-8)*d */
export function dequantQ4_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 18;
    const d = h[src[o]! | (src[o + 1]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      dst[b * 32 + j] = fr(((q & 15) - 8) * d);
      dst[b * 32 + j + 16] = fr(((q >> 4) - 8) * d);
    }
  }
}

/** Q4_1, 20 bytes / 32: d f16 @0, m f16 @2, qs[16] @4.  y = q*d + m */
export function dequantQ4_1(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 20;
    const d = h[src[o]! | (src[o + 1]! << 8)]!;
    const m = h[src[o + 2]! | (src[o + 3]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      dst[b * 32 + j] = fr(fr((q & 15) * d) + m);
      dst[b * 32 + j + 16] = fr(fr((q >> 4) * d) + m);
    }
  }
}

/** Q5_0, 22 bytes / 32: d f16 @0, qh u32 @2 (bit j = 5th bit of weight j), qs[16] @6.  y = (q-16)*d */
export function dequantQ5_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 22;
    const d = h[src[o]! | (src[o + 1]! << 8)]!;
    const qh = (src[o + 2]! | (src[o + 3]! << 8) | (src[o + 4]! << 16) | (src[o + 5]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      const x0 = ((q & 15) | (((qh >>> j) & 1) << 4)) - 16;
      const x1 = ((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
      dst[b * 32 + j] = fr(x0 * d);
      dst[b * 32 + j + 16] = fr(x1 * d);
    }
  }
}

/** Q5_1, 24 bytes / 32: d f16 @0, m f16 @2, qh u32 @4, qs[16] @8.  y = q*d + m */
export function dequantQ5_1(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  const h = f16Table();
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 24;
    const d = h[src[o]! | (src[o + 1]! << 8)]!;
    const m = h[src[o + 2]! | (src[o + 3]! << 8)]!;
    const qh = (src[o + 4]! | (src[o + 5]! << 8) | (src[o + 6]! << 16) | (src[o + 7]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      const x0 = (q & 15) | (((qh >>> j) & 1) << 4);
      const x1 = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      dst[b * 32 + j] = fr(fr(x0 * d) + m);
      dst[b * 32 + j + 16] = fr(fr(x1 * d) + m);
    }
  }
}
