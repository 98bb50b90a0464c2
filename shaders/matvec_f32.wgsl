// f32 matrix-vector product y = W x, W row-major [rows][cols] (GGUF ne = [cols, rows]).
// One workgroup per row: threads stride over the row, then reduce. With SUBGROUPS the reduction
// uses subgroupAdd and only one partial per subgroup goes through workgroup memory.

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//#if SUBGROUPS
  @builtin(subgroup_size) sg_size: u32,
  @builtin(subgroup_invocation_id) sg_lane: u32,
//#endif
) {
  let row = wid.x + wid.y * nwg.x;
  // No early return: every invocation must reach the barriers (uniform control flow).
  let in_range = row < params.rows;
  var acc = 0.0;
  if (in_range) {
    let base = row * params.cols;
    for (var c = lid; c < params.cols; c += WG) {
      acc += w[base + c] * x[c];
    }
  }
//#if SUBGROUPS
  acc = subgroupAdd(acc);
  if (sg_lane == 0u) { partial[lid / sg_size] = acc; }
  workgroupBarrier();
  if (lid == 0u && in_range) {
    var s = 0.0;
    for (var i = 0u; i < (WG + sg_size - 1u) / sg_size; i++) { s += partial[i]; }
    y[row] = s;
  }
//#else
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u && in_range) { y[row] = partial[0]; }
//#endif
}
