// Q8_0 quantization (34 bytes / 32 weights: d f16 @0, qs int8[32] @2). Deterministic and exactly
// ggml's: d = amax/127 in f32, q = round-half-away(x * (1/d)), d stored as f16.
import { f32ToF16 } from './f16.ts';

const fr = Math.fround;

export function quantizeQ8_0(x: Float32Array, out: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const o = b * 34;
    const h = f32ToF16(d);
    out[o] = h & 255;
    out[o + 1] = h >> 8;
    for (let j = 0; j < 32; j++) {
      const v = fr(x[b * 32 + j]! * id);
      out[o + 2 + j] = (Math.sign(v) * Math.round(Math.abs(v))) & 255; // C roundf: ties away from zero
    }
  }
}
