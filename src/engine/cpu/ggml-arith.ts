// llama.cpp's CPU arithmetic where it rounds differently from our graph, for measuring only: the
// family oracle's replay (e2e/ggml-rounding.ts, scripts/oracle-fit.ts) runs the graph with these
// to show how close to llama.cpp our results come once its roundings are made too. No backend uses
// them to answer a user: our own attention and GELU are more precise. Written by hand because the
// point is to reproduce ggml's order of f32 operations (ggml-cpu ops.cpp / vec.h), which no
// library offers. Measured on wllama 3.8.1 (LLAMACPP.md).
import { roundToF16 } from '../../quant/f16.ts';
import type { RopeTable } from './math.ts';

const f = Math.fround;

/**
 * ggml's RoPE angles: theta starts at the position (f32) and is multiplied by
 * base^(-2/n_dims) (f32) once per pair, each pair's angle divided by its frequency factor, then
 * scaled; cos and sin in f32, times attn_factor.
 */
export function ropeTableGgml(pos: number, nTok: number, ropeDim: number, base: number, scale: number, freqFactors?: Float32Array, mscale = 1): RopeTable {
  const half = ropeDim / 2;
  const cos = new Float64Array(nTok * half);
  const sin = new Float64Array(nTok * half);
  const step = f(Math.pow(f(base), f(-2 / ropeDim)));
  for (let t = 0; t < nTok; t++) {
    let theta = f(pos + t);
    for (let j = 0; j < half; j++) {
      const x = f(f(scale) * f(theta / (freqFactors ? freqFactors[j]! : 1)));
      cos[t * half + j] = f(f(Math.cos(x)) * f(mscale));
      sin[t * half + j] = f(f(Math.sin(x)) * f(mscale));
      theta = f(theta * step);
    }
  }
  return { cos, sin, half };
}

/**
 * ggml's GELU goes through a table over f16 inputs (GGML_GELU_FP16): x rounded to f16, the tanh
 * form evaluated in f32, the result rounded to f16; x <= -10 gives 0 and x >= 10 gives x.
 */
export function gegluGgml(gate: Float32Array, up: Float32Array, n: number): void {
  const c = f(Math.sqrt(2 / Math.PI));
  for (let i = 0; i < n; i++) {
    const x = gate[i]!;
    let y: number;
    if (x <= -10) y = 0;
    else if (x >= 10) y = x;
    else {
      const h = roundToF16(x);
      y = roundToF16(f(f(0.5 * h) * f(1 + f(Math.tanh(f(f(c * h) * f(1 + f(f(0.044715 * h) * h))))))));
    }
    gate[i] = f(y * up[i]!);
  }
}

/** Families whose llama.cpp graph scales q before attention (kq_scale 1) rather than the scores. */
export function ggmlPreScalesQ(c: { arch: string }): boolean {
  return c.arch === 'gemma2' || c.arch === 'gemma3' || c.arch === 'phi3';
}
