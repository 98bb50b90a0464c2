// Q6_K, 256 weights in 210 bytes: ql[128] @0 (low 4 bits), qh[64] @128 (high 2 bits), scales[16]
// int8 @192, d f16 @208. Half n (128 weights), l in 0..32, plane m in 0..4 → column n*128 + 32m + l:
//   m=0: ql[64n+l] & 15,    qh[32n+l] bits 0-1      m=1: ql[64n+32+l] & 15, qh bits 2-3
//   m=2: ql[64n+l] >> 4,    qh bits 4-5             m=3: ql[64n+32+l] >> 4, qh bits 6-7
//   w = d * scales[8n + l/16 + 2m] * (q - 32). A part = 4 consecutive l across the 4 planes.
const BLOCK_W: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;
const PARTS: u32 = 16u;
const NPP: u32 = 16u;

fn dequant_part(blk: u32, p: u32) -> array<f32, NPP> {
  let n = p / 8u;
  let l0 = (p % 8u) * 4u;
  let a = ld_u32(blk + 64u * n + l0);
  let b = ld_u32(blk + 64u * n + 32u + l0);
  let h = ld_u32(blk + 128u + 32u * n + l0);
  let d = ld_f16(blk + 208u);
  let sb = blk + 192u + 8u * n + l0 / 16u;
  var dm: array<f32, 4>;
  for (var m = 0u; m < 4u; m++) {
    dm[m] = d * f32(s8(ld_u8(sb + 2u * m), 0u));
  }
  var out: array<f32, NPP>;
  for (var i = 0u; i < 4u; i++) {
    let la = (a >> (8u * i)) & 0xffu;
    let lb = (b >> (8u * i)) & 0xffu;
    let hh = (h >> (8u * i)) & 0xffu;
    out[i] = dm[0] * f32(i32((la & 15u) | ((hh & 3u) << 4u)) - 32);
    out[4u + i] = dm[1] * f32(i32((lb & 15u) | (((hh >> 2u) & 3u) << 4u)) - 32);
    out[8u + i] = dm[2] * f32(i32((la >> 4u) | (((hh >> 4u) & 3u) << 4u)) - 32);
    out[12u + i] = dm[3] * f32(i32((lb >> 4u) | (((hh >> 6u) & 3u) << 4u)) - 32);
  }
  return out;
}

fn part_col(p: u32, k: u32) -> u32 {
  return (p / 8u) * 128u + (k / 4u) * 32u + (p % 8u) * 4u + (k % 4u);
}

//#if SHADER_F16
// The same part as 4 groups of 4 f16 weights (group m = plane m). Each byte gets the 6-bit q
// (offset 1024 + 32); d * scale is exact in f32 (11 + 8 bits) and rounded once to f16.
fn dequant_part_h(blk: u32, p: u32) -> array<vec4<f16>, NG> {
  let n = p / 8u;
  let l0 = (p % 8u) * 4u;
  let a = ld_u32(blk + 64u * n + l0);
  let b = ld_u32(blk + 64u * n + 32u + l0);
  let h = ld_u32(blk + 128u + 32u * n + l0);
  let d = ld_f16(blk + 208u);
  let sb = blk + 192u + 8u * n + l0 / 16u;
  var lo = array<u32, 4>(a & 0x0f0f0f0fu, b & 0x0f0f0f0fu, (a >> 4u) & 0x0f0f0f0fu, (b >> 4u) & 0x0f0f0f0fu);
  var out: array<vec4<f16>, NG>;
  for (var m = 0u; m < 4u; m++) {
    let dm = f16(d * f32(s8(ld_u8(sb + 2u * m), 0u)));
    out[m] = dm * u8x4h(lo[m] | (((h >> (2u * m)) & 0x03030303u) << 4u), 1056.0h);
  }
  return out;
}
//#endif

//#include part_dot_generic
