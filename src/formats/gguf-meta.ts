// Typed getters for GGUF metadata, so callers need not switch on value types themselves.
import { GgufFormatError } from './errors.ts';
import type { GgufArray, GgufFile } from './gguf-types.ts';

/** A numeric value (any int/float type; u64/i64 must be exact as a number). */
export function metaNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key)?.value;
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  throw new GgufFormatError(`metadata '${key}' is not a number that fits in 2^53`);
}

export function metaString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key)?.value;
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new GgufFormatError(`metadata '${key}' is not a string`);
  return v;
}

export function metaBool(file: GgufFile, key: string): boolean | undefined {
  const v = file.metadata.get(key)?.value;
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new GgufFormatError(`metadata '${key}' is not a bool`);
  return v;
}

export function metaArray(file: GgufFile, key: string): GgufArray | undefined {
  const v = file.metadata.get(key)?.value;
  if (v === undefined) return undefined;
  if (typeof v !== 'object') throw new GgufFormatError(`metadata '${key}' is not an array`);
  return v;
}
