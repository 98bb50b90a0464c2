// GGUF data model shared by the reader, the writer and their callers. Layout facts (GGUF v2/v3,
// little-endian): "GGUF" magic, u32 version, u64 tensor count, u64 metadata count, the metadata
// key/values, the tensor infos, zero padding to `general.alignment`, then the tensor data.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: tensor names must be shorter than this many bytes. */
export const GGUF_MAX_TENSOR_NAME = 64;

/** Metadata value type ids as stored in the file. */
export const GgufValueType = {
  U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9,
  U64: 10, I64: 11, F64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

export const GGUF_VALUE_TYPE_NAMES: Readonly<Record<GgufValueType, string>> = {
  0: 'u8', 1: 'i8', 2: 'u16', 3: 'i16', 4: 'u32', 5: 'i32', 6: 'f32', 7: 'bool', 8: 'string',
  9: 'array', 10: 'u64', 11: 'i64', 12: 'f64',
};

export function isGgufValueType(t: number): t is GgufValueType {
  return Number.isInteger(t) && t >= 0 && t <= 12;
}

/** Fixed-size value types: their byte size. Strings and arrays are variable. */
export const GGUF_SCALAR_SIZE: Readonly<Partial<Record<GgufValueType, number>>> = {
  0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8,
};

/**
 * Array values keep the element type and hold numbers in a typed array of that type (so a 150k-token
 * vocabulary does not become 150k JS objects): u8 Uint8Array, i8 Int8Array, u16 Uint16Array, i16
 * Int16Array, u32 Uint32Array, i32 Int32Array, f32 Float32Array, u64 BigUint64Array, i64
 * BigInt64Array, f64 Float64Array, bool boolean[], string string[], array GgufArray[].
 */
export type GgufArrayValues =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array
  | BigUint64Array | BigInt64Array | Float64Array | boolean[] | string[] | GgufArray[];

export interface GgufArray {
  readonly itemType: GgufValueType;
  readonly values: GgufArrayValues;
}

/** Scalars: numbers for 8-32 bit ints and floats, bigint for u64/i64 (exact), boolean, string. */
export type GgufValue = number | bigint | boolean | string | GgufArray;

export interface GgufKV {
  readonly key: string;
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

export interface GgufTensorInfo {
  readonly name: string;
  /** ne[], innermost first: a [out,in] matrix has shape [in, out]. Length = n_dims (0..4). */
  readonly shape: readonly number[];
  /** ggml type id */
  readonly type: number;
  readonly typeName: string;
  readonly nElements: number;
  /** Offset relative to the start of the data section, as stored. */
  readonly offset: number;
  /** Absolute byte offset in the file. */
  readonly absoluteOffset: number;
  readonly byteSize: number;
}

export interface GgufFile {
  readonly version: number;
  /** In file order (Map keeps insertion order). */
  readonly metadata: ReadonlyMap<string, GgufKV>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Bytes up to the end of the tensor infos (before padding). */
  readonly headerSize: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  readonly fileSize: number;
}
