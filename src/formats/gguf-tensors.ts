// Tensor infos: names, shapes, ggml types and offsets, then their placement in the data section.
// Sizes are checked for overflow (2^53), offsets for alignment, range and overlap, before any
// caller can use them to slice a buffer.
import { findGgmlType } from '../quant/ggml-types.ts';
import { GgufFormatError } from './errors.ts';
import type { GgufCursor } from './gguf-cursor.ts';
import { GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME, type GgufTensorInfo } from './gguf-types.ts';

/** What the tensor-info section says, before the data offset is known. */
export interface RawTensorInfo {
  name: string;
  shape: number[];
  type: number;
  typeName: string;
  nElements: number;
  byteSize: number;
  offset: number;
  /** Where the offset field sits in the file (for error messages). */
  offsetFieldAt: number;
}

function readShape(c: GgufCursor, name: string): { shape: number[]; nElements: number } {
  const at = c.pos;
  const nDims = c.u32(`tensor '${name}' n_dims`);
  if (nDims > GGUF_MAX_DIMS) throw new GgufFormatError(`tensor '${name}' has n_dims ${nDims} > ${GGUF_MAX_DIMS}`, at);
  const shape: number[] = [];
  let nElements = 1;
  for (let d = 0; d < nDims; d++) {
    const dimAt = c.pos;
    const ne = c.size64(`tensor '${name}' ne[${d}]`);
    if (ne !== 0 && nElements > Number.MAX_SAFE_INTEGER / ne) {
      throw new GgufFormatError(`tensor '${name}' element count overflows 2^53 at ne[${d}]=${ne}`, dimAt);
    }
    nElements *= ne;
    shape.push(ne);
  }
  return { shape, nElements };
}

function readTensorInfo(c: GgufCursor, index: number, seen: Set<string>): RawTensorInfo {
  const at = c.pos;
  const name = c.string(`tensor #${index} name`);
  const nameBytes = c.pos - at - 8;
  if (nameBytes >= GGUF_MAX_TENSOR_NAME) {
    throw new GgufFormatError(`tensor #${index} name is ${nameBytes} bytes (max ${GGUF_MAX_TENSOR_NAME - 1})`, at);
  }
  if (seen.has(name)) throw new GgufFormatError(`duplicate tensor name '${name}'`, at);
  seen.add(name);
  const { shape, nElements } = readShape(c, name);
  const typeAt = c.pos;
  const type = c.u32(`tensor '${name}' type`);
  const info = findGgmlType(type);
  if (!info) throw new GgufFormatError(`tensor '${name}' has unknown ggml type id ${type}`, typeAt);
  const row = shape[0] ?? 1;
  if (row % info.blockSize !== 0) {
    throw new GgufFormatError(`tensor '${name}' row length ${row} is not a multiple of ${info.name} block size ${info.blockSize}`, typeAt);
  }
  const byteSize = (nElements / info.blockSize) * info.bytesPerBlock;
  const offsetFieldAt = c.pos;
  const offset = c.size64(`tensor '${name}' offset`);
  return { name, shape, type, typeName: info.name, nElements, byteSize, offset, offsetFieldAt };
}

export function readTensorInfos(c: GgufCursor, count: number): RawTensorInfo[] {
  const seen = new Set<string>();
  const out: RawTensorInfo[] = [];
  for (let i = 0; i < count; i++) out.push(readTensorInfo(c, i, seen));
  return out;
}

/** Checks alignment, bounds and overlap; returns the infos with absolute offsets, in file order. */
export function placeTensors(raw: RawTensorInfo[], dataOffset: number, alignment: number, fileSize: number): GgufTensorInfo[] {
  const placed = raw.map((t): GgufTensorInfo & { at: number } => {
    if (t.offset % alignment !== 0) {
      throw new GgufFormatError(`tensor '${t.name}' offset ${t.offset} is not a multiple of the alignment ${alignment}`, t.offsetFieldAt);
    }
    const absoluteOffset = dataOffset + t.offset;
    if (absoluteOffset + t.byteSize > fileSize) {
      throw new GgufFormatError(
        `tensor '${t.name}' data [${absoluteOffset}, ${absoluteOffset + t.byteSize}) lies beyond the end of the file (${fileSize})`,
        t.offsetFieldAt);
    }
    return {
      name: t.name, shape: t.shape, type: t.type, typeName: t.typeName, nElements: t.nElements,
      offset: t.offset, absoluteOffset, byteSize: t.byteSize, at: t.offsetFieldAt,
    };
  });
  // Sorted by offset, each non-empty tensor must start at or after the furthest end seen so far.
  const sorted = [...placed].sort((a, b) => a.offset - b.offset);
  let end = 0;
  let endName = '';
  for (const cur of sorted) {
    if (cur.byteSize === 0) continue;
    if (cur.offset < end) throw new GgufFormatError(`tensor '${cur.name}' overlaps tensor '${endName}'`, cur.at);
    end = cur.offset + cur.byteSize;
    endName = cur.name;
  }
  return placed.map(({ at: _at, ...t }) => t);
}
