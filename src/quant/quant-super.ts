// Super-block step shared by the K-quant encoders: the sub-block scales (and mins) found by
// quant-fit are themselves quantized to a few bits against one f16 super-scale. The rounded
// integer is then re-chosen among its neighbours by the actual error of the sub-block, because
// with 4-6 bit scales plain rounding of the scale is often not the best choice.
import { affineError, fitAffine, fitSymmetric, symError } from './quant-fit.ts';
import { f32ToF16, f16ToF32 } from './f16.ts';

const fr = Math.fround;
const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

export interface SymSuper {
  /** f16 bits of d */
  d: number;
  /** per sub-block signed scale integers */
  scales: Int32Array;
  /** per weight signed levels */
  levels: Int32Array;
}

export interface AffineSuper {
  d: number;
  dmin: number;
  scales: Int32Array;
  mins: Int32Array;
  levels: Int32Array;
}

/** Symmetric: x ≈ d*q_j*l, q_j in [qlo, qhi], l in [lo, hi]; `sub` weights per sub-block. */
export function quantizeSymSuper(
  x: Float32Array, off: number, nSub: number, sub: number, lo: number, hi: number, qlo: number, qhi: number,
): SymSuper {
  const fits = new Float64Array(nSub);
  let sm = 0;
  for (let j = 0; j < nSub; j++) {
    fits[j] = fitSymmetric(x, off + j * sub, sub, lo, hi).scale;
    if (Math.abs(fits[j]!) > Math.abs(sm)) sm = fits[j]!;
  }
  // The largest scale maps to qlo (the wider, negative end), so d takes its opposite sign.
  const dBits = f32ToF16(sm / qlo);
  const d = f16ToF32(dBits);
  const scales = new Int32Array(nSub);
  const levels = new Int32Array(nSub * sub);
  for (let j = 0; j < nSub; j++) {
    const o = off + j * sub;
    let bestQ = 0;
    if (d !== 0) {
      const q0 = Math.round(fits[j]! / d);
      let bestErr = Infinity;
      for (let q = clamp(q0 - 1, qlo, qhi); q <= clamp(q0 + 1, qlo, qhi); q++) {
        const err = symError(x, o, sub, fr(d * q), lo, hi);
        if (err < bestErr) { bestErr = err; bestQ = q; }
      }
    }
    scales[j] = bestQ;
    const s = fr(d * bestQ);
    for (let i = 0; i < sub; i++) levels[j * sub + i] = s === 0 ? 0 : clamp(Math.round(x[o + i]! / s), lo, hi);
  }
  return { d: dBits, scales, levels };
}

/** Affine: x ≈ d*q_j*l - dmin*p_j, q_j and p_j in [0, qmax], l in [0, nmax]. */
export function quantizeAffineSuper(
  x: Float32Array, off: number, nSub: number, sub: number, nmax: number, qmax: number,
): AffineSuper {
  const fs = new Float64Array(nSub);
  const fm = new Float64Array(nSub);
  let maxS = 0, maxM = 0;
  for (let j = 0; j < nSub; j++) {
    const f = fitAffine(x, off + j * sub, sub, nmax);
    fs[j] = f.scale;
    fm[j] = f.min;
    maxS = Math.max(maxS, f.scale);
    maxM = Math.max(maxM, f.min);
  }
  const dBits = f32ToF16(maxS / qmax);
  const mBits = f32ToF16(maxM / qmax);
  const d = f16ToF32(dBits);
  const dmin = f16ToF32(mBits);
  const scales = new Int32Array(nSub);
  const mins = new Int32Array(nSub);
  const levels = new Int32Array(nSub * sub);
  for (let j = 0; j < nSub; j++) {
    const o = off + j * sub;
    const q0 = d > 0 ? Math.round(fs[j]! / d) : 0;
    const p0 = dmin > 0 ? Math.round(fm[j]! / dmin) : 0;
    let bq = 0, bp = 0, bestErr = Infinity;
    for (let q = clamp(q0 - 1, 0, qmax); q <= clamp(q0 + 1, 0, qmax); q++) {
      for (let p = clamp(p0 - 1, 0, qmax); p <= clamp(p0 + 1, 0, qmax); p++) {
        const err = affineError(x, o, sub, fr(d * q), fr(dmin * p), nmax);
        if (err < bestErr) { bestErr = err; bq = q; bp = p; }
      }
    }
    scales[j] = bq;
    mins[j] = bp;
    const s = fr(d * bq), m = fr(dmin * bp);
    for (let i = 0; i < sub; i++) levels[j * sub + i] = s > 0 ? clamp(Math.round((x[o + i]! + m) / s), 0, nmax) : 0;
  }
  return { d: dBits, dmin: mBits, scales, mins, levels };
}
