// Causal GQA attention of a batch over the compressed KV cache (src/engine/kv/layout.ts), the WASM
// counterpart of src/engine/cpu/kv-attention.ts (the reference it is tested against): positions
// below the quantized boundary q0 are dequantized per group (m + d·q, exact as the reference's f32
// values), ring rows decoded from f16 or read as f32, the batch's own positions read from its fresh
// f32 rows. Sums run in f32 with SIMD128 (the reference sums in float64: the tests state the
// tolerance). Work is split in units of (token, KV head) so that worker threads can share a call;
// each thread has its own scratch slot (scores, one dequantized row slice, the GQA group's sums).
#include "common.h"

typedef struct { int32_t dim, group, groupWords, rowWords, ringOff, ringRowWords; } kv_side;

// Written by WasmRuntime.attention (runtime.ts); every field is 4 bytes (wasm32 pointers).
typedef struct {
  int32_t nTok, pos0, q0, nHead, nHeadKv, dk, dv, window, bits, ringSlots, nThreads, slotFloats;
  kv_side k, v;
  float scale, softcap;
  float *out;
  const uint32_t *K, *V;
  const float *q, *kNew, *vNew;
  float *scratch;
} attn_params;

_Static_assert(sizeof(attn_params) == 33 * 4, "attn_params layout (runtime.ts writes it)");

static inline float dot_f32v(const float *a, const float *b, int n) {
  v128_t acc = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  float s = hsum_f32(acc);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// acc[0..n) += a · x[0..n)
static inline void axpy_f32(float *acc, float a, const float *x, int n) {
  const v128_t va = wasm_f32x4_splat(a);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(acc + i, wasm_f32x4_add(wasm_v128_load(acc + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
  for (; i < n; i++) acc[i] += a * x[i];
}

// Channels c0..c0+n-1 of the quantized row at `row`: per group an f16 scale d and minimum m in one
// word, then the codes (b in {2, 4, 8} packed low bits first; 3 bits as a 2-bit and a 1-bit plane).
static void dequant_slice(const uint32_t *row, const kv_side *s, int bits, int c0, int n, float *out) {
  const int end = c0 + n;
  int c = c0, o = 0;
  while (c < end) {
    const int g = c / s->group, gs = g * s->group;
    const uint32_t *base = row + g * s->groupWords;
    const float d = f16_to_f32((uint16_t)(base[0] & 0xffff)), m = f16_to_f32((uint16_t)(base[0] >> 16));
    const int stop = end < gs + s->group ? end : gs + s->group;
    if (bits == 3) {
      const uint32_t *lo = base + 1, *hi = lo + (s->group + 15) / 16;
      for (; c < stop; c++) {
        const int i = c - gs;
        const uint32_t q = ((lo[i >> 4] >> ((i & 15) * 2)) & 3) | (((hi[i >> 5] >> (i & 31)) & 1) << 2);
        out[o++] = m + d * (float)q;
      }
    } else {
      const int shift = bits == 8 ? 2 : bits == 4 ? 3 : 4, lane = (1 << shift) - 1;
      const uint32_t mask = (1u << bits) - 1;
      for (; c < stop; c++) {
        const int i = c - gs;
        out[o++] = m + d * (float)((base[1 + (i >> shift)] >> ((i & lane) * bits)) & mask);
      }
    }
  }
}

// Position p's channels c0..c0+n-1 of one side, in place or decoded into seg.
static const float *read_slice(const attn_params *P, const kv_side *s, const uint32_t *words, const float *fresh, int p, int c0, int n, float *seg) {
  if (p >= P->pos0) return fresh + (size_t)(p - P->pos0) * s->dim + c0;
  if (p < P->q0) {
    dequant_slice(words + (size_t)p * s->rowWords, s, P->bits, c0, n, seg);
    return seg;
  }
  const uint32_t *ring = words + s->ringOff + (size_t)(p % P->ringSlots) * s->ringRowWords;
  if (P->bits == 32) return (const float *)ring + c0;
  for (int j = 0; j < n; j++) {
    const int c = c0 + j;
    const uint32_t w = ring[c >> 1];
    seg[j] = f16_to_f32((uint16_t)(c & 1 ? w >> 16 : w & 0xffff));
  }
  return seg;
}

// Units [u0, u1) of nTok·nHeadKv: unit u is KV head u % nHeadKv of token perm(u / nHeadKv), where
// perm alternates first and last tokens so that a contiguous share of units has a fair share of the
// causal work.
static void attention_units(const attn_params *P, int u0, int u1, float *slot) {
  const int grp = P->nHead / P->nHeadKv, dk = P->dk, dv = P->dv, nAll = P->pos0 + P->nTok;
  float *scores = slot, *seg = scores + (size_t)grp * nAll, *acc = seg + (dk > dv ? dk : dv);
  for (int u = u0; u < u1; u++) {
    const int kvh = u % P->nHeadKv, idx = u / P->nHeadKv;
    const int t = idx % 2 == 0 ? idx / 2 : P->nTok - 1 - idx / 2;
    const int n = P->pos0 + t + 1;
    const int lo = P->window > 0 && n - P->window > 0 ? n - P->window : 0;
    const int h0 = kvh * grp;
    float mx[64];
    for (int j = 0; j < grp; j++) mx[j] = -__builtin_inff();
    for (int p = lo; p < n; p++) {
      const float *kr = read_slice(P, &P->k, P->K, P->kNew, p, kvh * dk, dk, seg);
      for (int j = 0; j < grp; j++) {
        float sc = dot_f32v(P->q + (size_t)t * P->nHead * dk + (size_t)(h0 + j) * dk, kr, dk) * P->scale;
        if (P->softcap > 0) sc = tanh_(sc / P->softcap) * P->softcap;
        scores[j * nAll + p] = sc;
        if (sc > mx[j]) mx[j] = sc;
      }
    }
    float sum[64];
    for (int j = 0; j < grp; j++) {
      float s = 0.0f;
      for (int p = lo; p < n; p++) s += scores[j * nAll + p] = exp_neg(scores[j * nAll + p] - mx[j]);
      sum[j] = s;
    }
    for (int i = 0; i < grp * dv; i++) acc[i] = 0.0f;
    for (int p = lo; p < n; p++) {
      const float *vr = read_slice(P, &P->v, P->V, P->vNew, p, kvh * dv, dv, seg);
      for (int j = 0; j < grp; j++) axpy_f32(acc + j * dv, scores[j * nAll + p], vr, dv);
    }
    for (int j = 0; j < grp; j++) {
      float *o = P->out + (size_t)t * P->nHead * dv + (size_t)(h0 + j) * dv;
      const float inv = 1.0f / sum[j];
      for (int i = 0; i < dv; i++) o[i] = acc[j * dv + i] * inv;
    }
  }
}

// Thread i of nThreads runs units [floor(i·n/T), floor((i+1)·n/T)) (ctl.ts): that i, recovered from
// u0, picks its scratch slot.
int attention_range(const void *params, int u0, int u1) {
  const attn_params *P = (const attn_params *)params;
  const int nUnits = P->nTok * P->nHeadKv;
  const int slot = (int)(((int64_t)u0 * P->nThreads + nUnits - 1) / nUnits);
  if (P->nHead / P->nHeadKv > 64) return -1;
  attention_units(P, u0, u1, P->scratch + (size_t)slot * P->slotFloats);
  return 0;
}
