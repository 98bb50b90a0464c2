// A batch's q, k and v made ready for attention, one workgroup per (token, head), in place:
//   bias (qwen2: q/k/v biases)  ->  RMSNorm of the head (qwen3, gemma3: q/k norms)  ->  RoPE of q
//   and k (interleaved or NEOX pairs, partial rotary)  ->  the KV mode's Hadamard rotation.
// Unfused these are up to ten dispatches per layer (3 bias adds, 2 norms, 2 RoPEs, 3 rotations),
// each a round trip of q/k/v through memory; here they are one. Every step does the f32 arithmetic
// of its unfused kernel in the same order (ops.wgsl add_bias, rmsnorm_inplace's per-thread sums
// and tree, rope_pair; kv_rotate's butterflies), so fused and unfused results are bit-identical.
// Heads are the units: a workgroup's steps only need its own head, so a storage barrier between
// the steps is all the synchronisation there is. Units: n_head q heads, n_head_kv k heads, then
// v_units v heads (n_head_kv when v has a bias or the mode rotates, else 0).
// P holds the layer's biases and norm weights at float offsets (NONE: absent).

override WG: u32 = 64;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read_write> Q: array<f32>;
@group(0) @binding(1) var<storage, read_write> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> V: array<f32>;
@group(0) @binding(3) var<storage, read> T: array<f32>;
@group(0) @binding(4) var<storage, read> P: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> red: array<f32, WG>;

// Q, K and V are separate bindings; the side is uniform across a workgroup, so these branches are too.
fn ld(side: u32, i: u32) -> f32 {
  if (side == 0u) { return Q[i]; }
  if (side == 1u) { return K[i]; }
  return V[i];
}

fn st(side: u32, i: u32, v: f32) {
  if (side == 0u) { Q[i] = v; } else if (side == 1u) { K[i] = v; } else { V[i] = v; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let units = params.n_head + params.n_head_kv + params.v_units;
  let w = wid.x + wid.y * nwg.x;
  if (w >= params.rows * units) { return; }
  let r = w / units;
  let u = w % units;
  var side = 0u;
  var h = u;
  var nh = params.n_head;
  var hd = params.head_dim_k;
  var bias = params.q_bias;
  var nw = params.q_norm;
  var rot_norm = params.rot_norm_k;
  if (u >= params.n_head + params.n_head_kv) {
    side = 2u;
    h = u - params.n_head - params.n_head_kv;
    nh = params.n_head_kv;
    hd = params.head_dim_v;
    bias = params.v_bias;
    nw = NONE;
    rot_norm = params.rot_norm_v;
  } else if (u >= params.n_head) {
    side = 1u;
    h = u - params.n_head;
    nh = params.n_head_kv;
    bias = params.k_bias;
    nw = params.k_norm;
  }
  let base = r * nh * hd + h * hd;

  if (bias != NONE) {
    for (var c = lid; c < hd; c += WG) { st(side, base + c, ld(side, base + c) + P[bias + h * hd + c]); }
  }
  if (nw != NONE) {
    // Each thread sums (and later scales) the elements it wrote above: no barrier needed before.
    var s = 0.0;
    for (var c = lid; c < hd; c += WG) { let v = ld(side, base + c); s += v * v; }
    red[lid] = s;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k /= 2u) {
      if (lid < k) { red[lid] += red[lid + k]; }
      workgroupBarrier();
    }
    let scale = 1.0 / sqrt(red[0] / f32(hd) + params.eps);
    for (var c = lid; c < hd; c += WG) { st(side, base + c, P[nw + c] * (ld(side, base + c) * scale)); }
  }
  if (side < 2u) {
    storageBarrier();
    let half = params.rope_dim / 2u;
    for (var j = lid; j < half; j += WG) {
      let t = ((params.pos0 + r) * half + j) * 2u;
      let cs = T[t];
      let sn = T[t + 1u];
      var o0 = base + 2u * j;
      var o1 = o0 + 1u;
      if (params.neox != 0u) {
        o0 = base + j;
        o1 = o0 + half;
      }
      let x0 = ld(side, o0);
      let x1 = ld(side, o1);
      st(side, o0, x0 * cs - x1 * sn);
      st(side, o1, x0 * sn + x1 * cs);
    }
  }
  if (params.rotate != 0u) {
    for (var len = 1u; len < hd; len *= 2u) {
      storageBarrier();
      for (var p = lid; p < hd / 2u; p += WG) {
        let j = base + (p / len) * 2u * len + p % len;
        let a = ld(side, j);
        let b = ld(side, j + len);
        st(side, j, a + b);
        st(side, j + len, a - b);
      }
    }
    storageBarrier();
    for (var c = lid; c < hd; c += WG) { st(side, base + c, ld(side, base + c) * rot_norm); }
  }
}
