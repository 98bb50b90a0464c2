// Shared by the kernel files: block layouts of the quantized activations, f16 scales, SIMD helpers.
// Built for wasm32 with -msimd128 by scripts/build-wasm.ts (see there for why C and clang).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) 

// Activations quantized per 32 (for Q8_0/Q4_0 weights) and per 256 (Q8_K-style, for k-quants).
// Unlike ggml's block_q8_0, d stays f32: the activation's rounding is the only error we add.
typedef struct { float d; int8_t qs[32]; } act32;
// bsums[j]: sum of qs[16j..16j+15], so a k-quant's min (or Q6_K's -32 offset) costs one multiply
// per 16 weights instead of a pass over them. q16: qs widened to int16 once per matmul (not once
// per weight row), for kernels whose weight codes are widened to int16 anyway and go straight into
// i32x4.dot_i16x8_s (Q2_K); 512 bytes per 256 activations, which stay in cache across all rows.
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; int16_t q16[256]; } act256;

_Static_assert(sizeof(act32) == 36, "act32 layout");
_Static_assert(sizeof(act256) == 804, "act256 layout");

// An IEEE half as float: exact for normals and subnormals (the magnitude bits shifted into an f32
// and rescaled by 2^112); inf/NaN halves come out finite, which never occurs in weight scales.
static inline float f16_to_f32(uint16_t h) {
  union { uint32_t u; float f; } v = { (uint32_t)(h & 0x7fff) << 13 };
  float f = v.f * 0x1p112f;
  return (h & 0x8000) ? -f : f;
}

static inline float f16_at(const uint8_t *p) { return f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

// Sum of a[i]*b[i] over 16 int8 lanes, as four i32 partial sums: widen to i16, then
// i32x4.dot_i16x8_s multiplies and adds pairs (wasm SIMD128 has no i8 dot product before relaxed SIMD).
static inline v128_t dot16(v128_t a, v128_t b) {
  v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
  v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
  return wasm_i32x4_add(lo, hi);
}

static inline int32_t hsum_i32(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

static inline float hsum_f32(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

// acc += dot16(a, b) * scale (an integer scale of a 16-weight group).
static inline v128_t mad16(v128_t acc, v128_t a, v128_t b, int32_t scale) {
  return wasm_i32x4_add(acc, wasm_i32x4_mul(dot16(a, b), wasm_i32x4_splat(scale)));
}

// e^x for x <= 0 (softmax after the max is subtracted; tanh's argument is made negative): x = n·ln2
// + r with |r| <= ln2/2, a degree-6 Taylor polynomial for e^r (error < 2e-7 relative), 2^n from its
// exponent bits. No libm here (-nostdlib); f32.nearest does the rounding.
static inline float exp_neg(float x) {
  if (x < -87.0f) return 0.0f;
  const float n = __builtin_rintf(x * 1.44269504088896341f);
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f + r * (0.0416666667f + r * (0.00833333333f + r * 0.00138888889f)))));
  union { uint32_t u; float f; } s = { (uint32_t)((int32_t)n + 127) << 23 };
  return p * s.f;
}

// tanh(x) = sign(x)·(1 - e^-2|x|) / (1 + e^-2|x|): the soft-cap of gemma2's scores.
static inline float tanh_(float x) {
  const float e = exp_neg(-2.0f * __builtin_fabsf(x));
  const float t = (1.0f - e) / (1.0f + e);
  return x < 0 ? -t : t;
}

// Dot products of one weight row (nb blocks, as stored) with one activation row.
float dot_q8_0(const uint8_t *w, const act32 *x, int nb);
float dot_q4_0(const uint8_t *w, const act32 *x, int nb);
float dot_q2_K(const uint8_t *w, const act256 *x, int nb);
float dot_q3_K(const uint8_t *w, const act256 *x, int nb);
float dot_q4_K(const uint8_t *w, const act256 *x, int nb);
float dot_q5_K(const uint8_t *w, const act256 *x, int nb);
float dot_q6_K(const uint8_t *w, const act256 *x, int nb);
float dot_f32(const uint8_t *w, const float *x, int n);
float dot_f16(const uint8_t *w, const float *x, int n);

// Units [u0, u1) of one attention call (attention.c); params as WasmRuntime.attention writes them.
int attention_range(const void *params, int u0, int u1);
