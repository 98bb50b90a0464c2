// Q4_K, 256 weights in 144 bytes: d f16 @0, dmin f16 @2, scales @4 (8 six-bit scales and 8
// six-bit mins packed in 12 bytes), qs[128] @16. Chunk j (64 weights) uses qs[32j .. 32j+32]:
// low nibbles are columns 64j + l with scale/min 2j, high nibbles 64j + 32 + l with 2j+1.
// w = d*sc*q - dmin*m. A part = 16 bytes of one chunk: 16 low + 16 high nibbles. (Parts of 8
// bytes re-read d, dmin and two packed scales for every 16 weights; 16-byte parts halve that
// per-weight overhead, which is what bounds this kernel on a compute-bound adapter.)
const BLOCK_W: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;
const PARTS: u32 = 8u;
const NPP: u32 = 32u;

// (scale, min) number i (0..7), 6 bits each.
fn q4k_scale_min(blk: u32, i: u32) -> vec2<f32> {
  let b = blk + 4u;
  if (i < 4u) {
    return vec2<f32>(f32(ld_u8(b + i) & 63u), f32(ld_u8(b + i + 4u) & 63u));
  }
  let sc = (ld_u8(b + i + 4u) & 15u) | ((ld_u8(b + i - 4u) >> 6u) << 4u);
  let m = (ld_u8(b + i + 4u) >> 4u) | ((ld_u8(b + i) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let j = p / 2u;
  let l0 = (p % 2u) * 16u;
  let d = ld_f16(blk);
  let dmin = ld_f16(blk + 2u);
  let a = q4k_scale_min(blk, 2u * j);
  let b = q4k_scale_min(blk, 2u * j + 1u);
  let d1 = d * a.x;
  let m1 = dmin * a.y;
  let d2 = d * b.x;
  let m2 = dmin * b.y;
  var out: array<f32, NPP>;
  for (var wi = 0u; wi < 4u; wi++) {
    let q = ld_u32(blk + 16u + 32u * j + l0 + 4u * wi);
    for (var i = 0u; i < 4u; i++) {
      let byte = (q >> (8u * i)) & 0xffu;
      out[wi * 4u + i] = d1 * f32(byte & 15u) - m1;
      out[16u + wi * 4u + i] = d2 * f32(byte >> 4u) - m2;
    }
  }
  return out;
}

// The matvec's f32 dot (part_acc) for one part, four codes at a time: each aligned qs word gives
// 4 low nibbles (scale/min 2j) and 4 high nibbles (2j + 1), widened by one unpack4x8unorm each
// (code/255; the 255 goes into the scales), and sum (d*sc*q - dmin*m)*x is applied per half as
// 255*d*sc*sum dot(c/255, x) - dmin*m*sum x (144-byte blocks keep every field 4-aligned).
// Counted from the source, per 32 weights: 5 word loads (4 qs, d|dmin) and the 2 six-bit
// (scale, min) pairs (~25 ops), 32 activation loads; per qs word 3 bit ops, 2 unpacks, two 4-term
// dots and two 4-add sums (~21) and ~16 address ops for its activations; ~180 ALU ops, ~5.6 per
// weight (~8 decoding each weight first through dequant_part).
fn part_dot(acc: f32, blk: u32, p: u32, xb: u32) -> f32 {
  let j = p / 2u;
  let l0 = (p % 2u) * 16u;
  let dm = unpack2x16float(W[blk >> 2u]);
  let a = q4k_scale_min(blk, 2u * j);
  let b = q4k_scale_min(blk, 2u * j + 1u);
  let qo = (blk + 16u + 32u * j + l0) >> 2u;
  let col = xb + 64u * j + l0;
  var dlo = 0.0;
  var dhi = 0.0;
  var slo = 0.0;
  var shi = 0.0;
  for (var w = 0u; w < 4u; w++) {
    let q = W[qo + w];
    let i = col + 4u * w;
    let xl = xv4(i);
    let xh = xv4(i + 32u);
    dlo += dot(unpack4x8unorm(q & 0x0f0f0f0fu), xl);
    dhi += dot(unpack4x8unorm((q >> 4u) & 0x0f0f0f0fu), xh);
    slo += (xl.x + xl.y) + (xl.z + xl.w);
    shi += (xh.x + xh.y) + (xh.z + xh.w);
  }
  return acc + 255.0 * dm.x * (a.x * dlo + b.x * dhi) - dm.y * (a.y * slo + b.y * shi);
}

fn part_col(p: u32, k: u32) -> u32 {
  return (p / 2u) * 64u + (k / 16u) * 32u + (p % 2u) * 16u + (k % 16u);
}

//#if SHADER_F16
// The same part as 8 groups of 4 f16 weights: low nibbles of the four words (scale/min 2j), then
// their high nibbles (2j+1). d*sc and dmin*m are exact in f32 (11 + 6 bits), rounded once to f16.
fn dequant_part_h(blk: u32, p: u32) -> array<vec4<f16>, NG> {
  let j = p / 2u;
  let l0 = (p % 2u) * 16u;
  let d = ld_f16(blk);
  let dmin = ld_f16(blk + 2u);
  let a = q4k_scale_min(blk, 2u * j);
  let b = q4k_scale_min(blk, 2u * j + 1u);
  let d1 = f16(d * a.x);
  let m1 = vec4<f16>(f16(dmin * a.y));
  let d2 = f16(d * b.x);
  let m2 = vec4<f16>(f16(dmin * b.y));
  var out: array<vec4<f16>, NG>;
  for (var wi = 0u; wi < 4u; wi++) {
    let q = ld_u32(blk + 16u + 32u * j + l0 + 4u * wi);
    out[wi] = d1 * u8x4h(q & 0x0f0f0f0fu, 1024.0h) - m1;
    out[4u + wi] = d2 * u8x4h((q >> 4u) & 0x0f0f0f0fu, 1024.0h) - m2;
  }
  return out;
}
//#endif

