// Q8_0, 32 weights in 34 bytes: d f16 @0, qs int8[32] @2; w = qs[l] * d. The 34-byte stride puts
// every other block at a 2-mod-4 offset: ld_u32 assembles the words. A part = 16 weights.
const BLOCK_W: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;
const PARTS: u32 = 2u;
const NPP: u32 = 16u;

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let d = ld_f16(blk);
  var out: array<f32, NPP>;
  for (var wi = 0u; wi < 4u; wi++) {
    let q = ld_u32(blk + 2u + 16u * p + 4u * wi);
    for (var i = 0u; i < 4u; i++) {
      out[wi * 4u + i] = f32(s8(q, i)) * d;
    }
  }
  return out;
}

fn part_col(p: u32, k: u32) -> u32 {
  return 16u * p + k;
}

//#if SHADER_F16
// The same part as 4 groups of 4 f16 weights. Flipping each byte's sign bit turns the int8 q into
// q + 128 (offset 1024 + 128); d is an f16 field, so only the product d * q is rounded.
fn dequant_part_h(blk: u32, p: u32) -> array<vec4<f16>, NG> {
  let d = f16(ld_f16(blk));
  var out: array<vec4<f16>, NG>;
  for (var wi = 0u; wi < 4u; wi++) {
    out[wi] = d * u8x4h(ld_u32(blk + 2u + 16u * p + 4u * wi) ^ 0x80808080u, 1152.0h);
  }
  return out;
}
//#endif

//#include part_dot_generic
