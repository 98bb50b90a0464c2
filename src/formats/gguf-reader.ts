// GGUF reader (v2 and v3, little-endian). `parseGguf(bytes)` parses a whole file in memory;
// `readGgufHeader(source)` parses from a RangeSource, fetching the header in growing chunks
// (64 KiB first) so that only the header is read before the caller picks which tensors to load.
import { GgufFormatError } from './errors.ts';
import { GgufCursor, NeedMoreBytes } from './gguf-cursor.ts';
import { readMetadata } from './gguf-metadata.ts';
import { placeTensors, readTensorInfos } from './gguf-tensors.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgufFile, type GgufKV, type GgufTensorInfo } from './gguf-types.ts';
import type { RangeSource } from './range-source.ts';

/** The smallest tensor info (empty name, 0 dims) and key/value (empty key, one u8) in bytes. */
const MIN_TENSOR_INFO = 8 + 4 + 4 + 8;
const MIN_KV = 8 + 4 + 1;

function readPreamble(c: GgufCursor): { version: number; tensorCount: number; kvCount: number } {
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    throw new GgufFormatError(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected "GGUF")`, 0);
  }
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    const hint = swapped === 2 || swapped === 3 ? ' (a big-endian file; only little-endian is supported)' : '';
    throw new GgufFormatError(`unsupported GGUF version ${version}${hint}`, 4);
  }
  const countsAt = c.pos;
  const tensorCount = c.size64('tensor count');
  const kvCount = c.size64('metadata count');
  // Cap both counts by what the rest of the file could hold, so later loops stay bounded.
  if (tensorCount * MIN_TENSOR_INFO + kvCount * MIN_KV > c.remaining()) {
    throw new GgufFormatError(
      `${tensorCount} tensors and ${kvCount} metadata entries cannot fit in the ${c.remaining()} bytes left`, countsAt);
  }
  return { version, tensorCount, kvCount };
}

function alignmentOf(metadata: Map<string, GgufKV>, valueAt: Map<string, number>): number {
  const kv = metadata.get('general.alignment');
  if (!kv) return GGUF_DEFAULT_ALIGNMENT;
  const a = kv.value;
  if (kv.type !== GgufValueType.U32 || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0) {
    throw new GgufFormatError(`general.alignment must be a u32 power of two, got ${String(a)}`, valueAt.get(kv.key));
  }
  return a;
}

/** Parses from the first bytes of a file of `fileSize` bytes; throws NeedMoreBytes when the prefix is short. */
function parsePrefix(bytes: Uint8Array, fileSize: number): GgufFile {
  const c = new GgufCursor(bytes, fileSize);
  const { version, tensorCount, kvCount } = readPreamble(c);
  const valueAt = new Map<string, number>();
  const metadata = readMetadata(c, kvCount, valueAt);
  const raw = readTensorInfos(c, tensorCount);
  const alignment = alignmentOf(metadata, valueAt);
  const headerSize = c.pos;
  const dataOffset = Math.ceil(headerSize / alignment) * alignment;
  if (raw.length > 0 && dataOffset > fileSize) {
    throw new GgufFormatError(`data section starts at ${dataOffset}, beyond the end of the file (${fileSize})`, headerSize);
  }
  const tensors = placeTensors(raw, dataOffset, alignment, fileSize);
  return { version, metadata, tensors, alignment, headerSize, dataOffset, fileSize };
}

/** Parses a whole GGUF file held in memory. */
export function parseGguf(bytes: Uint8Array): GgufFile {
  try {
    return parsePrefix(bytes, bytes.length);
  } catch (err) {
    // Cannot happen with the whole file, but keep the contract: only GgufFormatError leaves.
    if (err instanceof NeedMoreBytes) throw new GgufFormatError('internal: short prefix', err.required);
    throw err;
  }
}

export interface ReadHeaderOptions {
  /** First read size (default 64 KiB); later reads double the prefix. */
  initialBytes?: number;
  /** Refuse headers larger than this (default 512 MiB). */
  maxHeaderBytes?: number;
  signal?: AbortSignal;
}

async function readExact(source: RangeSource, offset: number, length: number): Promise<Uint8Array> {
  const got = await source.read(offset, length);
  if (got.length !== length) {
    throw new GgufFormatError(`range source returned ${got.length} bytes for a ${length}-byte read`, offset);
  }
  return got;
}

/** Parses a GGUF header from a RangeSource, reading only as much of the file as the header needs. */
export async function readGgufHeader(source: RangeSource, options: ReadHeaderOptions = {}): Promise<GgufFile> {
  const maxHeader = options.maxHeaderBytes ?? 512 * 1024 * 1024;
  let prefix = await readExact(source, 0, Math.min(source.size, options.initialBytes ?? 64 * 1024));
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return parsePrefix(prefix, source.size);
    } catch (err) {
      if (!(err instanceof NeedMoreBytes)) throw err;
      // Grow geometrically so a big vocabulary costs O(log n) round trips; the parser checked
      // `required` <= file size, so this loop ends.
      const want = Math.min(source.size, Math.max(err.required, prefix.length * 2));
      if (want > maxHeader) throw new GgufFormatError(`header needs more than ${maxHeader} bytes`, err.required);
      const more = await readExact(source, prefix.length, want - prefix.length);
      const grown = new Uint8Array(want);
      grown.set(prefix);
      grown.set(more, prefix.length);
      prefix = grown;
    }
  }
}

/** The raw bytes of one tensor. */
export function tensorBytesOf(file: Uint8Array, tensor: GgufTensorInfo): Uint8Array {
  return file.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize);
}

export async function readTensorBytes(source: RangeSource, tensor: GgufTensorInfo): Promise<Uint8Array> {
  return readExact(source, tensor.absoluteOffset, tensor.byteSize);
}

export function findTensor(file: GgufFile, name: string): GgufTensorInfo | undefined {
  return file.tensors.find((t) => t.name === name);
}
