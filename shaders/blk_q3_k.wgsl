// Q3_K, 256 weights in 110 bytes: hmask[32] @0 (high bit, plane n*4+j in bit n*4+j), qs[64] @32
// (low 2 bits, four planes per byte), scales @96 (16 six-bit signed scales packed in 12 bytes),
// d f16 @108. Weight (n, j, l) at column n*128 + j*32 + l:
//   w = d * (scale[n*8 + j*2 + l/16] - 32) * (((qs[n*32+l] >> 2j) & 3) - (hmask bit set ? 0 : 4)).
const BLOCK_W: u32 = 256u;
const BLOCK_BYTES: u32 = 110u;
const PARTS: u32 = 16u;
const NPP: u32 = 16u;

// Scale s: low 4 bits from byte s (s < 8) or the high nibble of byte s-8; the top 2 bits from
// byte 8 + s%4 at bit 2*(s/4).
fn q3_scale(blk: u32, s: u32) -> f32 {
  let lo = select(ld_u8(blk + 96u + s - 8u) >> 4u, ld_u8(blk + 96u + s) & 15u, s < 8u);
  let hi = (ld_u8(blk + 104u + (s % 4u)) >> (2u * (s / 4u))) & 3u;
  return f32(i32(lo | (hi << 4u)) - 32);
}

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let n = p / 8u;
  let l0 = (p % 8u) * 4u;
  let q = ld_u32(blk + 32u + n * 32u + l0);
  let h = ld_u32(blk + l0);
  let d = ld_f16(blk + 108u);
  let s0 = n * 8u + l0 / 16u;
  var out: array<f32, NPP>;
  for (var j = 0u; j < 4u; j++) {
    let dl = d * q3_scale(blk, s0 + j * 2u);
    for (var i = 0u; i < 4u; i++) {
      let lo = i32((q >> (8u * i + 2u * j)) & 3u);
      let hb = (h >> (8u * i + n * 4u + j)) & 1u;
      out[j * 4u + i] = dl * f32(lo - select(4, 0, hb == 1u));
    }
  }
  return out;
}

fn part_col(p: u32, k: u32) -> u32 {
  return (p / 8u) * 128u + (k / 4u) * 32u + (p % 8u) * 4u + (k % 4u);
}

// The matvec's f32 dot (part_acc) over its own parts: part p = (n, j, h) = (p / 8, p / 2 % 4,
// p % 2) is the 16 columns n*128 + j*32 + h*16 + 0..15, which share one six-bit scale; their low
// bits are plane j of the 4 words qs[n*32 + h*16 ..], their high bits bit 4n + j of the 4 words
// hmask[h*16 ..]. Each pair of words gives 4 codes at once, the bytes of
// ((q >> 2j) & 0x03030303) | (((hm >> (4n + j)) & 0x01010101) << 2), widened by one
// unpack4x8unorm (code/255; the 255 goes into the scale); the weight is dl * (code - 4), so
//   sum w*x = dl * (255 * sum dot(c/255, x) - 4 * sum x)    (one scale per part, applied once).
// Counted from the source, per 16 weights: 8 words through ld_u32 (110-byte blocks: fields may
// start mid-word, ~6 ops each), 16 activation loads; per word pair 5 bit ops, 1 unpack, a 4-term
// dot, a 4-add sum (~13) and ~8 address ops for its activations; d and the six-bit scale ~15;
// ~135 ALU ops, ~8.5 per weight, against ~14 per weight decoding each weight first (dequant_part).
fn part_dot(acc: f32, blk: u32, p: u32, xb: u32) -> f32 {
  let n = p / 8u;
  let j = (p / 2u) % 4u;
  let h = p % 2u;
  let qo = blk + 32u + n * 32u + h * 16u;
  let ho = blk + h * 16u;
  let d = ld_f16(blk + 108u);
  let dl = d * q3_scale(blk, n * 8u + j * 2u + h);
  let col = xb + n * 128u + j * 32u + h * 16u;
  var dsum = 0.0;
  var xsum = 0.0;
  for (var w = 0u; w < 4u; w++) {
    let codes = ((ld_u32(qo + 4u * w) >> (2u * j)) & 0x03030303u) | (((ld_u32(ho + 4u * w) >> (n * 4u + j)) & 0x01010101u) << 2u);
    let c = unpack4x8unorm(codes);
    let i = col + 4u * w;
    let x = xv4(i);
    dsum += dot(c, x);
    xsum += (x.x + x.y) + (x.z + x.w);
  }
  return acc + dl * (255.0 * dsum - 4.0 * xsum);
}

//#if SHADER_F16
// The same part as 4 groups of 4 f16 weights (group j = plane j). Each byte gets low bits + 4 * high
// bit = q + 4, so the offset is 1024 + 4; d * scale is exact in f32 and rounded once to f16.
fn dequant_part_h(blk: u32, p: u32) -> array<vec4<f16>, NG> {
  let n = p / 8u;
  let l0 = (p % 8u) * 4u;
  let q = ld_u32(blk + 32u + n * 32u + l0);
  let h = ld_u32(blk + l0);
  let d = ld_f16(blk + 108u);
  let s0 = n * 8u + l0 / 16u;
  var out: array<vec4<f16>, NG>;
  for (var j = 0u; j < 4u; j++) {
    let dl = f16(d * q3_scale(blk, s0 + j * 2u));
    let v = ((q >> (2u * j)) & 0x03030303u) | (((h >> (n * 4u + j)) & 0x01010101u) << 2u);
    out[j] = dl * u8x4h(v, 1028.0h);
  }
  return out;
}
//#endif
