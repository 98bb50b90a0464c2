// Small per-token operators of the llama graph. Each entry point binds only what it uses
// (layout 'auto'), so one file serves them all; uniforms are the shared Params struct.
//   rmsnorm:  Y[r] = W * X[r] / sqrt(mean(X[r]^2) + eps)        one workgroup per row
//   rope:     rotate interleaved pairs (2j, 2j+1) of each head of X[r] in place (GGUF NORMAL mode)
//   rope_neox: the same, rotating pairs (j, j + rope_dim/2) (GGUF NEOX mode: qwen, gemma, phi3)
//   rmsnorm_inplace: A[r] = B * A[r] / rms(A[r]) (per-head q/k norms, gemma's post norms)
//   silu_mul: A = silu(A) * B                                    elementwise
//   gelu_mul: A = gelu_tanh(A) * B                               elementwise (gemma's FFN)
//   add:      A += B                                             elementwise
//   add_bias: A[i] += B[i % in_stride]                           rows of in_stride (biases)
//   scale:    A *= alpha                                         (gemma's embedding)
//   softcap:  A = tanh(A / alpha) * alpha                        (gemma2's final logits)

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> red: array<f32, WG>;

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// 1 / rms of row A[base .. base + n): every thread of the workgroup calls it (barriers inside).
fn row_inv_rms(base: u32, n: u32, ok: bool, lid: u32) -> f32 {
  var s = 0.0;
  if (ok) {
    for (var c = lid; c < n; c += WG) { let v = A[base + c]; s += v * v; }
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  return 1.0 / sqrt(red[0] / f32(n) + params.eps);
}

// rmsnorm: A = input rows (read only here), B = weight [n], C = output rows.
// Input row r starts at A[params.in_offset + r * params.in_stride], output at C[r * params.n].
@compute @workgroup_size(WG)
fn rmsnorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = linear_id(wid, nwg);
  let ok = r < params.rows;
  let base = params.in_offset + r * params.in_stride;
  let scale = row_inv_rms(base, params.n, ok, lid);
  if (ok) {
    for (var c = lid; c < params.n; c += WG) { C[r * params.n + c] = B[c] * (A[base + c] * scale); }
  }
}

// rmsnorm_inplace: rows of n at A[r * n], weight B [n]. Each thread writes only elements it read,
// and every read for the sum is before the barrier, so in place is safe.
@compute @workgroup_size(WG)
fn rmsnorm_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = linear_id(wid, nwg);
  let ok = r < params.rows;
  let base = r * params.n;
  let scale = row_inv_rms(base, params.n, ok, lid);
  if (ok) {
    for (var c = lid; c < params.n; c += WG) { A[base + c] = B[c] * (A[base + c] * scale); }
  }
}

// rope: A holds rows of n_head heads of head_dim, row r at A[params.in_offset + r * params.in_stride]
// for position params.pos0 + r. Pair j of a head (dims 2j, 2j+1, 2j < rope_dim) turns by
// theta = (pos * freq_scale) * base^(-2j / rope_dim); B holds (cos, sin) of every (pos, j), computed
// once in float64 on the CPU: GPU sin/cos of large angles (pos in the thousands) lose digits.
// The table's (cos, sin) already carry frequency factors (rope_freqs, LongRoPE) and attn_factor.
fn rope_pair(i: u32, neox: bool) {
  let half = params.rope_dim / 2u;
  let per_row = params.n_head * half;
  if (i >= params.rows * per_row) { return; }
  let r = i / per_row;
  let h = (i % per_row) / half;
  let j = i % half;
  let t = ((params.pos0 + r) * half + j) * 2u;
  let c = B[t];
  let s = B[t + 1u];
  let head = params.in_offset + r * params.in_stride + h * params.head_dim;
  var o0 = head + 2u * j;
  var o1 = o0 + 1u;
  if (neox) {
    o0 = head + j;
    o1 = o0 + half;
  }
  let x0 = A[o0];
  let x1 = A[o1];
  A[o0] = x0 * c - x1 * s;
  A[o1] = x0 * s + x1 * c;
}

@compute @workgroup_size(WG)
fn rope(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rope_pair(gid.x + gid.y * nwg.x * WG, false);
}

@compute @workgroup_size(WG)
fn rope_neox(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  rope_pair(gid.x + gid.y * nwg.x * WG, true);
}

@compute @workgroup_size(WG)
fn silu_mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let g = A[i];
  A[i] = g / (1.0 + exp(-g)) * B[i];
}

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  A[i] = A[i] + B[i];
}

// tanh of an argument clamped to +-15 (tanh is +-1 in f32 there): some backends compute tanh
// through exp(2x) and would give inf/inf = NaN for large |x|.
fn tanh_safe(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));
}

@compute @workgroup_size(WG)
fn gelu_mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let g = A[i];
  // GELU, tanh form (ggml_gelu): 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))).
  A[i] = 0.5 * g * (1.0 + tanh_safe(0.7978845608028654 * g * (1.0 + 0.044715 * g * g))) * B[i];
}

@compute @workgroup_size(WG)
fn add_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  A[i] = A[i] + B[i % params.in_stride];
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  A[i] = A[i] * params.alpha;
}

@compute @workgroup_size(WG)
fn softcap(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  A[i] = tanh_safe(A[i] / params.alpha) * params.alpha;
}
