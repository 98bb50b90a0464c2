// One entry point for CPU reference quantization, plus error accounting.
import { QuantError, UnknownGgmlTypeError } from './errors.ts';
import { GgmlType, ggmlType } from './ggml-types.ts';
import { quantizeQ8_0 } from './quantize-q8.ts';
import { quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ6_K } from './quantize-k.ts';
import { f32ToF16 } from './f16.ts';

type Encoder = (x: Float32Array, out: Uint8Array, count: number) => void;

function encodeF32(x: Float32Array, out: Uint8Array, n: number): void {
  const v = new DataView(out.buffer, out.byteOffset, n * 4);
  for (let i = 0; i < n; i++) v.setFloat32(i * 4, x[i]!, true);
}

function encodeF16(x: Float32Array, out: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = f32ToF16(x[i]!);
    out[2 * i] = h & 255;
    out[2 * i + 1] = h >> 8;
  }
}

const encoders = new Map<number, [Encoder, 'elements' | 'blocks']>([
  [GgmlType.F32, [encodeF32, 'elements']],
  [GgmlType.F16, [encodeF16, 'elements']],
  [GgmlType.Q8_0, [quantizeQ8_0, 'blocks']],
  [GgmlType.Q2_K, [quantizeQ2_K, 'blocks']],
  [GgmlType.Q3_K, [quantizeQ3_K, 'blocks']],
  [GgmlType.Q4_K, [quantizeQ4_K, 'blocks']],
  [GgmlType.Q6_K, [quantizeQ6_K, 'blocks']],
]);

export function canQuantize(type: number): boolean {
  return encoders.has(type);
}

/** Quantizes `x` (length a multiple of the type's block size) into ggml blocks. */
export function quantize(type: number, x: Float32Array): Uint8Array {
  const info = ggmlType(type);
  const entry = encoders.get(type);
  if (!entry) throw new UnknownGgmlTypeError(type, `no CPU quantizer for ggml type ${info.name}, id`);
  if (x.length % info.blockSize !== 0) {
    throw new QuantError(`${info.name}: ${x.length} elements is not a whole number of ${info.blockSize}-element blocks`);
  }
  const nBlocks = x.length / info.blockSize;
  const out = new Uint8Array(nBlocks * info.bytesPerBlock);
  const [enc, unit] = entry;
  enc(x, out, unit === 'elements' ? x.length : nBlocks);
  return out;
}

/** Sum of squared differences (float64), for RMS accounting over many tensors. */
export function squaredError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

export function rmsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a.length === 0 ? 0 : Math.sqrt(squaredError(a, b) / a.length);
}
