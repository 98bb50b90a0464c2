// Small per-token operators of the llama graph. Each entry point binds only what it uses
// (layout 'auto'), so one file serves them all; uniforms are the shared Params struct.
//   rmsnorm:  Y[r] = W * X[r] / sqrt(mean(X[r]^2) + eps)        one workgroup per row
//   rope:     rotate interleaved pairs (2j, 2j+1) of each head of X[r] in place (GGUF NORMAL mode)
//   silu_mul: A = silu(A) * B                                    elementwise
//   add:      A += B                                             elementwise

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> red: array<f32, WG>;

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// rmsnorm: A = input rows (read only here), B = weight [n], C = output rows.
// Input row r starts at A[params.in_offset + r * params.in_stride], output at C[r * params.n].
@compute @workgroup_size(WG)
fn rmsnorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = linear_id(wid, nwg);
  let ok = r < params.rows;
  let base = params.in_offset + r * params.in_stride;
  var s = 0.0;
  if (ok) {
    for (var c = lid; c < params.n; c += WG) { let v = A[base + c]; s += v * v; }
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(red[0] / f32(params.n) + params.eps);
  if (ok) {
    for (var c = lid; c < params.n; c += WG) { C[r * params.n + c] = B[c] * (A[base + c] * scale); }
  }
}

// rope: A holds rows of n_head heads of head_dim, row r at A[params.in_offset + r * params.in_stride]
// for position params.pos0 + r. Pair j of a head (dims 2j, 2j+1, 2j < rope_dim) turns by
// theta = (pos * freq_scale) * base^(-2j / rope_dim); B holds (cos, sin) of every (pos, j), computed
// once in float64 on the CPU: GPU sin/cos of large angles (pos in the thousands) lose digits.
@compute @workgroup_size(WG)
fn rope(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let half = params.rope_dim / 2u;
  let per_row = params.n_head * half;
  if (i >= params.rows * per_row) { return; }
  let r = i / per_row;
  let h = (i % per_row) / half;
  let j = i % half;
  let t = ((params.pos0 + r) * half + j) * 2u;
  let c = B[t];
  let s = B[t + 1u];
  let o = params.in_offset + r * params.in_stride + h * params.head_dim + 2u * j;
  let x0 = A[o];
  let x1 = A[o + 1u];
  A[o] = x0 * c - x1 * s;
  A[o + 1u] = x0 * s + x1 * c;
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
