// Append a batch to a layer's compressed KV cache, K side (C, N) and V side (CV, NV)
// (layout: src/engine/kv/layout.ts); `sides` picks them (bit 0: K, bit 1: V), so one dispatch
// appends both (the fused decode path) or one (the unfused baseline, two dispatches).
//   quantize: positions q0..q1-1 become quantized rows, read from the f16 ring (p < pos0) or from
//             the batch's f32 rows (p ≥ pos0); one invocation per (side, position, group).
//   ring:     batch positions max(q1, pos0)..pos0+n_tok-1 go to ring slot p % ring_slots (f16 pairs,
//             or f32 words with RING_F32); one invocation per (side, position, ring word).
// The two are separate dispatches, quantize first: a ring slot being written may still hold a
// position that quantize reads.

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> C: array<u32>;
@group(0) @binding(1) var<storage, read> N: array<f32>;
@group(0) @binding(2) var<storage, read_write> CV: array<u32>;
@group(0) @binding(3) var<storage, read> NV: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

//#include kv_codes

struct Side {
  v: bool,
  dim: u32,
  group: u32,
  group_words: u32,
  row_words: u32,
  ring_off: u32,
  ring_row_words: u32,
}

fn side_k() -> Side {
  return Side(false, params.k_dim, params.k_group, params.k_group_words, params.k_row_words, params.k_ring_off, params.k_ring_row_words);
}

fn side_v() -> Side {
  return Side(true, params.v_dim, params.v_group, params.v_group_words, params.v_row_words, params.v_ring_off, params.v_ring_row_words);
}

fn c_get(s: Side, i: u32) -> u32 {
  if (s.v) { return CV[i]; }
  return C[i];
}

fn c_set(s: Side, i: u32, x: u32) {
  if (s.v) { CV[i] = x; } else { C[i] = x; }
}

fn n_get(s: Side, i: u32) -> f32 {
  if (s.v) { return NV[i]; }
  return N[i];
}

fn ring_word(s: Side, p: u32) -> u32 {
  return s.ring_off + (p % max(1u, params.ring_slots)) * s.ring_row_words;
}

fn src_at(s: Side, p: u32, c: u32) -> f32 {
  if (p >= params.pos0) { return n_get(s, (p - params.pos0) * s.dim + c); }
  return kv_half(c_get(s, ring_word(s, p) + c / 2u), c);
}

fn quant_units(s: Side) -> u32 {
  return (params.q1 - params.q0) * (s.dim / max(1u, s.group));
}

fn ring_units(s: Side) -> u32 {
  let first = max(params.q1, params.pos0);
  let end = params.pos0 + params.n_tok;
  if (first >= end) { return 0u; }
  return (end - first) * s.ring_row_words;
}

fn quantize_one(s: Side, idx: u32) {
  let groups = s.dim / s.group;
  let p = params.q0 + idx / groups;
  let g = idx % groups;
  let c0 = g * s.group;
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var i = 0u; i < s.group; i++) {
    let v = src_at(s, p, c0 + i);
    lo = min(lo, v);
    hi = max(hi, v);
  }
  let top = (1u << params.bits) - 1u;
  let sw = pack2x16float(vec2<f32>((hi - lo) * params.inv_levels, lo));
  let sc = unpack2x16float(sw);
  var inv = 0.0;
  if (sc.x > 0.0) { inv = 1.0 / sc.x; }
  let base = p * s.row_words + g * s.group_words;
  c_set(s, base, sw);
  for (var w = 1u; w < s.group_words; w++) { c_set(s, base + w, 0u); }
  for (var i = 0u; i < s.group; i++) {
    let q = u32(clamp(floor((src_at(s, p, c0 + i) - sc.y) * inv + 0.5), 0.0, f32(top)));
    if (params.bits == 3u) {
      let a = base + 1u + kv_lo_word(3u, i);
      let b = base + 1u + kv_hi_word(3u, s.group, i);
      c_set(s, a, c_get(s, a) | ((q & 3u) << ((i % 16u) * 2u)));
      c_set(s, b, c_get(s, b) | ((q >> 2u) << (i % 32u)));
    } else {
      let a = base + 1u + kv_lo_word(params.bits, i);
      c_set(s, a, c_get(s, a) | (q << ((i % (32u / params.bits)) * params.bits)));
    }
  }
}

@compute @workgroup_size(WG)
fn quantize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nk = select(0u, quant_units(side_k()), (params.sides & 1u) != 0u);
  let nv = select(0u, quant_units(side_v()), (params.sides & 2u) != 0u);
  if (idx < nk) { quantize_one(side_k(), idx); } else if (idx < nk + nv) { quantize_one(side_v(), idx - nk); }
}

fn ring_one(s: Side, idx: u32) {
  let first = max(params.q1, params.pos0);
  let p = first + idx / s.ring_row_words;
  let w = idx % s.ring_row_words;
  let r = (p - params.pos0) * s.dim;
  //#if RING_F32
  c_set(s, ring_word(s, p) + w, bitcast<u32>(n_get(s, r + w)));
  //#else
  let c = 2u * w;
  var b = 0.0;
  if (c + 1u < s.dim) { b = n_get(s, r + c + 1u); }
  c_set(s, ring_word(s, p) + w, pack2x16float(vec2<f32>(n_get(s, r + c), b)));
  //#endif
}

@compute @workgroup_size(WG)
fn ring(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let nk = select(0u, ring_units(side_k()), (params.sides & 1u) != 0u);
  let nv = select(0u, ring_units(side_v()), (params.sides & 2u) != 0u);
  if (idx < nk) { ring_one(side_k(), idx); } else if (idx < nk + nv) { ring_one(side_v(), idx - nk); }
}
