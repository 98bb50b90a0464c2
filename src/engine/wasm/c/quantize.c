// Activations to int8 per block: d = max|x| / 127, q = round(x / d). Each x then carries an error
// of at most d/2 (plus f32 rounding), which is the tolerance the tests state and check.
#include "common.h"

// Quantizes n floats (a multiple of 16) into dst, returning d.
static float quant_block(const float *x, int8_t *dst, int n) {
  v128_t vmax = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n; i += 4) vmax = wasm_f32x4_max(vmax, wasm_f32x4_abs(wasm_v128_load(x + i)));
  vmax = wasm_f32x4_max(vmax, wasm_i32x4_shuffle(vmax, vmax, 2, 3, 0, 1));
  vmax = wasm_f32x4_max(vmax, wasm_i32x4_shuffle(vmax, vmax, 1, 0, 3, 2));
  const float amax = wasm_f32x4_extract_lane(vmax, 0);
  if (amax == 0.0f) {
    for (int i = 0; i < n; i++) dst[i] = 0;
    return 0.0f;
  }
  v128_t id = wasm_f32x4_splat(127.0f / amax);
  for (int i = 0; i < n; i += 16) {
    v128_t q[4];
    for (int k = 0; k < 4; k++) q[k] = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + i + 4 * k), id)));
    v128_t a = wasm_i16x8_narrow_i32x4(q[0], q[1]);
    v128_t b = wasm_i16x8_narrow_i32x4(q[2], q[3]);
    wasm_v128_store(dst + i, wasm_i8x16_narrow_i16x8(a, b));
  }
  return amax / 127.0f;
}

EXPORT(quantize_act32) void quantize_act32(const float *x, act32 *y, int n) {
  for (int b = 0; b < n / 32; b++) y[b].d = quant_block(x + 32 * b, y[b].qs, 32);
}

EXPORT(quantize_act256) void quantize_act256(const float *x, act256 *y, int n) {
  for (int b = 0; b < n / 256; b++) {
    y[b].d = quant_block(x + 256 * b, y[b].qs, 256);
    for (int j = 0; j < 16; j++) {
      v128_t q = wasm_v128_load(y[b].qs + 16 * j);
      v128_t s = wasm_i16x8_add(wasm_i16x8_extend_low_i8x16(q), wasm_i16x8_extend_high_i8x16(q));
      s = wasm_i32x4_extadd_pairwise_i16x8(s);
      y[b].bsums[j] = (int16_t)hsum_i32(s);
      wasm_v128_store(y[b].q16 + 16 * j, wasm_i16x8_extend_low_i8x16(q));
      wasm_v128_store(y[b].q16 + 16 * j + 8, wasm_i16x8_extend_high_i8x16(q));
    }
  }
}
