// The CPU backend's kernels over plain Float32Arrays. Sums run in JS numbers (float64), so the CPU
// backend is a tighter oracle than f32 accumulation; only stores round to f32. Hot loops index
// typed arrays directly and allocate nothing per element.

/**
 * y[t][o] = sum_i w[o][i] * x[t][i] for t < nTok: w is row-major [nOut][nIn] (GGUF ne = [nIn, nOut]).
 * Four tokens share each pass over a weight row, so batched prefill reads the weights nTok/4 times.
 */
export function matmul(y: Float32Array, x: Float32Array, w: Float32Array, nTok: number, nIn: number, nOut: number): void {
  let t = 0;
  for (; t + 4 <= nTok; t += 4) {
    const x0 = t * nIn, x1 = x0 + nIn, x2 = x1 + nIn, x3 = x2 + nIn;
    for (let o = 0; o < nOut; o++) {
      const r = o * nIn;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < nIn; i++) {
        const wv = w[r + i]!;
        s0 += wv * x[x0 + i]!;
        s1 += wv * x[x1 + i]!;
        s2 += wv * x[x2 + i]!;
        s3 += wv * x[x3 + i]!;
      }
      y[t * nOut + o] = s0;
      y[(t + 1) * nOut + o] = s1;
      y[(t + 2) * nOut + o] = s2;
      y[(t + 3) * nOut + o] = s3;
    }
  }
  for (; t < nTok; t++) {
    const xo = t * nIn;
    for (let o = 0; o < nOut; o++) {
      const r = o * nIn;
      let s0 = 0, s1 = 0;
      let i = 0;
      for (; i + 2 <= nIn; i += 2) {
        s0 += w[r + i]! * x[xo + i]!;
        s1 += w[r + i + 1]! * x[xo + i + 1]!;
      }
      if (i < nIn) s0 += w[r + i]! * x[xo + i]!;
      y[t * nOut + o] = s0 + s1;
    }
  }
}

/** out[t] = w * x[t] / sqrt(mean(x[t]^2) + eps), row by row. */
export function rmsnorm(out: Float32Array, x: Float32Array, w: Float32Array, nTok: number, n: number, eps: number): void {
  for (let t = 0; t < nTok; t++) {
    const o = t * n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[o + i]! * x[o + i]!;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[o + i] = w[i]! * (x[o + i]! * inv);
  }
}

/** Rotation tables for positions pos..pos+nTok-1: cos/sin [nTok][ropeDim/2]. */
export interface RopeTable {
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly half: number;
}

/**
 * theta(p, j) = p * ropeScale * base^(-2j/ropeDim) / freqFactor[j] (freq factors: llama-3's
 * rope_freqs or phi3's LongRoPE factors, when the model has them); cos and sin are multiplied by
 * `mscale` (LongRoPE's attn_factor), as ggml's rope does.
 */
export function ropeTable(pos: number, nTok: number, ropeDim: number, base: number, scale: number, freqFactors?: Float32Array, mscale = 1): RopeTable {
  const half = ropeDim / 2;
  const cos = new Float64Array(nTok * half);
  const sin = new Float64Array(nTok * half);
  for (let j = 0; j < half; j++) {
    let inv = Math.pow(base, (-2 * j) / ropeDim);
    if (freqFactors) inv /= freqFactors[j]!;
    for (let t = 0; t < nTok; t++) {
      const theta = (pos + t) * scale * inv;
      cos[t * half + j] = Math.cos(theta) * mscale;
      sin[t * half + j] = Math.sin(theta) * mscale;
    }
  }
  return { cos, sin, half };
}

/**
 * RoPE in place on each head's first ropeDim dims: NORMAL mode rotates interleaved pairs (2j, 2j+1),
 * NEOX mode pairs (j, j + ropeDim/2) (GGUF files of HF-layout models: qwen, gemma, phi3).
 */
export function rope(x: Float32Array, nTok: number, nHeads: number, headDim: number, table: RopeTable, neox = false): void {
  const { cos, sin, half } = table;
  const step = neox ? 1 : 2;
  const other = neox ? half : 1;
  const stride = nHeads * headDim;
  for (let t = 0; t < nTok; t++) {
    for (let h = 0; h < nHeads; h++) {
      const b = t * stride + h * headDim;
      for (let j = 0; j < half; j++) {
        const c = cos[t * half + j]!;
        const s = sin[t * half + j]!;
        const i0 = b + step * j;
        const x0 = x[i0]!;
        const x1 = x[i0 + other]!;
        x[i0] = x0 * c - x1 * s;
        x[i0 + other] = x0 * s + x1 * c;
      }
    }
  }
}

/** gate[i] = silu(gate[i]) * up[i]. */
export function swiglu(gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/** gate[i] = gelu(gate[i]) * up[i], GELU's tanh form (ggml_gelu, the gemma FFN). */
export function geglu(gate: Float32Array, up: Float32Array, n: number): void {
  const c = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    gate[i] = 0.5 * g * (1 + Math.tanh(c * g * (1 + 0.044715 * g * g))) * up[i]!;
  }
}

/** x = tanh(x / cap) * cap (gemma2's logit soft-cap). */
export function softcap(x: Float32Array, n: number, cap: number): void {
  for (let i = 0; i < n; i++) x[i] = Math.tanh(x[i]! / cap) * cap;
}

/** x[i] *= s */
export function scaleInPlace(x: Float32Array, n: number, s: number): void {
  for (let i = 0; i < n; i++) x[i] = x[i]! * s;
}

/** x[t][i] += b[i] for nTok rows of n. */
export function addBias(x: Float32Array, b: Float32Array, nTok: number, n: number): void {
  for (let t = 0; t < nTok; t++) for (let i = 0; i < n; i++) x[t * n + i] = x[t * n + i]! + b[i]!;
}

export interface AttentionShape {
  nHead: number;
  nHeadKv: number;
  headDimK: number;
  headDimV: number;
}

/**
 * Causal GQA attention for nTok queries at positions pos..pos+nTok-1 against a KV cache holding
 * positions 0..pos+nTok-1 ([pos][nHeadKv*headDim]). Query head h reads KV head h / (nHead/nHeadKv).
 * out: [nTok][nHead*headDimV]. `scores` must hold pos+nTok entries.
 */
export function attention(
  out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array,
  nTok: number, pos: number, s: AttentionShape, scores: Float64Array,
): void {
  const { nHead, nHeadKv, headDimK: dk, headDimV: dv } = s;
  const group = nHead / nHeadKv;
  const scale = 1 / Math.sqrt(dk);
  const kStride = nHeadKv * dk;
  const vStride = nHeadKv * dv;
  const acc = new Float64Array(dv);
  for (let t = 0; t < nTok; t++) {
    const n = pos + t + 1; // causal: this query sees positions 0..pos+t
    for (let h = 0; h < nHead; h++) {
      const kvh = Math.floor(h / group);
      const qo = t * nHead * dk + h * dk;
      let max = -Infinity;
      for (let p = 0; p < n; p++) {
        const ko = p * kStride + kvh * dk;
        let d = 0;
        for (let i = 0; i < dk; i++) d += q[qo + i]! * kCache[ko + i]!;
        d *= scale;
        scores[p] = d;
        if (d > max) max = d;
      }
      let sum = 0;
      for (let p = 0; p < n; p++) {
        const e = Math.exp(scores[p]! - max);
        scores[p] = e;
        sum += e;
      }
      // Walk the V cache row by row (contiguous) and accumulate in float64.
      acc.fill(0, 0, dv);
      for (let p = 0; p < n; p++) {
        const a = scores[p]!;
        const vo = p * vStride + kvh * dv;
        for (let i = 0; i < dv; i++) acc[i] = acc[i]! + a * vCache[vo + i]!;
      }
      const oo = t * nHead * dv + h * dv;
      for (let i = 0; i < dv; i++) out[oo + i] = acc[i]! / sum;
    }
  }
}

/** a[i] += b[i] */
export function addInPlace(a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] = a[i]! + b[i]!;
}
