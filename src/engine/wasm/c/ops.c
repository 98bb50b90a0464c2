// The per-token element-wise ops of the graph (src/engine/graph.ts) in WASM, the counterparts of
// src/engine/cpu/math.ts's rmsnorm, rope, swiglu and geglu (the references they are tested
// against): f32 with SIMD128 where the loop is wide, sums in f32 (the references sum in float64).
#include "common.h"

// out[t] = w ⊙ x[t] / sqrt(mean(x[t]²) + eps), row by row (n a multiple of 4 or not).
EXPORT(rmsnorm) void rmsnorm(float *out, const float *x, const float *w, int nTok, int n, float eps) {
  for (int t = 0; t < nTok; t++) {
    const float *r = x + (size_t)t * n;
    float *o = out + (size_t)t * n;
    v128_t acc = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      const v128_t v = wasm_v128_load(r + i);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(v, v));
    }
    float ss = hsum_f32(acc);
    for (; i < n; i++) ss += r[i] * r[i];
    const float inv = 1.0f / __builtin_sqrtf(ss / (float)n + eps);
    const v128_t vi = wasm_f32x4_splat(inv);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(o + i, wasm_f32x4_mul(wasm_v128_load(w + i), wasm_f32x4_mul(wasm_v128_load(r + i), vi)));
    for (; i < n; i++) o[i] = w[i] * (r[i] * inv);
  }
}

// RoPE in place on each head's first 2·half dims: pairs (2j, 2j+1), or (j, j+half) with neox;
// cos/sin[t·half + j] (attn_factor already in them).
EXPORT(rope) void rope(float *x, int nTok, int nHeads, int headDim, const float *cs, const float *sn, int half, int neox) {
  const int step = neox ? 1 : 2, other = neox ? half : 1;
  for (int t = 0; t < nTok; t++) {
    const float *c = cs + (size_t)t * half, *s = sn + (size_t)t * half;
    for (int h = 0; h < nHeads; h++) {
      float *b = x + ((size_t)t * nHeads + h) * headDim;
      int j = 0;
      if (neox)
        for (; j + 4 <= half; j += 4) {
          const v128_t x0 = wasm_v128_load(b + j), x1 = wasm_v128_load(b + j + half);
          const v128_t vc = wasm_v128_load(c + j), vs = wasm_v128_load(s + j);
          wasm_v128_store(b + j, wasm_f32x4_sub(wasm_f32x4_mul(x0, vc), wasm_f32x4_mul(x1, vs)));
          wasm_v128_store(b + j + half, wasm_f32x4_add(wasm_f32x4_mul(x0, vs), wasm_f32x4_mul(x1, vc)));
        }
      for (; j < half; j++) {
        float *p = b + step * j;
        const float x0 = p[0], x1 = p[other];
        p[0] = x0 * c[j] - x1 * s[j];
        p[other] = x0 * s[j] + x1 * c[j];
      }
    }
  }
}

// gate[i] = silu(gate[i]) · up[i]; silu(g) = g / (1 + e^-g), with e^-|g| only (no overflow).
EXPORT(swiglu) void swiglu(float *g, const float *u, int n) {
  for (int i = 0; i < n; i++) {
    const float x = g[i], e = exp_neg(-__builtin_fabsf(x));
    const float sig = x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
    g[i] = x * sig * u[i];
  }
}

// gate[i] = gelu(gate[i]) · up[i], GELU's tanh form (ggml_gelu; the gemma FFN).
EXPORT(geglu) void geglu(float *g, const float *u, int n) {
  const float c = 0.7978845608028654f;
  for (int i = 0; i < n; i++) {
    const float x = g[i];
    g[i] = 0.5f * x * (1.0f + tanh_(c * x * (1.0f + 0.044715f * x * x))) * u[i];
  }
}
