// The WASM matmul checked against the TypeScript reference (ggml-exact dequantization in
// src/quant, float64 sums). Tolerance, per output element:
//  1. Exactness of the integer path: with x̂ the activations as the kernel rounds them (int8 per
//     block, d = max|x|/127, round half to even, emulated here in f32), |y - Σ w·x̂| must be within
//     1e-5·Σ|w·x̂| (f32 products and sums of per-block results); |w| counts a k-quant's scaled
//     code and min terms separately, since y is formed from both.
//  2. End to end: |y - Σ w·x| <= Σ|w|·d_block/2 + the same 1e-5 slack (what rounding x costs).
// Float types (F32, F16) take x unrounded: only the 1e-5 slack applies.
import { dequantize } from '../../src/quant/dequantize.ts';
import { ggmlType, GgmlType } from '../../src/quant/ggml-types.ts';
import type { WasmRuntime } from '../../src/engine/wasm/runtime.ts';

/** Byte offsets of the f16 (d, dmin) fields per type, to zero one of them (see minTerms). */
export const SCALE_FIELDS: Record<number, number[]> = {
  [GgmlType.Q4_0]: [0], [GgmlType.Q8_0]: [0], [GgmlType.Q2_K]: [80, 82], [GgmlType.Q3_K]: [108],
  [GgmlType.Q4_K]: [0, 2], [GgmlType.Q5_K]: [0, 2], [GgmlType.Q6_K]: [208],
};

const fr = Math.fround;

function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x as the kernel sees it (c/quantize.c), and each element's half step d/2. */
export function roundedActivations(x: Float32Array, block: number): { xq: Float64Array; half: Float64Array } {
  const xq = new Float64Array(x.length);
  const half = new Float64Array(x.length);
  for (let b = 0; b < x.length; b += block) {
    let amax = 0;
    for (let i = b; i < b + block; i++) amax = Math.max(amax, Math.abs(x[i]!));
    if (amax === 0) continue;
    const id = fr(127 / amax), d = fr(amax / 127);
    for (let i = b; i < b + block; i++) {
      xq[i] = d * roundEven(fr(x[i]! * id));
      half[i] = d / 2;
    }
  }
  return { xq, half };
}

/** Per weight |scaled code term| + |min term| (one term for types without a min). */
function termMagnitudes(type: number, bytes: Uint8Array, n: number, w: Float32Array): Float32Array {
  const fields = SCALE_FIELDS[type] ?? [];
  if (fields.length < 2) return w.map(Math.abs);
  const bpb = ggmlType(type).bytesPerBlock;
  const zeroed = (field: number) => {
    const b = bytes.slice();
    for (let o = 0; o < b.length; o += bpb) b[o + field] = b[o + field + 1] = 0;
    return dequantize(type, b, n);
  };
  const mins = zeroed(fields[0]!);
  const codes = zeroed(fields[1]!);
  return codes.map((v, i) => Math.abs(v) + Math.abs(mins[i]!));
}

export interface CheckOutcome {
  /** Largest error over the bound of check 1 and check 2 (must be <= 1). */
  exact: number;
  endToEnd: number;
}

/** Runs W (rows x cols of `type`, bytes as stored) on nTok rows of x in WASM and checks both bounds. */
export function checkMatmul(rt: WasmRuntime, type: number, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, nTok: number): CheckOutcome {
  const ptr = rt.place(bytes);
  const info = ggmlType(type);
  const y = new Float32Array(nTok * rows).fill(NaN); // poisoned: every element must be written
  rt.matmul(y, x, { ptr, type, rows, cols, rowBytes: (cols / info.blockSize) * info.bytesPerBlock }, nTok, cols, rows);
  const w = dequantize(type, bytes, rows * cols);
  const mag = termMagnitudes(type, bytes, rows * cols, w);
  const block = type === GgmlType.F32 || type === GgmlType.F16 ? 0 : info.blockSize;
  const { xq, half } = block ? roundedActivations(x, block) : { xq: Float64Array.from(x), half: new Float64Array(x.length) };
  let exact = 0, endToEnd = 0;
  for (let t = 0; t < nTok; t++) {
    for (let o = 0; o < rows; o++) {
      let yq = 0, yx = 0, absq = 0, bound = 0;
      for (let i = 0; i < cols; i++) {
        const wi = w[o * cols + i]!, xi = t * cols + i;
        yq += wi * xq[xi]!;
        yx += wi * x[xi]!;
        absq += mag[o * cols + i]! * Math.abs(xq[xi]!);
        bound += Math.abs(wi) * half[xi]!;
      }
      const got = y[t * rows + o]!;
      const slack = 1e-5 * absq + 1e-30;
      exact = Math.max(exact, Number.isNaN(got) ? Infinity : Math.abs(got - yq) / slack);
      endToEnd = Math.max(endToEnd, Number.isNaN(got) ? Infinity : Math.abs(got - yx) / (bound + slack));
    }
  }
  return { exact, endToEnd };
}
