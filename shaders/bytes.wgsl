// Byte-addressed reads from the weight binding `W: array<u32>`. GGUF block strides (Q8_0 34 B,
// Q3_K 110 B, Q6_K 210 B) are not multiples of 4, so a block may start mid-word; these helpers
// assemble any byte, 16-bit or 32-bit field from whole words. f16 fields sit at even offsets and
// so never straddle two words.

fn ld_u8(off: u32) -> u32 {
  return (W[off >> 2u] >> ((off & 3u) * 8u)) & 0xffu;
}

fn ld_u16(off: u32) -> u32 {
  return (W[off >> 2u] >> ((off & 2u) * 8u)) & 0xffffu;
}

fn ld_u32(off: u32) -> u32 {
  let s = (off & 3u) * 8u;
  let i = off >> 2u;
  if (s == 0u) { return W[i]; }
  return (W[i] >> s) | (W[i + 1u] << (32u - s));
}

fn ld_f16(off: u32) -> f32 {
  return unpack2x16float(ld_u16(off)).x;
}

// Byte i (0..3) of a word, sign-extended.
fn s8(word: u32, i: u32) -> i32 {
  return bitcast<i32>(word << (24u - 8u * i)) >> 24u;
}
