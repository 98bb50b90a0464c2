// The frequency-factor tensors of llama3 and phi3 files, computed the way their converters do.

/**
 * convert_hf_to_gguf.py (LlamaModel, rope_type "llama3"): per frequency i < dim/2, factor 1 for
 * short wavelengths, `factor` for long ones, a smooth mix in between. llama.cpp divides theta by it.
 */
export function llama3RopeFreqs(dim: number, base: number, p: { factor: number; low: number; high: number; origCtx: number }): Float32Array {
  const lowWavelen = p.origCtx / p.low;
  const highWavelen = p.origCtx / p.high;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = 1 / base ** ((2 * i) / dim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = p.factor;
    else {
      const smooth = (p.origCtx / wavelen - p.low) / (p.high - p.low);
      out[i] = 1 / ((1 - smooth) / p.factor + smooth);
    }
  }
  return out;
}

/**
 * LongRoPE factor pairs shaped like Phi-3.5's (config.json long_factor / short_factor: rising with
 * the dimension, short ones near 1, long ones up to tens). `next` is a seeded uniform source.
 */
export function longRopeFactors(ropeDim: number, next: () => number): { long: Float32Array; short: Float32Array } {
  const n = ropeDim / 2;
  const long = new Float32Array(n);
  const short = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / Math.max(1, n - 1);
    short[i] = 1 + 0.5 * t * t + 0.05 * next();
    long[i] = 1 + 30 * t * t * t + 0.5 * next();
  }
  return { long, short };
}

/** Phi3's converter: rope.scaling.attn_factor = sqrt(1 + ln(ctx/orig) / ln(orig)) when ctx > orig. */
export function longRopeAttnFactor(nCtxTrain: number, origCtx: number): number {
  const scale = nCtxTrain / origCtx;
  return scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(origCtx)) : 1;
}
