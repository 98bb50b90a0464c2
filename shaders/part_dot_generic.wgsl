// acc plus one part's dot product, for block types without a cheaper one of their own (f32 path):
// the part's weights decoded to f32 (dequant_part), then one FMA per weight with its activation.
fn part_dot(acc: f32, blk: u32, p: u32, xb: u32) -> f32 {
  var a = acc;
  let w = dequant_part(blk, p);
  for (var k = 0u; k < NPP; k++) {
    a += w[k] * xv(xb + part_col(p, k));
  }
  return a;
}
