// Q2_K, 256 weights in 84 bytes: scales[16] @0 (low nibble: scale, high nibble: min, per 16
// weights), qs[64] @16 (2-bit, four planes per byte), d f16 @80, dmin f16 @82.
// Weight (n, j, l) with n in 0..2, j in 0..4, l in 0..32 sits at column n*128 + j*32 + l, in bits
// 2j of qs[n*32 + l], scaled by scales[n*8 + j*2 + l/16]:  w = d*(sc & 15)*q - dmin*(sc >> 4).
// A part = one word of qs (4 consecutive l) across the 4 planes: 16 weights, 16 parts per block.
const BLOCK_W: u32 = 256u;
const BLOCK_BYTES: u32 = 84u;
const PARTS: u32 = 16u;
const NPP: u32 = 16u;

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let n = p / 8u;
  let l0 = (p % 8u) * 4u;
  let q = ld_u32(blk + 16u + n * 32u + l0);
  let d = ld_f16(blk + 80u);
  let dmin = ld_f16(blk + 82u);
  let s0 = n * 8u + l0 / 16u;
  var out: array<f32, NPP>;
  for (var j = 0u; j < 4u; j++) {
    let sc = ld_u8(blk + s0 + j * 2u);
    let dl = d * f32(sc & 15u);
    let ml = dmin * f32(sc >> 4u);
    for (var i = 0u; i < 4u; i++) {
      out[j * 4u + i] = dl * f32((q >> (8u * i + 2u * j)) & 3u) - ml;
    }
  }
  return out;
}

fn part_col(p: u32, k: u32) -> u32 {
  return (p / 8u) * 128u + (k / 4u) * 32u + (p % 8u) * 4u + (k % 4u);
}

// The matvec's f32 dot (part_acc) over its own parts: part p = (n, j, h) = (p / 8, p / 2 % 4,
// p % 2) is the 16 columns n*128 + j*32 + h*16 + 0..15, which share one scale byte and sit in
// plane j of the 4 aligned words qs[n*32 + h*16 ..] (84-byte blocks keep every field 4-aligned).
// Each word gives 4 codes at once: the bytes of (word >> 2j) & 0x03030303, widened by one
// unpack4x8unorm (code/255; the 255 goes into the scale), and
//   sum (dl*c - ml)*x = 255*dl*sum dot(c/255, x) - ml*sum x    (one scale per part, applied once).
// Counted from the source, per 16 weights: 6 word loads (4 qs, d|dmin, the scale's word) and 16
// activation loads; per qs word 2 bit ops, 1 unpack, a 4-term dot and a 4-add sum (~11), plus
// ~8 address ops for its activations; ~20 more for the part's offsets, scale and the final
// combination: ~96 ALU ops, ~6 per weight. Decoding each weight to f32 first (dequant_part, which
// the matmul and the f16 path keep) cost ~12 per weight with 7 word loads per 16: this path now
// spends fewer instructions per weight than Q4_K's (~8), as a format with 0.33 bytes per weight
// against Q4_K's 0.56 must to be bandwidth-bound rather than decode-bound.
fn part_dot(acc: f32, blk: u32, p: u32, xb: u32) -> f32 {
  let n = p / 8u;
  let j = (p / 2u) % 4u;
  let h = p % 2u;
  let qo = (blk + 16u + n * 32u + h * 16u) >> 2u;
  let dm = unpack2x16float(W[(blk + 80u) >> 2u]);
  let s = n * 8u + j * 2u + h;
  let sc = (W[(blk + s) >> 2u] >> ((s & 3u) * 8u)) & 0xffu;
  let col = xb + n * 128u + j * 32u + h * 16u;
  var dsum = 0.0;
  var xsum = 0.0;
  for (var w = 0u; w < 4u; w++) {
    let c = unpack4x8unorm((W[qo + w] >> (2u * j)) & 0x03030303u);
    let i = col + 4u * w;
    let x = xv4(i);
    dsum += dot(c, x);
    xsum += (x.x + x.y) + (x.z + x.w);
  }
  return acc + dm.x * f32(sc & 15u) * 255.0 * dsum - dm.y * f32(sc >> 4u) * xsum;
}

//#if SHADER_F16
// The same part as 4 groups of 4 f16 weights (group j = plane j). d*sc and dmin*m are exact in f32
// (11 + 4 bits) and rounded once to f16; the 2-bit quants are exact f16 integers (bytes_f16).
fn dequant_part_h(blk: u32, p: u32) -> array<vec4<f16>, NG> {
  let n = p / 8u;
  let l0 = (p % 8u) * 4u;
  let q = ld_u32(blk + 16u + n * 32u + l0);
  let d = ld_f16(blk + 80u);
  let dmin = ld_f16(blk + 82u);
  let s0 = n * 8u + l0 / 16u;
  var out: array<vec4<f16>, NG>;
  for (var j = 0u; j < 4u; j++) {
    let sc = ld_u8(blk + s0 + j * 2u);
    let dl = f16(d * f32(sc & 15u));
    let ml = f16(dmin * f32(sc >> 4u));
    out[j] = dl * u8x4h((q >> (2u * j)) & 0x03030303u, 1024.0h) - vec4<f16>(ml);
  }
  return out;
}
//#endif
