// f16 decoding for the SHADER_F16 matvec/matmul variants (included only under that flag, after
// `enable f16;`). Quantized fields become exact small f16 integers without an integer→float
// conversion per weight (a reduced-throughput instruction on NVIDIA GPUs, for one): OR-ing 0x6400
// (the f16 1024.0) into a 16-bit half whose low bits hold v < 1024 makes that half the f16
// 1024 + v; subtracting 1024 + bias then gives v - bias exactly. Spelled
// `vec2<f16>(unpack2x16float(u))` because naga (Firefox) rejects `bitcast<vec2<f16>>(u)` and
// indexing/`.x` on it; the f16→f32→f16 round trip is exact, so a compiler may reduce it to the bit
// reinterpretation it is.

// The four bytes of `w` (each < 256, byte 0 first) minus `off - 1024`, as exact f16 values.
fn u8x4h(w: u32, off: f16) -> vec4<f16> {
  let a = vec2<f16>(unpack2x16float((w & 0x00ff00ffu) | 0x64006400u)) - vec2<f16>(off);
  let b = vec2<f16>(unpack2x16float(((w >> 8u) & 0x00ff00ffu) | 0x64006400u)) - vec2<f16>(off);
  return vec4<f16>(a.x, b.x, a.y, b.y);
}

