// One entry point for CPU dequantization of any supported ggml type.
import { QuantError, UnknownGgmlTypeError } from './errors.ts';
import { ggmlType, GgmlType } from './ggml-types.ts';
import {
  dequantBF16, dequantF16, dequantF32, dequantQ4_0, dequantQ4_1, dequantQ5_0, dequantQ5_1, dequantQ8_0,
} from './dequant-simple.ts';
import { dequantQ2_K, dequantQ3_K, dequantQ4_K, dequantQ5_K, dequantQ6_K, dequantQ8_K } from './dequant-k.ts';

type Kernel = (src: Uint8Array, dst: Float32Array, count: number) => void;

/** Per type: the kernel and whether it takes an element count (plain types) or a block count. */
const kernels = new Map<number, [Kernel, 'elements' | 'blocks']>([
  [GgmlType.F32, [dequantF32, 'elements']],
  [GgmlType.F16, [dequantF16, 'elements']],
  [GgmlType.BF16, [dequantBF16, 'elements']],
  [GgmlType.Q4_0, [dequantQ4_0, 'blocks']],
  [GgmlType.Q4_1, [dequantQ4_1, 'blocks']],
  [GgmlType.Q5_0, [dequantQ5_0, 'blocks']],
  [GgmlType.Q5_1, [dequantQ5_1, 'blocks']],
  [GgmlType.Q8_0, [dequantQ8_0, 'blocks']],
  [GgmlType.Q2_K, [dequantQ2_K, 'blocks']],
  [GgmlType.Q3_K, [dequantQ3_K, 'blocks']],
  [GgmlType.Q4_K, [dequantQ4_K, 'blocks']],
  [GgmlType.Q5_K, [dequantQ5_K, 'blocks']],
  [GgmlType.Q6_K, [dequantQ6_K, 'blocks']],
  [GgmlType.Q8_K, [dequantQ8_K, 'blocks']],
]);

export function canDequantize(type: number): boolean {
  return kernels.has(type);
}

/**
 * Dequantizes `n` elements of ggml type `type` from `bytes` (which must hold at least
 * n / blockSize whole blocks) into `out` (or a new Float32Array), bit-exact with ggml's to_float.
 */
export function dequantize(type: number, bytes: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const info = ggmlType(type);
  const entry = kernels.get(type);
  if (!entry) throw new UnknownGgmlTypeError(type, `no CPU dequantizer for ggml type ${info.name}, id`);
  if (!Number.isInteger(n) || n < 0 || n % info.blockSize !== 0) {
    throw new QuantError(`${info.name}: ${n} elements is not a whole number of ${info.blockSize}-element blocks`);
  }
  const nBlocks = n / info.blockSize;
  const need = nBlocks * info.bytesPerBlock;
  if (bytes.length < need) throw new QuantError(`${info.name}: ${n} elements need ${need} bytes, got ${bytes.length}`);
  const dst = out ?? new Float32Array(n);
  if (dst.length < n) throw new QuantError(`${info.name}: output holds ${dst.length} < ${n} elements`);
  const [kernel, unit] = entry;
  kernel(bytes, dst, unit === 'elements' ? n : nBlocks);
  return dst;
}
