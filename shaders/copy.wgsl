// Buffer copy: the bandwidth yardstick. Every later benchmark divides its bytes/time by this one's
// (bytes read + written) / time, measured on the same adapter in the same run.
// Grid-stride over vec4<u32> so any size runs with a bounded number of workgroups.

override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let threads = nwg.x * nwg.y * WG;
  var i = gid.x + gid.y * nwg.x * WG;
  loop {
    if (i >= params.n_vec4) { break; }
    dst[i] = src[i];
    i += threads;
  }
}
