// Normalized Walsh-Hadamard rotation of each head (length a power of two), in place. H/√n is
// symmetric and orthogonal, so it is its own inverse and preserves dot products: scores computed
// from rotated q and k equal the unrotated ones, and rotating the attention output undoes the
// rotation of V. CPU reference of shaders/kv_rotate.wgsl (sums in f64 here, f32 there).

export function rotateHeads(x: Float32Array, rows: number, nHead: number, headDim: number, offset = 0, stride = nHead * headDim): void {
  const buf = new Float64Array(headDim);
  const norm = 1 / Math.sqrt(headDim);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < nHead; h++) {
      const o = offset + r * stride + h * headDim;
      for (let i = 0; i < headDim; i++) buf[i] = x[o + i]!;
      for (let len = 1; len < headDim; len *= 2) {
        for (let i = 0; i < headDim; i += 2 * len) {
          for (let j = i; j < i + len; j++) {
            const a = buf[j]!;
            const b = buf[j + len]!;
            buf[j] = a + b;
            buf[j + len] = a - b;
          }
        }
      }
      for (let i = 0; i < headDim; i++) x[o + i] = buf[i]! * norm;
    }
  }
}
