// Dot products of the 256-element "K" super-block types with Q8_K-style activations, following
// ggml's integer formulation: per 16 or 32 weights an int8·int8 sum times the integer sub-scale,
// the mins (or offsets) taken through the activation's bsums, one f32 step per super-block.
// Byte layouts: src/quant/dequant-k.ts (the TypeScript reference these are tested against).
#include "common.h"


#define LOAD(p) wasm_v128_load(p)
#define SPLAT8(v) wasm_i8x16_splat(v)

// Q4_K/Q5_K's 8 packed 6-bit (scale, min) pairs.
static inline void scale_min_k4(const uint8_t *s, uint8_t *sc, uint8_t *m) {
  for (int j = 0; j < 4; j++) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 15) | ((s[j] >> 6) << 4);
    m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
  }
}

// Sum over j of m[j] times the activation sum of its 32 weights (two bsums).
static inline int32_t mins_dot(const uint8_t *m, const int16_t *bsums) {
  int32_t s = 0;
  for (int j = 0; j < 8; j++) s += m[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  return s;
}

// Q2_K, 84 bytes: scales[16] @0 (low nibble scale, high min), qs[64] @16, d @80, dmin @82.
float dot_q2_K(const uint8_t *w, const act256 *x, int nb) {
  const v128_t m3 = SPLAT8(3);
  float sum = 0.0f;
  for (int b = 0; b < nb; b++, w += 84) {
    const int8_t *y = x[b].qs;
    int32_t summs = 0;
    for (int j = 0; j < 16; j++) summs += (w[j] >> 4) * x[b].bsums[j];
    v128_t acc = wasm_i32x4_splat(0);
    int is = 0;
    for (int half = 0; half < 2; half++) {
      v128_t v0 = LOAD(w + 16 + 32 * half), v1 = LOAD(w + 32 + 32 * half);
      for (int shift = 0; shift < 8; shift += 2, y += 32, is += 2) {
        acc = mad16(acc, wasm_v128_and(wasm_u8x16_shr(v0, shift), m3), LOAD(y), w[is] & 15);
        acc = mad16(acc, wasm_v128_and(wasm_u8x16_shr(v1, shift), m3), LOAD(y + 16), w[is + 1] & 15);
      }
    }
    sum += x[b].d * (f16_at(w + 80) * (float)hsum_i32(acc) - f16_at(w + 82) * (float)summs);
  }
  return sum;
}

// Q3_K, 110 bytes: hmask[32] @0, qs[64] @32 (low 2 bits, Q2_K's order), scales[12] @96, d @108.
// q = low2 - 4 where the weight's hmask bit is clear.
float dot_q3_K(const uint8_t *w, const act256 *x, int nb) {
  const v128_t m3 = SPLAT8(3), four = SPLAT8(4), zero = SPLAT8(0);
  float sum = 0.0f;
  for (int b = 0; b < nb; b++, w += 110) {
    const uint8_t *s = w + 96;
    int8_t sc[16];
    for (int j = 0; j < 16; j++) {
      int low = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
      int high = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
      sc[j] = (int8_t)((low | (high << 4)) - 32);
    }
    const int8_t *y = x[b].qs;
    v128_t h0 = LOAD(w), h1 = LOAD(w + 16);
    v128_t acc = wasm_i32x4_splat(0);
    int is = 0, bit = 1;
    for (int half = 0; half < 2; half++) {
      v128_t v0 = LOAD(w + 32 + 32 * half), v1 = LOAD(w + 48 + 32 * half);
      for (int shift = 0; shift < 8; shift += 2, y += 32, is += 2, bit <<= 1) {
        v128_t mb = SPLAT8((int8_t)bit);
        v128_t a0 = wasm_i8x16_sub(wasm_v128_and(wasm_u8x16_shr(v0, shift), m3), wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(h0, mb), zero), four));
        v128_t a1 = wasm_i8x16_sub(wasm_v128_and(wasm_u8x16_shr(v1, shift), m3), wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(h1, mb), zero), four));
        acc = mad16(acc, a0, LOAD(y), sc[is]);
        acc = mad16(acc, a1, LOAD(y + 16), sc[is + 1]);
      }
    }
    sum += x[b].d * f16_at(w + 108) * (float)hsum_i32(acc);
  }
  return sum;
}

// Q4_K (144 bytes: d @0, dmin @2, scales[12] @4, qs[128] @16) and Q5_K (176 bytes: the same head,
// qh[32] @16, qs[128] @48) share one body: HIGH adds the 5th bit (16) where qh's bit is set.
#define DOT_K45(NAME, BYTES, QS, HIGH)                                                              \
  float NAME(const uint8_t *w, const act256 *x, int nb) {                                           \
    const v128_t m4 = SPLAT8(15), zero = SPLAT8(0), sixteen = SPLAT8(16);                           \
    (void)zero; (void)sixteen;                                                                      \
    float sum = 0.0f;                                                                               \
    for (int b = 0; b < nb; b++, w += BYTES) {                                                      \
      uint8_t sc[8], m[8];                                                                          \
      scale_min_k4(w + 4, sc, m);                                                                   \
      const int8_t *y = x[b].qs;                                                                    \
      v128_t acc = wasm_i32x4_splat(0);                                                             \
      for (int k = 0; k < 4; k++, y += 64) {                                                        \
        for (int c = 0; c < 2; c++) {                                                               \
          v128_t v = LOAD(w + QS + 32 * k + 16 * c);                                                \
          v128_t lo = wasm_v128_and(v, m4), hi = wasm_u8x16_shr(v, 4);                              \
          HIGH(lo, hi, k, c)                                                                        \
          acc = mad16(acc, lo, LOAD(y + 16 * c), sc[2 * k]);                                        \
          acc = mad16(acc, hi, LOAD(y + 32 + 16 * c), sc[2 * k + 1]);                               \
        }                                                                                           \
      }                                                                                             \
      sum += x[b].d * (f16_at(w) * (float)hsum_i32(acc) - f16_at(w + 2) * (float)mins_dot(m, x[b].bsums)); \
    }                                                                                               \
    return sum;                                                                                     \
  }

#define NO_HIGH(lo, hi, k, c)
#define Q5_HIGH(lo, hi, k, c)                                                                       \
  {                                                                                                 \
    v128_t qh = LOAD(w + 16 + 16 * c);                                                              \
    lo = wasm_v128_or(lo, wasm_v128_andnot(sixteen, wasm_i8x16_eq(wasm_v128_and(qh, SPLAT8((int8_t)(1 << (2 * k)))), zero))); \
    hi = wasm_v128_or(hi, wasm_v128_andnot(sixteen, wasm_i8x16_eq(wasm_v128_and(qh, SPLAT8((int8_t)(2 << (2 * k)))), zero))); \
  }

DOT_K45(dot_q4_K, 144, 16, NO_HIGH)
DOT_K45(dot_q5_K, 176, 48, Q5_HIGH)

// Q6_K, 210 bytes: ql[128] @0, qh[64] @128, scales int8[16] @192, d @208 (layout in dequant-k.ts).
// Codes are 0..63 with an offset of 32: the offset is taken as 32 * sum(sc[j] * bsums[j]), since
// the j-th 16 weights use scale j.
float dot_q6_K(const uint8_t *w, const act256 *x, int nb) {
  const v128_t m4 = SPLAT8(15), m2 = SPLAT8(3);
  float sum = 0.0f;
  for (int b = 0; b < nb; b++, w += 210) {
    const int8_t *sc = (const int8_t *)(w + 192);
    int32_t offs = 0;
    for (int j = 0; j < 16; j++) offs += sc[j] * x[b].bsums[j];
    v128_t acc = wasm_i32x4_splat(0);
    for (int half = 0; half < 2; half++) {
      const uint8_t *ql = w + 64 * half, *qh = w + 128 + 32 * half;
      const int8_t *y = x[b].qs + 128 * half, *s = sc + 8 * half;
      for (int c = 0; c < 2; c++) {
        v128_t l0 = LOAD(ql + 16 * c), l1 = LOAD(ql + 32 + 16 * c), h = LOAD(qh + 16 * c);
        v128_t q1 = wasm_v128_or(wasm_v128_and(l0, m4), wasm_i8x16_shl(wasm_v128_and(h, m2), 4));
        v128_t q2 = wasm_v128_or(wasm_v128_and(l1, m4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(h, 2), m2), 4));
        v128_t q3 = wasm_v128_or(wasm_u8x16_shr(l0, 4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(h, 4), m2), 4));
        v128_t q4 = wasm_v128_or(wasm_u8x16_shr(l1, 4), wasm_i8x16_shl(wasm_u8x16_shr(h, 6), 4));
        acc = mad16(acc, q1, LOAD(y + 16 * c), s[c]);
        acc = mad16(acc, q2, LOAD(y + 32 + 16 * c), s[c + 2]);
        acc = mad16(acc, q3, LOAD(y + 64 + 16 * c), s[c + 4]);
        acc = mad16(acc, q4, LOAD(y + 96 + 16 * c), s[c + 6]);
      }
    }
    sum += x[b].d * f16_at(w + 208) * (float)(hsum_i32(acc) - 32 * offs);
  }
  return sum;
}
