// Quantize a whole GGUF model (pure TS over a RangeSource, so it also runs in a browser worker).
// Weight matrices (2-D, `*.weight`, not norms) go to the target type; a matrix whose rows are not
// whole blocks of it falls back, as llama.cpp does, to Q8_0 (rows a multiple of 32) or else F16.
// Everything else (norm vectors, 1-D tensors) is copied unchanged.
import { readGgufHeader, readTensorBytes } from '../formats/gguf-reader.ts';
import { writeGguf, type GgufWriteTensor } from '../formats/gguf-writer.ts';
import { GgufValueType, type GgufKV, type GgufTensorInfo } from '../formats/gguf-types.ts';
import type { RangeSource } from '../formats/range-source.ts';
import { QuantError } from './errors.ts';
import { GgmlType, ggmlType } from './ggml-types.ts';
import { dequantize } from './dequantize.ts';
import { canQuantize, quantize, squaredError } from './quantize.ts';

/** llama.cpp's llama_ftype for a file whose matrices are mostly `type` (informational metadata). */
const FILE_TYPE: Readonly<Record<number, number>> = {
  [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7, [GgmlType.Q2_K]: 10,
  [GgmlType.Q3_K]: 11, [GgmlType.Q4_K]: 14, [GgmlType.Q6_K]: 18,
};

export interface QuantizeProgress {
  readonly tensor: string;
  readonly index: number;
  readonly total: number;
}

export interface QuantizeGgufOptions {
  /** Target ggml type id (Q2_K, Q3_K, Q4_K, Q6_K, Q8_0; F16/F32 also work). */
  readonly type: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: QuantizeProgress) => void;
}

export interface QuantizedTensorReport {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly elements: number;
  readonly bytes: number;
  /** RMS of dequant(quant(w)) - w; 0 for tensors copied unchanged. */
  readonly rmsError: number;
}

export interface QuantizeGgufSummary {
  readonly type: string;
  /** How many tensors of each output type. */
  readonly tensorsPerType: Record<string, number>;
  readonly inputBytes: number;
  readonly outputBytes: number;
  /** Over all tensor data: bits / elements. */
  readonly bitsPerWeight: number;
  /** RMS error over all elements of the re-encoded matrices. */
  readonly rmsError: number;
  readonly tensors: readonly QuantizedTensorReport[];
}

export interface QuantizeGgufResult {
  readonly bytes: Uint8Array;
  readonly summary: QuantizeGgufSummary;
}

export function isWeightMatrix(t: GgufTensorInfo): boolean {
  return t.shape.length === 2 && t.name.endsWith('.weight') && !t.name.includes('norm');
}

/** The type a matrix with rows of `rowLength` gets when the target is `target`. */
export function typeForRow(target: number, rowLength: number): number {
  if (rowLength % ggmlType(target).blockSize === 0) return target;
  if (rowLength % 32 === 0) return GgmlType.Q8_0;
  return GgmlType.F16;
}

/** The input metadata with general.file_type and general.quantization_version (= 2) set in place. */
export function quantizedMetadata(metadata: Iterable<GgufKV>, target: number): GgufKV[] {
  const fileType: GgufKV = { key: 'general.file_type', type: GgufValueType.U32, value: FILE_TYPE[target] ?? 0 };
  const version: GgufKV = { key: 'general.quantization_version', type: GgufValueType.U32, value: 2 };
  const out: GgufKV[] = [];
  for (const kv of metadata) {
    if (kv.key === 'general.quantization_version') continue;
    if (kv.key === 'general.file_type') out.push(fileType, version);
    else out.push(kv);
  }
  if (!out.includes(fileType)) out.push(fileType, version);
  return out;
}

export async function quantizeGguf(source: RangeSource, options: QuantizeGgufOptions): Promise<QuantizeGgufResult> {
  const target = options.type;
  const targetInfo = ggmlType(target);
  if (!canQuantize(target)) throw new QuantError(`cannot quantize to ${targetInfo.name}`);
  const header = await readGgufHeader(source, { signal: options.signal });
  const tensors: GgufWriteTensor[] = [];
  const reports: QuantizedTensorReport[] = [];
  let sumSq = 0, nQuant = 0;
  for (const [index, t] of header.tensors.entries()) {
    options.signal?.throwIfAborted();
    options.onProgress?.({ tensor: t.name, index, total: header.tensors.length });
    const raw = await readTensorBytes(source, t);
    if (!isWeightMatrix(t)) {
      tensors.push({ name: t.name, shape: t.shape, type: t.type, data: raw });
      reports.push({ name: t.name, from: t.typeName, to: t.typeName, elements: t.nElements, bytes: raw.length, rmsError: 0 });
      continue;
    }
    const type = typeForRow(target, t.shape[0]!);
    const w = dequantize(t.type, raw, t.nElements);
    const data = quantize(type, w);
    const err = squaredError(dequantize(type, data, w.length), w);
    sumSq += err;
    nQuant += w.length;
    tensors.push({ name: t.name, shape: t.shape, type, data });
    reports.push({
      name: t.name, from: t.typeName, to: ggmlType(type).name, elements: t.nElements, bytes: data.length,
      rmsError: Math.sqrt(err / Math.max(1, w.length)),
    });
  }
  const bytes = writeGguf({ metadata: quantizedMetadata(header.metadata.values(), target), tensors });
  return { bytes, summary: summarize(targetInfo.name, source.size, bytes.length, reports, sumSq, nQuant) };
}

function summarize(
  type: string, inputBytes: number, outputBytes: number, reports: QuantizedTensorReport[], sumSq: number, nQuant: number,
): QuantizeGgufSummary {
  const tensorsPerType: Record<string, number> = {};
  let bits = 0, elements = 0;
  for (const r of reports) {
    tensorsPerType[r.to] = (tensorsPerType[r.to] ?? 0) + 1;
    bits += r.bytes * 8;
    elements += r.elements;
  }
  return {
    type, tensorsPerType, inputBytes, outputBytes,
    bitsPerWeight: elements ? bits / elements : 0,
    rmsError: nQuant ? Math.sqrt(sumSq / nQuant) : 0,
    tensors: reports,
  };
}
