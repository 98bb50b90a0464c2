// Decoding of GGUF metadata values. Every count is checked against what the rest of the file could
// possibly hold before anything is allocated, so a hostile count fails fast instead of allocating.
import { GgufFormatError } from './errors.ts';
import type { GgufCursor } from './gguf-cursor.ts';
import {
  GGUF_SCALAR_SIZE, GGUF_VALUE_TYPE_NAMES, GgufValueType, isGgufValueType,
  type GgufArray, type GgufArrayValues, type GgufKV, type GgufValue,
} from './gguf-types.ts';

/** Arrays of arrays are allowed, but not deeper than this (a hostile file could nest millions). */
export const MAX_ARRAY_NESTING = 8;

/** The fewest bytes one value of type `t` occupies (strings: their u64 length; arrays: type + count). */
function minValueSize(t: GgufValueType): number {
  if (t === GgufValueType.STRING) return 8;
  if (t === GgufValueType.ARRAY) return 12;
  return GGUF_SCALAR_SIZE[t]!;
}

export function readValueType(c: GgufCursor, what: string): GgufValueType {
  const at = c.pos;
  const t = c.u32(what);
  if (!isGgufValueType(t)) throw new GgufFormatError(`unknown metadata value type ${t} for ${what}`, at);
  return t;
}

function readScalar(c: GgufCursor, t: GgufValueType, what: string): number | bigint | boolean {
  const size = GGUF_SCALAR_SIZE[t]!;
  const at = c.pos;
  c.need(size, what);
  const v = c.dataView();
  c.pos += size;
  switch (t) {
    case GgufValueType.U8: return v.getUint8(at);
    case GgufValueType.I8: return v.getInt8(at);
    case GgufValueType.U16: return v.getUint16(at, true);
    case GgufValueType.I16: return v.getInt16(at, true);
    case GgufValueType.U32: return v.getUint32(at, true);
    case GgufValueType.I32: return v.getInt32(at, true);
    case GgufValueType.F32: return v.getFloat32(at, true);
    case GgufValueType.U64: return v.getBigUint64(at, true);
    case GgufValueType.I64: return v.getBigInt64(at, true);
    case GgufValueType.F64: return v.getFloat64(at, true);
    case GgufValueType.BOOL: {
      const b = v.getUint8(at);
      if (b > 1) throw new GgufFormatError(`bool ${what} has value ${b} (expected 0 or 1)`, at);
      return b === 1;
    }
    default: throw new GgufFormatError(`value type ${t} is not a scalar (${what})`, at);
  }
}

/** Numeric arrays land in a typed array of their own type; bytes are read through DataView (any alignment). */
function readNumericArray(c: GgufCursor, t: GgufValueType, n: number, what: string): GgufArrayValues {
  const size = GGUF_SCALAR_SIZE[t]!;
  c.need(n * size, what);
  const v = c.dataView();
  const p = c.pos;
  c.pos += n * size;
  const fill = <A extends { [i: number]: number | bigint }>(out: A, get: (o: number) => number | bigint): A => {
    for (let i = 0; i < n; i++) out[i] = get(p + i * size);
    return out;
  };
  switch (t) {
    case GgufValueType.U8: return c.bytes.slice(p, p + n);
    case GgufValueType.I8: return new Int8Array(c.bytes.slice(p, p + n).buffer);
    case GgufValueType.U16: return fill(new Uint16Array(n), (o) => v.getUint16(o, true));
    case GgufValueType.I16: return fill(new Int16Array(n), (o) => v.getInt16(o, true));
    case GgufValueType.U32: return fill(new Uint32Array(n), (o) => v.getUint32(o, true));
    case GgufValueType.I32: return fill(new Int32Array(n), (o) => v.getInt32(o, true));
    case GgufValueType.F32: return fill(new Float32Array(n), (o) => v.getFloat32(o, true));
    case GgufValueType.F64: return fill(new Float64Array(n), (o) => v.getFloat64(o, true));
    case GgufValueType.U64: return fill(new BigUint64Array(n), (o) => v.getBigUint64(o, true));
    case GgufValueType.I64: return fill(new BigInt64Array(n), (o) => v.getBigInt64(o, true));
    default: throw new GgufFormatError(`value type ${t} is not numeric (${what})`, p);
  }
}

function readArray(c: GgufCursor, what: string, depth: number): GgufArray {
  const at = c.pos;
  if (depth >= MAX_ARRAY_NESTING) throw new GgufFormatError(`${what}: arrays nested deeper than ${MAX_ARRAY_NESTING}`, at);
  const itemType = readValueType(c, `${what} element type`);
  const countAt = c.pos;
  const n = c.size64(`${what} element count`);
  const min = minValueSize(itemType);
  if (n > Math.floor(c.remaining() / min)) {
    throw new GgufFormatError(
      `${what}: ${n} elements of type ${GGUF_VALUE_TYPE_NAMES[itemType]} cannot fit in the ${c.remaining()} bytes left`, countAt);
  }
  if (itemType === GgufValueType.STRING) {
    const out: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = c.string(`${what}[${i}]`);
    return { itemType, values: out };
  }
  if (itemType === GgufValueType.BOOL) {
    const out: boolean[] = new Array<boolean>(n);
    for (let i = 0; i < n; i++) out[i] = readScalar(c, itemType, `${what}[${i}]`) as boolean;
    return { itemType, values: out };
  }
  if (itemType === GgufValueType.ARRAY) {
    const out: GgufArray[] = new Array<GgufArray>(n);
    for (let i = 0; i < n; i++) out[i] = readArray(c, `${what}[${i}]`, depth + 1);
    return { itemType, values: out };
  }
  return { itemType, values: readNumericArray(c, itemType, n, what) };
}

export function readValue(c: GgufCursor, t: GgufValueType, what: string): GgufValue {
  if (t === GgufValueType.STRING) return c.string(what);
  if (t === GgufValueType.ARRAY) return readArray(c, what, 0);
  return readScalar(c, t, what);
}

/**
 * Reads `count` key/value pairs; duplicate keys are an error (ggml refuses them too).
 * `valueAt` receives each value's byte offset, for later error messages about a value.
 */
export function readMetadata(c: GgufCursor, count: number, valueAt?: Map<string, number>): Map<string, GgufKV> {
  const out = new Map<string, GgufKV>();
  for (let i = 0; i < count; i++) {
    const at = c.pos;
    const key = c.string(`metadata key #${i}`);
    if (out.has(key)) throw new GgufFormatError(`duplicate metadata key '${key}'`, at);
    const type = readValueType(c, `metadata '${key}'`);
    valueAt?.set(key, c.pos);
    const value = readValue(c, type, `metadata '${key}'`);
    out.set(key, { key, type, value });
  }
  return out;
}
