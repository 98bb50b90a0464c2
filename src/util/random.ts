// Seeded PRNG for tests and benchmarks: fresh seeds each run, printed, so any failure can be replayed.

/** mulberry32: tiny, fast, good enough for test data (not for anything secret). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from the environment (TABSHARD_SEED) or a fresh random one. */
export function freshSeed(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TABSHARD_SEED;
  if (env && /^\d+$/.test(env)) return Number(env) >>> 0;
  return (Math.random() * 2 ** 32) >>> 0;
}

/** Standard normal samples (Box-Muller) scaled by `scale`. */
export function normals(n: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(next(), 1e-12);
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export function randomBytes(n: number, next: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
  return out;
}
