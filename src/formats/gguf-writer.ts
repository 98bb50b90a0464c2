// GGUF v3 writer: header, metadata, tensor infos, zero padding to the alignment, then each tensor's
// data padded to the alignment (as ggml's gguf writer lays files out). `encodeGgufHeader` gives the
// header alone plus the data layout, so big models can be streamed tensor by tensor.
import { ggmlType } from '../quant/ggml-types.ts';
import { GgufWriteError } from './errors.ts';
import {
  GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME, GgufValueType,
  type GgufKV, type GgufValue,
} from './gguf-types.ts';
import { ByteSink } from './byte-sink.ts';

export interface GgufWriteTensor {
  readonly name: string;
  /** ne[], innermost first */
  readonly shape: readonly number[];
  /** ggml type id */
  readonly type: number;
  /** Exactly the tensor's bytes (checked against shape and type). */
  readonly data: Uint8Array;
}

export interface GgufWriteInput {
  /** Written in this order; `general.alignment` (u32) sets the alignment, default 32. */
  readonly metadata: Iterable<GgufKV>;
  readonly tensors: readonly GgufWriteTensor[];
  /** 2 or 3 (default 3); both have the same layout. */
  readonly version?: 2 | 3;
}

export interface GgufLayout {
  /** Header and padding: exactly `dataOffset` bytes. */
  readonly header: Uint8Array;
  readonly alignment: number;
  readonly dataOffset: number;
  /** Per tensor, its offset relative to the data section. */
  readonly offsets: readonly number[];
  readonly totalSize: number;
}

const utf8 = new TextEncoder();

function writeString(s: ByteSink, str: string): void {
  const b = utf8.encode(str);
  s.u64(b.length);
  s.bytes(b);
}

function writeArray(s: ByteSink, v: GgufValue, key: string): void {
  if (typeof v !== 'object') throw new GgufWriteError(`metadata '${key}': array type needs a GgufArray value`);
  s.u32(v.itemType);
  s.u64(v.values.length);
  for (const item of v.values) writeValue(s, v.itemType, item, key);
}

function writeValue(s: ByteSink, type: GgufValueType, v: GgufValue, key: string): void {
  const bad = (): never => {
    throw new GgufWriteError(`metadata '${key}': value ${String(v)} does not match type ${type}`);
  };
  switch (type) {
    case GgufValueType.STRING: return typeof v === 'string' ? writeString(s, v) : bad();
    case GgufValueType.ARRAY: return writeArray(s, v, key);
    case GgufValueType.BOOL: return typeof v === 'boolean' ? s.u8(v ? 1 : 0) : bad();
    case GgufValueType.U64: case GgufValueType.I64:
      return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)) ? s.big64(type, BigInt(v)) : bad();
    default:
      return typeof v === 'number' ? s.num(type, v) : bad();
  }
}

function checkTensor(t: GgufWriteTensor): number {
  const info = ggmlType(t.type);
  const utf8Name = utf8.encode(t.name);
  if (utf8Name.length >= GGUF_MAX_TENSOR_NAME) throw new GgufWriteError(`tensor name '${t.name}' is too long`);
  if (t.shape.length > GGUF_MAX_DIMS) throw new GgufWriteError(`tensor '${t.name}' has more than ${GGUF_MAX_DIMS} dims`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if ((t.shape[0] ?? 1) % info.blockSize !== 0) {
    throw new GgufWriteError(`tensor '${t.name}' row length ${t.shape[0]} is not a multiple of ${info.name}'s ${info.blockSize}`);
  }
  const size = (n / info.blockSize) * info.bytesPerBlock;
  if (t.data.length !== size) throw new GgufWriteError(`tensor '${t.name}' has ${t.data.length} bytes, ${info.name} ${t.shape} needs ${size}`);
  return size;
}

function alignmentOf(metadata: GgufKV[]): number {
  const kv = metadata.find((m) => m.key === 'general.alignment');
  if (!kv) return GGUF_DEFAULT_ALIGNMENT;
  const a = kv.value;
  if (kv.type !== GgufValueType.U32 || typeof a !== 'number' || a <= 0 || (a & (a - 1)) !== 0) {
    throw new GgufWriteError('general.alignment must be a u32 power of two');
  }
  return a;
}

const pad = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Encodes the header (with its padding) and computes where each tensor's data goes. */
export function encodeGgufHeader(input: GgufWriteInput): GgufLayout {
  const metadata = [...input.metadata];
  const alignment = alignmentOf(metadata);
  const s = new ByteSink();
  s.u32(GGUF_MAGIC);
  s.u32(input.version ?? 3);
  s.u64(input.tensors.length);
  s.u64(metadata.length);
  const keys = new Set<string>();
  for (const kv of metadata) {
    if (keys.has(kv.key)) throw new GgufWriteError(`duplicate metadata key '${kv.key}'`);
    keys.add(kv.key);
    writeString(s, kv.key);
    s.u32(kv.type);
    writeValue(s, kv.type, kv.value, kv.key);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of input.tensors) {
    const size = checkTensor(t);
    writeString(s, t.name);
    s.u32(t.shape.length);
    for (const ne of t.shape) s.u64(ne);
    s.u32(t.type);
    s.u64(offset);
    offsets.push(offset);
    offset = pad(offset + size, alignment);
  }
  const dataOffset = pad(s.length, alignment);
  s.zeros(dataOffset - s.length);
  return { header: s.finish(), alignment, dataOffset, offsets, totalSize: dataOffset + offset };
}

/** The whole GGUF file in one buffer. */
export function writeGguf(input: GgufWriteInput): Uint8Array {
  const layout = encodeGgufHeader(input);
  const out = new Uint8Array(layout.totalSize);
  out.set(layout.header, 0);
  input.tensors.forEach((t, i) => out.set(t.data, layout.dataOffset + layout.offsets[i]!));
  return out;
}
