// Causal grouped-query attention over the KV cache (f32 cache; compressed modes come with the
// KV-cache work). One workgroup per (token, query head): query row t (position pos0 + t) attends
// to cache positions 0..pos0+t of KV head h / group. Scores go to a scratch row S (one per
// workgroup, n_ctx long) in three phases: scores + max, exp + sum, weighted sum of V.
//   Q [n_tok][n_head * head_dim]   K, V cache [n_ctx][n_head_kv * head_dim]   O like Q

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> red: array<f32, WG>;

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let ok = g < params.n_tok * params.n_head;
  let t = g / params.n_head;
  let h = g % params.n_head;
  let kvh = h / (params.n_head / params.n_head_kv);
  let n_kv = params.pos0 + t + 1u; // causal: positions 0..pos0+t
  let dk = params.head_dim_k;
  let dv = params.head_dim_v;
  let q_off = t * params.n_head * dk + h * dk;
  let s_off = g * params.n_ctx;
  let k_stride = params.n_head_kv * dk;
  let v_stride = params.n_head_kv * dv;

  var m = -3.4e38;
  if (ok) {
    for (var j = lid; j < n_kv; j += WG) {
      let k_off = j * k_stride + kvh * dk;
      var s = 0.0;
      for (var d = 0u; d < dk; d++) { s += Q[q_off + d] * K[k_off + d]; }
      s *= params.scale;
      S[s_off + j] = s;
      m = max(m, s);
    }
  }
  m = wg_max(m, lid);
  var l = 0.0;
  if (ok) {
    for (var j = lid; j < n_kv; j += WG) {
      let e = exp(S[s_off + j] - m);
      S[s_off + j] = e;
      l += e;
    }
  }
  l = wg_sum(l, lid);
  storageBarrier();
  if (ok) {
    let inv = 1.0 / l;
    for (var d = lid; d < dv; d += WG) {
      var acc = 0.0;
      for (var j = 0u; j < n_kv; j++) { acc += S[s_off + j] * V[j * v_stride + kvh * dv + d]; }
      O[t * params.n_head * dv + h * dv + d] = acc * inv;
    }
  }
}
