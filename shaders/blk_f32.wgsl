// F32 weights in "blocks" of 4 (any row length that is a multiple of 4).
const BLOCK_W: u32 = 4u;
const BLOCK_BYTES: u32 = 16u;
const PARTS: u32 = 1u;
const NPP: u32 = 4u;

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let i = blk >> 2u;
  return array<f32, NPP>(bitcast<f32>(W[i]), bitcast<f32>(W[i + 1u]), bitcast<f32>(W[i + 2u]), bitcast<f32>(W[i + 3u]));
}

fn part_col(p: u32, k: u32) -> u32 {
  return k;
}

//#include part_dot_generic
