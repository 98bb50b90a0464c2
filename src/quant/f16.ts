// Half (IEEE binary16) and bfloat16 conversions. f16 -> f32 is exact (every half is a float);
// f32 -> f16 rounds to nearest, ties to even, as the F16C instruction and ggml's fallback do.

let halfTable: Float32Array | undefined;

/** All 65536 halves as floats: dequantizers look scales up instead of decoding bits each time. */
function table(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = decodeHalf(h);
  halfTable = t;
  return t;
}

function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

export function f16ToF32(h: number): number {
  return table()[h & 0xffff]!;
}

/** The f16 table itself, for hot loops. */
export function f16Table(): Float32Array {
  return table();
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Round a number to the nearest half (ties to even); returns the 16-bit pattern. */
export function f32ToF16(value: number): number {
  f32buf[0] = value; // the value is a float first, as in C
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15; // rebias
  if (e >= 31) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero): shift the full significand, round to nearest even
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent: correct
  return sign | r;
}

/** The float value after rounding to half precision. */
export function roundToF16(value: number): number {
  return f16ToF32(f32ToF16(value));
}

export function bf16ToF32(b: number): number {
  u32buf[0] = (b & 0xffff) << 16;
  return f32buf[0]!;
}
