// Quantized matvec (decode: one token) and matmul (prefill: many tokens) over weights kept in their
// GGUF block layout. W is [rows][cols] row-major, each row `cols / BLOCK_W` blocks of BLOCK_BYTES;
// the included block file says how one "part" (NPP weights) of a block dequantizes, and where those
// weights sit (part_col). A workgroup owns one output row (and, for matmul, a tile of TT tokens):
// its threads walk the row's parts, so consecutive threads read consecutive words of the row.
// Weights are never dequantized to memory: each part is decoded into registers and used at once.
//
// SHADER_F16 (adapters with `shader-f16`): each part is decoded to f16 weights in groups of 4
// (dequant_part_h, quants turned into f16 without int→float conversions, bytes_f16.wgsl), the
// matching 4 activations are rounded to f16 as they are loaded (no conversion pass, no f16 copy of
// X), and each group's dot product runs in f16 (vec4: packed f16 math, up to twice the f32 rate on
// AMD, Intel, mobile and NVIDIA data-centre GPUs, and half the registers); everything beyond a
// group of 4 (parts, blocks, the workgroup sum) accumulates in f32, so the f16 rounding stays per
// weight and does not grow with the row length. Limits: activations and products must stay below
// f16's 65504, as in any f16 inference (f16 weights times activations).

// Fusions (decode, issue 19; each a template flag, set by src/engine/gpu/fused.ts; the fused and
// unfused graphs do the same f32 operations in the same order, so their results are bit-identical):
//   NORM  (matvec; with XCACHE or NORM_WIDE) X is the raw residual row: the workgroup first
//         computes 1/rms(X) exactly as ops.wgsl's rmsnorm does (WG strided sums, then a tree), then
//         uses G[c] * (X[c] * inv) where the unfused graph read the rmsnorm output: no rmsnorm
//         dispatch, no xn round trip.
//   ROUTE (matvec, matmul) W is several matrices' rows concatenated (attn q|k|v, ffn gate|up):
//         rows < split1 go to Y, < split2 to Y1 (row stride stride1), the rest to Y2 (stride2).
//   GLU   (matvec) W is gate|up in one binding: output row r takes rows r and r + glu_rows and
//         writes act(gate) * up (SiLU, or GELU-tanh with GELU): no silu_mul dispatch, no u buffer.
//   ADD   (matvec) Y += W x: the residual add folded into attn_output / ffn_down.
override WG: u32 = 64;
// matvec and matmul: threads per output row (a power of two dividing WG); a workgroup owns
// WG / LANES rows (and, for matmul, one tile of TT tokens).
// LANES = WG (one row per workgroup, reduced with subgroupAdd where available) suits GPUs: a
// row's reads are one contiguous stream. Adapters that run shaders on the CPU (SwiftShader,
// lavapipe) pay ~25 us per workgroup and more per invocation, so there a few lanes per row and
// many rows per workgroup (LANES = 4, their SIMD width) run a 2048x2048 matvec several times faster.
override LANES: u32 = 64;
const TT: u32 = 4u; // tokens per matmul workgroup: each decoded part is reused TT times

@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
//#if NORM
@group(0) @binding(4) var<storage, read> G: array<f32>;
//#endif
//#if ROUTE
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
//#endif

//#include bytes
//#if SHADER_F16
//#include bytes_f16
const NG: u32 = NPP / 4u; // groups of 4 weights per part
//#endif
//#if F32
//#include blk_f32
//#endif
//#if F16
//#include blk_f16
//#endif
//#if Q8_0
//#include blk_q8_0
//#endif
//#if Q6_K
//#include blk_q6_k
//#endif
//#if Q4_K
//#include blk_q4_k
//#endif
//#if Q3_K
//#include blk_q3_k
//#endif
//#if Q2_K
//#include blk_q2_k
//#endif

var<workgroup> partial: array<f32, WG * TT>;

//#if NORM
var<private> inv_rms: f32;
// 1/rms of X[x_offset .. x_offset + cols), in ops.wgsl rmsnorm's order (all threads call it).
fn row_norm(lid: u32) {
  var s = 0.0;
  for (var c = lid; c < params.cols; c += WG) { let v = X[params.x_offset + c]; s += v * v; }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid < k) { partial[lid] += partial[lid + k]; }
    workgroupBarrier();
  }
  inv_rms = 1.0 / sqrt(partial[0] / f32(params.cols) + params.eps);
  workgroupBarrier();
}
//#endif
//#if XCACHE
// NORM with cols <= XS: the normalized row staged once per workgroup in workgroup memory (8 KiB),
// so the dot products read one value per weight as the unfused matvec does, not G, X and two
// multiplies (which made the fold slower than the rmsnorm dispatch it saves on CPU adapters).
// Held as vec4s (rows are multiples of 4 wide) so xv4 reads four activations in one load.
const XS: u32 = 2048u;
var<workgroup> xs: array<vec4<f32>, XS / 4u>;
fn norm_prologue(lid: u32) {
  row_norm(lid);
  for (var c = lid; c < params.cols / 4u; c += WG) {
    let i = params.x_offset + 4u * c;
    let x = vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]);
    let g = vec4<f32>(G[4u * c], G[4u * c + 1u], G[4u * c + 2u], G[4u * c + 3u]);
    xs[c] = g * (x * inv_rms);
  }
  workgroupBarrier();
}
fn xv(i: u32) -> f32 {
  let r = i - params.x_offset;
  return xs[r >> 2u][r & 3u];
}
// xv(i .. i + 3), i - x_offset a multiple of 4.
fn xv4(i: u32) -> vec4<f32> {
  return xs[(i - params.x_offset) >> 2u];
}
//#endif
//#if NORM_WIDE
// NORM with cols > XS (beyond the workgroup memory every device has): normalized as it is read.
fn norm_prologue(lid: u32) {
  row_norm(lid);
}
fn xv(i: u32) -> f32 {
  return G[i - params.x_offset] * (X[i] * inv_rms);
}
fn xv4(i: u32) -> vec4<f32> {
  return vec4<f32>(xv(i), xv(i + 1u), xv(i + 2u), xv(i + 3u));
}
//#endif
//#if !NORM
fn xv(i: u32) -> f32 {
  return X[i];
}
fn xv4(i: u32) -> vec4<f32> {
  return vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]);
}
//#endif

//#if SHADER_F16
// Activations X[i .. i+4) rounded to f16 (group columns are 4 consecutive ones from a multiple of 4
// in every block layout, so xv4 serves them: one load from the fused norm's staged row).
fn x4h(i: u32) -> vec4<f16> {
  return vec4<f16>(xv4(i));
}
// acc plus one part's dot product (blk: the block's byte offset, xb: its first activation).
fn part_acc(acc: f32, blk: u32, p: u32, xb: u32) -> f32 {
  var a = acc;
  let w = dequant_part_h(blk, p);
  for (var g = 0u; g < NG; g++) {
    a += f32(dot(w[g], x4h(xb + part_col(p, 4u * g))));
  }
  return a;
}
//#else
// f32: the block file's part_dot (Q2_K, Q3_K, Q4_K: codes four at a time against their 4 activations;
// the others: part_dot_generic.wgsl).
fn part_acc(acc: f32, blk: u32, p: u32, xb: u32) -> f32 {
  return part_dot(acc, blk, p, xb);
}
//#endif

// Output element (token t, global row r): Y[t * y_stride + r], or routed to Y1/Y2 (ROUTE), or added (ADD).
fn store_y(t: u32, r: u32, v: f32) {
//#if ROUTE
  if (r >= params.split2) { Y2[t * params.stride2 + r - params.split2] = v; return; }
  if (r >= params.split1) { Y1[t * params.stride1 + r - params.split1] = v; return; }
//#endif
//#if ADD
  Y[t * params.y_stride + r] = Y[t * params.y_stride + r] + v;
//#else
  Y[t * params.y_stride + r] = v;
//#endif
}

// The GLU output: act(gate) * up, as ops.wgsl's silu_mul / gelu_mul compute it.
fn glu(g: f32, u: f32) -> f32 {
//#if GELU
  let t = tanh(clamp(0.7978845608028654 * g * (1.0 + 0.044715 * g * g), -15.0, 15.0));
  return 0.5 * g * (1.0 + t) * u;
//#else
  return g / (1.0 + exp(-g)) * u;
//#endif
}

// Sum v over the workgroup into partial[slot * WG] (valid for lid == 0 after the call).
fn wg_sum(v: f32, lid: u32, slot: u32, sg_size: u32) -> f32 {
//#if SUBGROUPS
  let s = subgroupAdd(v);
  if (lid % sg_size == 0u) { partial[slot * WG + lid / sg_size] = s; }
  workgroupBarrier();
  var t = 0.0;
  if (lid == 0u) {
    for (var i = 0u; i < (WG + sg_size - 1u) / sg_size; i++) { t += partial[slot * WG + i]; }
  }
  workgroupBarrier();
  return t;
//#else
  partial[slot * WG + lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[slot * WG + lid] += partial[slot * WG + lid + stride]; }
    workgroupBarrier();
  }
  return partial[slot * WG];
//#endif
}

@compute @workgroup_size(WG)
fn matvec(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//#if SUBGROUPS
  @builtin(subgroup_size) sg_size: u32,
//#endif
) {
//#if !SUBGROUPS
  let sg_size = 1u;
//#endif
//#if NORM
  norm_prologue(lid);
//#endif
  let lane = lid % LANES;
  let row = (wid.x + wid.y * nwg.x) * (WG / LANES) + lid / LANES;
  let in_range = row < params.rows;
  var acc = 0.0;
  var acc2 = 0.0; // GLU: the up row's sum
  if (in_range) {
    let nb = params.cols / BLOCK_W;
    let row_off = row * nb * BLOCK_BYTES;
//#if GLU
    let row_off2 = (row + params.glu_rows) * nb * BLOCK_BYTES;
//#endif
    for (var u = lane; u < nb * PARTS; u += LANES) {
      let b = u / PARTS;
      let p = u % PARTS;
      let xb = params.x_offset + b * BLOCK_W;
      acc = part_acc(acc, row_off + b * BLOCK_BYTES, p, xb);
//#if GLU
      acc2 = part_acc(acc2, row_off2 + b * BLOCK_BYTES, p, xb);
//#endif
    }
  }
  if (LANES == WG) {
    var s = wg_sum(acc, lid, 0u, sg_size);
//#if GLU
    s = glu(s, wg_sum(acc2, lid, 1u, sg_size));
//#endif
    if (lid == 0u && in_range) { store_y(0u, params.y_offset + row, s); }
    return;
  }
  // Several rows per workgroup: a tree over each row's LANES slots (LANES is an override, so
  // every barrier below is in uniform control flow). GLU's second sum uses the next WG slots.
  partial[lid] = acc;
//#if GLU
  partial[WG + lid] = acc2;
//#endif
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial[lid] += partial[lid + stride];
//#if GLU
      partial[WG + lid] += partial[WG + lid + stride];
//#endif
    }
    workgroupBarrier();
  }
  if (lane == 0u && in_range) {
    var s = partial[lid];
//#if GLU
    s = glu(s, partial[WG + lid]);
//#endif
    store_y(0u, params.y_offset + row, s);
  }
}

// Y[t][y_offset + row] = sum_c W[row][c] * X[t][x_offset + c], for t < n_tok. Workgroup
// (row, tile): tokens tile*TT .. tile*TT + TT.
@compute @workgroup_size(WG)
fn matmul(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//#if SUBGROUPS
  @builtin(subgroup_size) sg_size: u32,
//#endif
) {
//#if !SUBGROUPS
  let sg_size = 1u;
//#endif
  let g = wid.x + wid.y * nwg.x;
  let rpw = WG / LANES;
  let row_groups = (params.rows + rpw - 1u) / rpw;
  let lane = lid % LANES;
  let row = (g % row_groups) * rpw + lid / LANES;
  let t0 = (g / row_groups) * TT;
  let in_range = t0 < params.n_tok && row < params.rows;
  var acc: array<f32, TT>;
  if (in_range) {
    let nb = params.cols / BLOCK_W;
    let row_off = row * nb * BLOCK_BYTES;
    let nt = min(TT, params.n_tok - t0);
    for (var u = lane; u < nb * PARTS; u += LANES) {
      let b = u / PARTS;
      let p = u % PARTS;
//#if SHADER_F16
      let w = dequant_part_h(row_off + b * BLOCK_BYTES, p);
//#else
      let w = dequant_part(row_off + b * BLOCK_BYTES, p);
//#endif
      for (var t = 0u; t < nt; t++) {
        let xb = (t0 + t) * params.x_stride + params.x_offset + b * BLOCK_W;
        var s = 0.0;
//#if SHADER_F16
        for (var g = 0u; g < NG; g++) {
          s += f32(dot(w[g], x4h(xb + part_col(p, 4u * g))));
        }
//#else
        for (var k = 0u; k < NPP; k++) {
          s += w[k] * xv(xb + part_col(p, k));
        }
//#endif
        acc[t] += s;
      }
    }
  }
  if (LANES == WG) {
    for (var t = 0u; t < TT; t++) {
      let s = wg_sum(acc[t], lid, t, sg_size);
      if (lid == 0u && in_range && t0 + t < params.n_tok) {
        store_y(t0 + t, params.y_offset + row, s);
      }
    }
    return;
  }
  // Several rows per workgroup (see LANES): each row's LANES slots summed by a tree, all TT
  // tokens at once, so the barriers are shared.
  for (var t = 0u; t < TT; t++) { partial[t * WG + lid] = acc[t]; }
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      for (var t = 0u; t < TT; t++) { partial[t * WG + lid] += partial[t * WG + lid + stride]; }
    }
    workgroupBarrier();
  }
  if (lane == 0u && in_range) {
    for (var t = 0u; t < TT; t++) {
      if (t0 + t < params.n_tok) { store_y(t0 + t, params.y_offset + row, partial[t * WG + lid]); }
    }
  }
}

// Embedding lookup: Y[t * y_stride + c] = W[token t][c], dequantized. Token ids arrive in X as u32
// bit patterns (X is f32-typed for the matmul entries). For a tensor split across bindings this
// runs once per chunk; y_offset then names the chunk's first row and other tokens are skipped.
@compute @workgroup_size(WG)
fn get_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= params.n_tok) { return; }
  let tok = bitcast<u32>(X[params.x_offset + t]);
  if (tok < params.y_offset || tok >= params.y_offset + params.rows) { return; }
  let nb = params.cols / BLOCK_W;
  let row_off = (tok - params.y_offset) * nb * BLOCK_BYTES;
  for (var u = lid; u < nb * PARTS; u += WG) {
    let b = u / PARTS;
    let p = u % PARTS;
    let w = dequant_part(row_off + b * BLOCK_BYTES, p);
    for (var k = 0u; k < NPP; k++) {
      Y[t * params.y_stride + b * BLOCK_W + part_col(p, k)] = w[k];
    }
  }
}
