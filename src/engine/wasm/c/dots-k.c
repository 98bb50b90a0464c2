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
// ggml's integer formulation with SIMD128's one integer dot product, i32x4.dot_i16x8_s (pmaddwd):
// - the code bytes are widened to int16 once (not per shift) and dotted with the activations'
//   int16 copy (act256.q16);
// - a code is masked in place, not shifted down: (byte & 3 << 2s) is q * 4^s, so the dot carries a
//   factor 4^s, removed exactly at the end (each shift has its own accumulator); the top shift's
//   codes are byte >> 6 with no mask;
// - a shift's two 16-weight groups are narrowed into one i16x8 (|sum| <= 4 * 48 * 127 = 24384 for
//   shifts 0..2, 4 * 3 * 127 for the top one: exact) and one more dot multiplies them by their
//   two scales, decoded once per block as i16 lanes; the mins go against bsums in two dots.
// No scalar scale, splat or i32 multiply per group.
#define Q2_SHIFT(ACC, S, s, A0, A1, B0, B1, y)                                                      \
  {                                                                                                 \
    v128_t ga = wasm_i32x4_add(wasm_i32x4_dot_i16x8(A0, LOAD(y)), wasm_i32x4_dot_i16x8(A1, LOAD(y + 8)));            \
    v128_t gb = wasm_i32x4_add(wasm_i32x4_dot_i16x8(B0, LOAD(y + 16)), wasm_i32x4_dot_i16x8(B1, LOAD(y + 24)));      \
    v128_t sp = wasm_i16x8_shuffle(S, S, 2 * s, 2 * s, 2 * s, 2 * s, 2 * s + 1, 2 * s + 1, 2 * s + 1, 2 * s + 1);   \
    ACC = wasm_i32x4_add(ACC, wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(ga, gb), sp));          \
  }

#define AND(v, m) wasm_v128_and(v, m)
// One half (128 weights, 32 code bytes, scales S of its 8 groups): shifts 0, 2, 4, 6.
#define Q2_HALF(S, q, y)                                                                            \
  {                                                                                                 \
    v128_t v0 = LOAD(q), v1 = LOAD(q + 16);                                                         \
    v128_t a0 = wasm_u16x8_extend_low_u8x16(v0), a1 = wasm_u16x8_extend_high_u8x16(v0);             \
    v128_t b0 = wasm_u16x8_extend_low_u8x16(v1), b1 = wasm_u16x8_extend_high_u8x16(v1);             \
    Q2_SHIFT(acc0, S, 0, AND(a0, m0), AND(a1, m0), AND(b0, m0), AND(b1, m0), y)                     \
    Q2_SHIFT(acc1, S, 1, AND(a0, m1), AND(a1, m1), AND(b0, m1), AND(b1, m1), y + 32)                \
    Q2_SHIFT(acc2, S, 2, AND(a0, m2), AND(a1, m2), AND(b0, m2), AND(b1, m2), y + 64)                \
    Q2_SHIFT(acc3, S, 3, wasm_u16x8_shr(a0, 6), wasm_u16x8_shr(a1, 6), wasm_u16x8_shr(b0, 6), wasm_u16x8_shr(b1, 6), y + 96) \
  }

float dot_q2_K(const uint8_t *w, const act256 *x, int nb) {
  const v128_t m0 = wasm_i16x8_splat(3), m1 = wasm_i16x8_splat(12), m2 = wasm_i16x8_splat(48), m15 = SPLAT8(15);
  float sum = 0.0f;
  for (int b = 0; b < nb; b++, w += 84) {
    const int16_t *y = x[b].q16;
    v128_t sc = LOAD(w);
    v128_t mn = wasm_u8x16_shr(sc, 4);
    v128_t mins = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(mn), LOAD(x[b].bsums)),
                                 wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(mn), LOAD(x[b].bsums + 8)));
    sc = wasm_v128_and(sc, m15);
    v128_t s0 = wasm_u16x8_extend_low_u8x16(sc), s1 = wasm_u16x8_extend_high_u8x16(sc);
    v128_t acc0 = wasm_i32x4_splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    Q2_HALF(s0, w + 16, y)
    Q2_HALF(s1, w + 48, y + 128)
    // Each accumulator holds 4^s times its true sum: the shifts below are exact divisions.
    int32_t isum = hsum_i32(acc0) + (hsum_i32(acc1) >> 2) + (hsum_i32(acc2) >> 4) + hsum_i32(acc3);
    sum += x[b].d * (f16_at(w + 80) * (float)isum - f16_at(w + 82) * (float)hsum_i32(mins));
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
