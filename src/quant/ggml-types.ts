// The ggml tensor types: id (as stored in GGUF tensor infos), name, elements per block and bytes per
// block. Facts from ggml's type traits; ids 4, 5, 31-33 and 36-38 were removed from ggml and stay unused.
import { UnknownGgmlTypeError } from './errors.ts';

export interface GgmlTypeInfo {
  readonly id: number;
  /** ggml's own spelling (`q4_K`, `f32`); `GGML_TYPE_<upper>` is the C enum. */
  readonly name: string;
  readonly blockSize: number;
  readonly bytesPerBlock: number;
  /** bytesPerBlock * 8 / blockSize */
  readonly bitsPerWeight: number;
}

/** Ids for the types the rest of the code names directly. */
export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15, BF16: 30,
} as const;

const table: ReadonlyArray<readonly [number, string, number, number]> = [
  [0, 'f32', 1, 4], [1, 'f16', 1, 2], [2, 'q4_0', 32, 18], [3, 'q4_1', 32, 20],
  [6, 'q5_0', 32, 22], [7, 'q5_1', 32, 24], [8, 'q8_0', 32, 34], [9, 'q8_1', 32, 36],
  [10, 'q2_K', 256, 84], [11, 'q3_K', 256, 110], [12, 'q4_K', 256, 144], [13, 'q5_K', 256, 176],
  [14, 'q6_K', 256, 210], [15, 'q8_K', 256, 292], [16, 'iq2_xxs', 256, 66], [17, 'iq2_xs', 256, 74],
  [18, 'iq3_xxs', 256, 98], [19, 'iq1_s', 256, 50], [20, 'iq4_nl', 32, 18], [21, 'iq3_s', 256, 110],
  [22, 'iq2_s', 256, 82], [23, 'iq4_xs', 256, 136], [24, 'i8', 1, 1], [25, 'i16', 1, 2],
  [26, 'i32', 1, 4], [27, 'i64', 1, 8], [28, 'f64', 1, 8], [29, 'iq1_m', 256, 56],
  [30, 'bf16', 1, 2], [34, 'tq1_0', 256, 54], [35, 'tq2_0', 256, 66], [39, 'mxfp4', 32, 17],
];

const byId = new Map<number, GgmlTypeInfo>();
const byName = new Map<string, GgmlTypeInfo>();
for (const [id, name, blockSize, bytesPerBlock] of table) {
  const info: GgmlTypeInfo = { id, name, blockSize, bytesPerBlock, bitsPerWeight: (bytesPerBlock * 8) / blockSize };
  byId.set(id, info);
  byName.set(name.toLowerCase(), info);
}

/** The type info for `id`, or undefined (the GGUF reader turns that into its own error). */
export function findGgmlType(id: number): GgmlTypeInfo | undefined {
  return byId.get(id);
}

/** The type info for `id`; throws UnknownGgmlTypeError naming the id. */
export function ggmlType(id: number): GgmlTypeInfo {
  const info = byId.get(id);
  if (!info) throw new UnknownGgmlTypeError(id);
  return info;
}

/** Look up by name, case-insensitive (`q4_k`, `Q4_K`, `f32`). */
export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return byName.get(name.toLowerCase());
}

export function allGgmlTypes(): GgmlTypeInfo[] {
  return [...byId.values()];
}

/**
 * Bytes of a tensor of `nElements` elements whose rows are `rowLength` long, or undefined when a
 * row is not a whole number of blocks. Plain numbers: callers keep counts <= 2^53.
 */
export function tensorBytes(info: GgmlTypeInfo, rowLength: number, nElements: number): number | undefined {
  if (rowLength % info.blockSize !== 0) return undefined;
  return (nElements / info.blockSize) * info.bytesPerBlock;
}
