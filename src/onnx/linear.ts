// A linear layer y = x · Wᵀ in one of two forms:
//  - 'f32': MatMul with the weight stored transposed ([in, out]), as ONNX MatMul wants B.
//  - 'q4':  com.microsoft MatMulNBits (4 bits, blocks of 32 along the input dim, one f32 scale per
//           block, the default zero point 8): the layout onnxruntime's CPU, WASM and WebGPU kernels
//           read directly, so weights stay 4-bit in memory. The weight stays [out][in] (N, K).
import type { GraphBuilder } from './graph-builder.ts';
import { transpose, type Matrix } from './weights.ts';

export type WeightFormat = 'f32' | 'q4';

export const Q4_BLOCK = 32;

export interface PackedQ4 {
  /** [N][kBlocks][Q4_BLOCK / 2] bytes: element 2i in the low nibble, 2i+1 in the high one. */
  packed: Uint8Array;
  /** [N][kBlocks] */
  scales: Float32Array;
  kBlocks: number;
}

/**
 * Round-to-nearest 4-bit blocks, ggml Q4_0's rule: d = (the value of largest magnitude) / -8, so
 * that value maps to q = 0 exactly and the rest to clamp(round(x/d) + 8, 0, 15). A ragged last block
 * is padded with zeros (MatMulNBits ignores columns past K).
 */
export function quantizeQ4(m: Matrix): PackedQ4 {
  const kBlocks = Math.ceil(m.cols / Q4_BLOCK);
  const packed = new Uint8Array(m.rows * kBlocks * (Q4_BLOCK / 2));
  const scales = new Float32Array(m.rows * kBlocks);
  const q = new Uint8Array(Q4_BLOCK);
  for (let r = 0; r < m.rows; r++) {
    for (let b = 0; b < kBlocks; b++) {
      const start = r * m.cols + b * Q4_BLOCK;
      const len = Math.min(Q4_BLOCK, m.cols - b * Q4_BLOCK);
      let max = 0;
      for (let i = 0; i < len; i++) {
        const v = m.data[start + i]!;
        if (Math.abs(v) > Math.abs(max)) max = v;
      }
      const d = Math.fround(max / -8);
      const id = d === 0 ? 0 : 1 / d;
      for (let i = 0; i < Q4_BLOCK; i++) {
        const v = i < len ? m.data[start + i]! : 0;
        q[i] = Math.max(0, Math.min(15, Math.trunc(v * id + 8.5)));
      }
      scales[r * kBlocks + b] = d;
      const base = (r * kBlocks + b) * (Q4_BLOCK / 2);
      for (let i = 0; i < Q4_BLOCK / 2; i++) packed[base + i] = q[2 * i]! | (q[2 * i + 1]! << 4);
    }
  }
  return { packed, scales, kBlocks };
}

/** Appends the layer to the graph; returns the output name. `name` is the weight's HF name. */
export function addLinear(g: GraphBuilder, x: string, name: string, m: Matrix, format: WeightFormat, out?: string): string {
  if (format === 'f32') {
    const w = g.addFloat(name, [m.cols, m.rows], transpose(m));
    return g.op1('MatMul', [x, w], {}, { out });
  }
  const q = quantizeQ4(m);
  return addMatMulNBits(g, x, name, { N: m.rows, K: m.cols, bits: 4, packed: q.packed, scales: q.scales }, out);
}

export interface PackedNBits {
  /** Output features (rows of W). */
  N: number;
  /** Input features. */
  K: number;
  /** 2, 4 or 8; blocks of Q4_BLOCK along K, the default zero point 2^(bits-1). */
  bits: number;
  /** [N][ceil(K / Q4_BLOCK)][Q4_BLOCK * bits / 8] bytes, lowest bits first within a byte. */
  packed: Uint8Array;
  /** [N * ceil(K / Q4_BLOCK)] */
  scales: Float32Array;
}

/** A MatMulNBits node over already-packed weights (the benchmark feeds it 2-bit blocks too). */
export function addMatMulNBits(g: GraphBuilder, x: string, name: string, w: PackedNBits, out?: string): string {
  const kBlocks = Math.ceil(w.K / Q4_BLOCK);
  const b = g.addUint8(name, [w.N, kBlocks, (Q4_BLOCK * w.bits) / 8], w.packed);
  const s = g.addFloat(`${name}_scales`, [w.N * kBlocks], w.scales);
  return g.op1('MatMulNBits', [x, b, s], { K: w.K, N: w.N, bits: w.bits, block_size: Q4_BLOCK }, { domain: 'com.microsoft', out });
}
