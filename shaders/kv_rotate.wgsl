// Normalized Walsh-Hadamard rotation of every head of rows of X, in place (head_dim a power of 2).
// Row r starts at X[offset + r * stride]. One invocation per (row, head); the butterflies run
// sequentially in storage: heads are at most a few hundred floats and this runs once per token.

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.rows * params.n_head) { return; }
  let o = params.offset + (idx / params.n_head) * params.stride + (idx % params.n_head) * params.head_dim;
  let n = params.head_dim;
  for (var len = 1u; len < n; len *= 2u) {
    for (var i = 0u; i < n; i += 2u * len) {
      for (var j = i; j < i + len; j++) {
        let a = X[o + j];
        let b = X[o + j + len];
        X[o + j] = a + b;
        X[o + j + len] = a - b;
      }
    }
  }
  for (var i = 0u; i < n; i++) { X[o + i] = X[o + i] * params.norm; }
}
