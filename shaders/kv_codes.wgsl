// Included by the KV kernels: where a code lives in a quantized group and how it dequantizes.
// A group is one scale word (f16 d low, f16 min high) followed by its codes: b ∈ {2,4,8} packed
// 32/b per word, low bits first; b = 3 as a 2-bit plane (ceil(g/16) words) then a 1-bit plane.
// Index helpers take the group's element i and return word offsets after the scale word.

fn kv_lo_word(bits: u32, i: u32) -> u32 {
  if (bits == 3u) { return i / 16u; }
  return (i * bits) / 32u;
}

fn kv_hi_word(bits: u32, g: u32, i: u32) -> u32 {
  if (bits == 3u) { return (g + 15u) / 16u + i / 32u; }
  return kv_lo_word(bits, i);
}

fn kv_code(bits: u32, i: u32, lo: u32, hi: u32) -> u32 {
  if (bits == 3u) { return ((lo >> ((i % 16u) * 2u)) & 3u) | (((hi >> (i % 32u)) & 1u) << 2u); }
  let per = 32u / bits;
  return (lo >> ((i % per) * bits)) & ((1u << bits) - 1u);
}

fn kv_deq(sw: u32, code: u32) -> f32 {
  let s = unpack2x16float(sw);
  return s.y + s.x * f32(code);
}

fn kv_half(w: u32, c: u32) -> f32 {
  let u = unpack2x16float(w);
  return select(u.x, u.y, (c & 1u) == 1u);
}
