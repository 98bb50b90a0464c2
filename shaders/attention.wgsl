// Causal grouped-query attention over a layer's KV cache, reading the cache in its stored form
// (src/engine/kv/layout.ts): positions < q0 are quantized rows, dequantized here element by element
// (no full-precision copy of the cache exists); q0..pos0-1 are in the ring (f16 pairs, or f32 words
// with RING_F32); the batch's own positions pos0.. come from its f32 rows KN / VN.
// One workgroup per (token, query head): query row t (position pos0 + t) attends to positions
// 0..pos0+t of KV head h / group (binding 5 is unused: scores stay in the workgroup).
// Scores are q·k·scale, soft-capped as
// tanh(s / softcap) · softcap when softcap > 0 (gemma2); with window > 0 (sliding-window layers)
// a query at position p sees only p - window < p' <= p. ROTATE_OUT: the output head is rotated
// back (Walsh-Hadamard, rot_norm = 1/sqrt(head_dim_v)) before it leaves, for the rotating KV modes.
//   Q [n_tok][n_head * head_dim_k]   KN, VN [n_tok][n_head_kv * head_dim]   O [n_tok][n_head * head_dim_v]

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> KC: array<u32>;
@group(0) @binding(2) var<storage, read> VC: array<u32>;
@group(0) @binding(3) var<storage, read> KN: array<f32>;
@group(0) @binding(4) var<storage, read> VN: array<f32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

//#include kv_codes

var<workgroup> red: array<f32, WG>;

fn k_at(p: u32, c: u32) -> f32 {
  if (p >= params.pos0) { return KN[(p - params.pos0) * params.k_dim + c]; }
  if (p < params.q0) {
    let i = c % params.k_group;
    let base = p * params.k_row_words + (c / params.k_group) * params.k_group_words;
    return kv_deq(KC[base], kv_code(params.bits, i, KC[base + 1u + kv_lo_word(params.bits, i)], KC[base + 1u + kv_hi_word(params.bits, params.k_group, i)]));
  }
  let o = params.k_ring_off + (p % params.ring_slots) * params.k_ring_row_words;
  //#if RING_F32
  return bitcast<f32>(KC[o + c]);
  //#else
  return kv_half(KC[o + c / 2u], c);
  //#endif
}

fn v_at(p: u32, c: u32) -> f32 {
  if (p >= params.pos0) { return VN[(p - params.pos0) * params.v_dim + c]; }
  if (p < params.q0) {
    let i = c % params.v_group;
    let base = p * params.v_row_words + (c / params.v_group) * params.v_group_words;
    return kv_deq(VC[base], kv_code(params.bits, i, VC[base + 1u + kv_lo_word(params.bits, i)], VC[base + 1u + kv_hi_word(params.bits, params.v_group, i)]));
  }
  let o = params.v_ring_off + (p % params.ring_slots) * params.v_ring_row_words;
  //#if RING_F32
  return bitcast<f32>(VC[o + c]);
  //#else
  return kv_half(VC[o + c / 2u], c);
  //#endif
}

fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid < k) { red[lid] = max(red[lid], red[lid + k]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// One pass over the visible positions in tiles of WG (online softmax, as flash-decoding does): each
// thread scores one position of the tile; the tile's probabilities go to workgroup memory; each
// thread then accumulates V for its own output dims (d = lid + i·WG), rescaling its running sums
// when the running max grows. No scores leave the workgroup, so no scratch grows with the context.
const DV_PER_THREAD: u32 = 8u; // head_dim_v ≤ 8·WG (512 at WG = 64)

var<workgroup> probs: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let ok = g < params.n_tok * params.n_head;
  let t = g / params.n_head;
  let h = g % params.n_head;
  let kvh = h / (params.n_head / params.n_head_kv);
  let n_kv = select(0u, params.pos0 + t + 1u, ok); // causal: positions 0..pos0+t
  var lo = 0u;
  if (params.swa_window > 0u && n_kv > params.swa_window) { lo = n_kv - params.swa_window; }
  let dk = params.head_dim_k;
  let dv = params.head_dim_v;
  let q_off = t * params.n_head * dk + h * dk;

  var m = -3.4e38; // running max (finite, so exp(m - m_new) is 0, never NaN)
  var l = 0.0;     // running sum of exp(s - m)
  var acc: array<f32, DV_PER_THREAD>;
  for (var i = 0u; i < DV_PER_THREAD; i++) { acc[i] = 0.0; }
  for (var j0 = lo; j0 < n_kv; j0 += WG) {
    let j = j0 + lid;
    var s = -3.4e38;
    if (j < n_kv) {
      var dot = 0.0;
      for (var d = 0u; d < dk; d++) { dot += Q[q_off + d] * k_at(j, kvh * dk + d); }
      s = dot * params.scale;
      if (params.softcap > 0.0) { s = tanh(clamp(s / params.softcap, -15.0, 15.0)) * params.softcap; }
    }
    let m_new = max(m, wg_max(s, lid));
    var p = 0.0;
    if (j < n_kv) { p = exp(s - m_new); }
    probs[lid] = p;
    let alpha = exp(m - m_new);
    l = l * alpha + wg_sum(p, lid); // wg_sum's barriers also publish probs[]
    let cnt = min(WG, n_kv - j0);
    for (var i = 0u; i < DV_PER_THREAD; i++) {
      let d = lid + i * WG;
      if (d < dv) {
        var a = acc[i] * alpha;
        for (var jj = 0u; jj < cnt; jj++) { a += probs[jj] * v_at(j0 + jj, kvh * dv + d); }
        acc[i] = a;
      }
    }
    m = m_new;
    workgroupBarrier(); // every thread has read probs[] before the next tile writes it
  }
  if (ok) {
    let inv = 1.0 / l;
    let o_off = t * params.n_head * dv + h * dv;
    for (var i = 0u; i < DV_PER_THREAD; i++) {
      let d = lid + i * WG;
      if (d < dv) { O[o_off + d] = acc[i] * inv; }
    }
    //#if ROTATE_OUT
    // The KV mode's Hadamard rotation of the output head (V was stored rotated), as kv_rotate does
    // it (same butterflies, then the 1/sqrt(dv) scale), saving its dispatch and round trip.
    for (var len = 1u; len < dv; len *= 2u) {
      storageBarrier();
      for (var pr = lid; pr < dv / 2u; pr += WG) {
        let j = o_off + (pr / len) * 2u * len + pr % len;
        let a = O[j];
        let b = O[j + len];
        O[j] = a + b;
        O[j + len] = a - b;
      }
    }
    storageBarrier();
    for (var d = lid; d < dv; d += WG) { O[o_off + d] = O[o_off + d] * params.rot_norm; }
    //#endif
  }
}
