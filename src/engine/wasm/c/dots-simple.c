// Dot products of the 32-element block types (Q8_0, Q4_0) and the plain float types with an
// activation row: integer sums per block, one f32 multiply-add per block.
#include "common.h"

// Q8_0, 34 bytes: d f16 @0, qs int8[32] @2.
float dot_q8_0(const uint8_t *w, const act32 *x, int nb) {
  float sum = 0.0f;
  for (int b = 0; b < nb; b++, w += 34) {
    v128_t s = wasm_i32x4_add(dot16(wasm_v128_load(w + 2), wasm_v128_load(x[b].qs)),
                              dot16(wasm_v128_load(w + 18), wasm_v128_load(x[b].qs + 16)));
    sum += f16_at(w) * x[b].d * (float)hsum_i32(s);
  }
  return sum;
}

// Q4_0, 18 bytes: d f16 @0, qs[16] @2: low nibbles are weights 0..15, high 16..31, minus 8.
float dot_q4_0(const uint8_t *w, const act32 *x, int nb) {
  const v128_t m4 = wasm_i8x16_splat(15), eight = wasm_i8x16_splat(8);
  float sum = 0.0f;
  for (int b = 0; b < nb; b++, w += 18) {
    v128_t q = wasm_v128_load(w + 2);
    v128_t lo = wasm_i8x16_sub(wasm_v128_and(q, m4), eight);
    v128_t hi = wasm_i8x16_sub(wasm_u8x16_shr(q, 4), eight);
    v128_t s = wasm_i32x4_add(dot16(lo, wasm_v128_load(x[b].qs)), dot16(hi, wasm_v128_load(x[b].qs + 16)));
    sum += f16_at(w) * x[b].d * (float)hsum_i32(s);
  }
  return sum;
}

// F32 weights against f32 activations (norm-sized rows and unquantized models): no rounding of x.
float dot_f32(const uint8_t *w, const float *x, int n) {
  const float *wf = (const float *)w;
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(wf + i), wasm_v128_load(x + i)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(wf + i + 4), wasm_v128_load(x + i + 4)));
  }
  float sum = hsum_f32(wasm_f32x4_add(a0, a1));
  for (; i < n; i++) sum += wf[i] * x[i];
  return sum;
}

// Eight halves to floats as f16_to_f32 does, lane-wise.
static inline void f16x8_to_f32(v128_t h, v128_t *lo, v128_t *hi) {
  const v128_t mag = wasm_i32x4_splat(0x7fff), sign = wasm_i32x4_splat(0x8000), k = wasm_f32x4_splat(0x1p112f);
  v128_t a = wasm_u32x4_extend_low_u16x8(h), b = wasm_u32x4_extend_high_u16x8(h);
  v128_t fa = wasm_f32x4_mul(wasm_i32x4_shl(wasm_v128_and(a, mag), 13), k);
  v128_t fb = wasm_f32x4_mul(wasm_i32x4_shl(wasm_v128_and(b, mag), 13), k);
  *lo = wasm_v128_or(fa, wasm_i32x4_shl(wasm_v128_and(a, sign), 16));
  *hi = wasm_v128_or(fb, wasm_i32x4_shl(wasm_v128_and(b, sign), 16));
}

float dot_f16(const uint8_t *w, const float *x, int n) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t lo, hi;
    f16x8_to_f32(wasm_v128_load(w + 2 * i), &lo, &hi);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(lo, wasm_v128_load(x + i)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(hi, wasm_v128_load(x + i + 4)));
  }
  float sum = hsum_f32(wasm_f32x4_add(a0, a1));
  for (; i < n; i++) sum += f16_at(w + 2 * i) * x[i];
  return sum;
}
