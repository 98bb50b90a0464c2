// Fitting one sub-block (16 or 32 weights) with integer levels, minimising the plain squared error.
// The idea (published with the K-quants, and classic Lloyd-style quantisation): try a spread of
// starting scales, and for each alternate between (a) rounding every weight to its nearest level
// and (b) solving least squares for the scale (and offset) given those levels; keep the best.

/** Symmetric fit x ≈ s * l, l integer in [lo, hi] (lo < 0 < hi). s may be negative. */
export interface SymFit { scale: number; err: number }
/** Affine fit x ≈ s * l - m, l in [0, nmax], s >= 0, m >= 0 (ggml stores both unsigned). */
export interface AffineFit { scale: number; min: number; err: number }

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Squared error of x[off..off+n) against s*round(x/s) with levels clamped to [lo, hi]. */
export function symError(x: Float32Array, off: number, n: number, s: number, lo: number, hi: number): number {
  let e = 0;
  if (s === 0) {
    for (let i = off; i < off + n; i++) e += x[i]! * x[i]!;
    return e;
  }
  const inv = 1 / s;
  for (let i = off; i < off + n; i++) {
    const l = clamp(Math.round(x[i]! * inv), lo, hi);
    const r = x[i]! - s * l;
    e += r * r;
  }
  return e;
}

/** Round to levels at scale s, then the least-squares scale for those levels (s unchanged if all 0). */
function symRefine(x: Float32Array, off: number, n: number, s: number, lo: number, hi: number): number {
  const inv = 1 / s;
  let sxl = 0, sll = 0;
  for (let i = off; i < off + n; i++) {
    const l = clamp(Math.round(x[i]! * inv), lo, hi);
    sxl += x[i]! * l;
    sll += l * l;
  }
  return sll > 0 ? sxl / sll : s;
}

export function fitSymmetric(x: Float32Array, off: number, n: number, lo: number, hi: number): SymFit {
  let xm = 0;
  for (let i = off; i < off + n; i++) if (Math.abs(x[i]!) > Math.abs(xm)) xm = x[i]!;
  if (xm === 0) return { scale: 0, err: 0 };
  let best: SymFit = { scale: 0, err: symError(x, off, n, 0, lo, hi) };
  // Map the largest weight to a (fractional) level near either end of the range.
  const steps = 12;
  for (const end of [lo, hi]) {
    for (let k = 0; k <= steps; k++) {
      const t = end * (1 - (0.35 * k) / steps) + Math.sign(end) * 0.25;
      let s = xm / t;
      for (let it = 0; it < 2; it++) s = symRefine(x, off, n, s, lo, hi);
      const err = symError(x, off, n, s, lo, hi);
      if (err < best.err) best = { scale: s, err };
    }
  }
  return best;
}

/** Squared error of x against s*l - m with l = clamp(round((x+m)/s), 0, nmax). */
export function affineError(x: Float32Array, off: number, n: number, s: number, m: number, nmax: number): number {
  let e = 0;
  const inv = s > 0 ? 1 / s : 0;
  for (let i = off; i < off + n; i++) {
    const l = s > 0 ? clamp(Math.round((x[i]! + m) * inv), 0, nmax) : 0;
    const r = x[i]! - (s * l - m);
    e += r * r;
  }
  return e;
}

/** Given levels from (s, m), the least-squares (s, m) with m >= 0 (i.e. the offset -m <= 0). */
function affineRefine(x: Float32Array, off: number, n: number, s: number, m: number, nmax: number): [number, number] {
  const inv = 1 / s;
  let sl = 0, sll = 0, sx = 0, sxl = 0;
  for (let i = off; i < off + n; i++) {
    const l = clamp(Math.round((x[i]! + m) * inv), 0, nmax);
    sl += l; sll += l * l; sx += x[i]!; sxl += x[i]! * l;
  }
  const det = n * sll - sl * sl;
  if (det <= 0) return [s, m];
  let ns = (n * sxl - sl * sx) / det;
  let b = (sx - ns * sl) / n; // offset
  if (b > 0) { b = 0; ns = sxl / sll; }
  if (!(ns > 0)) return [s, m];
  return [ns, -b];
}

export function fitAffine(x: Float32Array, off: number, n: number, nmax: number): AffineFit {
  let mn = Infinity, mx = -Infinity;
  for (let i = off; i < off + n; i++) {
    if (x[i]! < mn) mn = x[i]!;
    if (x[i]! > mx) mx = x[i]!;
  }
  if (mn > 0) mn = 0; // the offset can only pull down
  if (mx <= mn) return { scale: 0, min: -mn, err: affineError(x, off, n, 0, -mn, nmax) };
  let best: AffineFit = { scale: 0, min: -mn, err: affineError(x, off, n, 0, -mn, nmax) };
  const steps = 16;
  for (let k = 0; k <= steps; k++) {
    // The range spread over nmax +- a fraction of a level: narrower clips, wider re-rounds.
    let s = (mx - mn) / (nmax - 0.6 + (1.4 * k) / steps);
    let m = -mn;
    for (let it = 0; it < 3; it++) [s, m] = affineRefine(x, off, n, s, m, nmax);
    const err = affineError(x, off, n, s, m, nmax);
    if (err < best.err) best = { scale: s, min: m, err };
  }
  return best;
}
