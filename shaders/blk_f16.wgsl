// F16 weights, read as pairs through unpack2x16float (no `shader-f16` needed). "Blocks" of 4
// weights so any row length that is a multiple of 4 works.
const BLOCK_W: u32 = 4u;
const BLOCK_BYTES: u32 = 8u;
const PARTS: u32 = 1u;
const NPP: u32 = 4u;

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let a = unpack2x16float(ld_u32(blk));
  let b = unpack2x16float(ld_u32(blk + 4u));
  return array<f32, NPP>(a.x, a.y, b.x, b.y);
}

fn part_col(p: u32, k: u32) -> u32 {
  return k;
}

//#if SHADER_F16
// The weights as they are: f16 (exact, no rounding).
fn dequant_part_h(blk: u32, p: u32) -> array<vec4<f16>, NG> {
  let a = vec2<f16>(unpack2x16float(ld_u32(blk)));
  let b = vec2<f16>(unpack2x16float(ld_u32(blk + 4u)));
  return array<vec4<f16>, NG>(vec4<f16>(a, b));
}
//#endif

//#include part_dot_generic
