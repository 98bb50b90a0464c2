// Append a batch to one side (K or V) of a layer's compressed KV cache C (layout: src/engine/kv/layout.ts).
//   quantize: positions q0..q1-1 become quantized rows, read from the f16 ring (p < pos0) or from
//             the batch's f32 rows N (p ≥ pos0); one invocation per (position, group).
//   ring:     batch positions max(q1, pos0)..pos0+n_tok-1 go to ring slot p % ring_slots (f16 pairs,
//             or f32 words with RING_F32); one invocation per (position, ring word).
// The two are separate dispatches, quantize first: a ring slot being written may still hold a
// position that quantize reads.

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> C: array<u32>;
@group(0) @binding(1) var<storage, read> N: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

//#include kv_codes

fn ring_word(p: u32) -> u32 {
  return params.ring_off + (p % max(1u, params.ring_slots)) * params.ring_row_words;
}

fn src_at(p: u32, c: u32) -> f32 {
  if (p >= params.pos0) { return N[(p - params.pos0) * params.dim + c]; }
  return kv_half(C[ring_word(p) + c / 2u], c);
}

@compute @workgroup_size(WG)
fn quantize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let groups = params.dim / params.group;
  if (idx >= (params.q1 - params.q0) * groups) { return; }
  let p = params.q0 + idx / groups;
  let g = idx % groups;
  let c0 = g * params.group;
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var i = 0u; i < params.group; i++) {
    let v = src_at(p, c0 + i);
    lo = min(lo, v);
    hi = max(hi, v);
  }
  let top = (1u << params.bits) - 1u;
  let sw = pack2x16float(vec2<f32>((hi - lo) * params.inv_levels, lo));
  let s = unpack2x16float(sw);
  var inv = 0.0;
  if (s.x > 0.0) { inv = 1.0 / s.x; }
  let base = p * params.row_words + g * params.group_words;
  C[base] = sw;
  for (var w = 1u; w < params.group_words; w++) { C[base + w] = 0u; }
  for (var i = 0u; i < params.group; i++) {
    let q = u32(clamp(floor((src_at(p, c0 + i) - s.y) * inv + 0.5), 0.0, f32(top)));
    if (params.bits == 3u) {
      let a = base + 1u + kv_lo_word(3u, i);
      let b = base + 1u + kv_hi_word(3u, params.group, i);
      C[a] = C[a] | ((q & 3u) << ((i % 16u) * 2u));
      C[b] = C[b] | ((q >> 2u) << (i % 32u));
    } else {
      let a = base + 1u + kv_lo_word(params.bits, i);
      C[a] = C[a] | (q << ((i % (32u / params.bits)) * params.bits));
    }
  }
}

@compute @workgroup_size(WG)
fn ring(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let first = max(params.q1, params.pos0);
  let end = params.pos0 + params.n_tok;
  if (first >= end || idx >= (end - first) * params.ring_row_words) { return; }
  let p = first + idx / params.ring_row_words;
  let w = idx % params.ring_row_words;
  let r = (p - params.pos0) * params.dim;
  //#if RING_F32
  C[ring_word(p) + w] = bitcast<u32>(N[r + w]);
  //#else
  let c = 2u * w;
  var b = 0.0;
  if (c + 1u < params.dim) { b = N[r + c + 1u]; }
  C[ring_word(p) + w] = pack2x16float(vec2<f32>(N[r + c], b));
  //#endif
}
