// A JSON-safe summary of a parsed GGUF file (what `tabshard gguf inspect` prints). Large arrays are
// summarised (type, length, first few) so a 150k-token vocabulary does not flood the terminal.
import { GGUF_VALUE_TYPE_NAMES, type GgufArray, type GgufFile, type GgufValue } from './gguf-types.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface InspectOptions {
  /** Arrays longer than this are summarised (default 16). */
  maxArrayItems?: number;
  /** How many leading items a summarised array shows (default 8). */
  previewItems?: number;
}

export interface GgufInspection {
  version: number;
  alignment: number;
  dataOffset: number;
  fileSize: number;
  metadata: Record<string, { type: string; value: JsonValue }>;
  tensors: Array<{ name: string; type: string; shape: number[]; offset: number; bytes: number }>;
}

/** u64/i64 become numbers when exact, else decimal strings; NaN/Infinity (not JSON) become strings. */
function scalarJson(v: number | bigint | boolean | string): JsonValue {
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function arrayJson(a: GgufArray, opts: Required<InspectOptions>): JsonValue {
  const n = a.values.length;
  const take = n > opts.maxArrayItems ? opts.previewItems : n;
  const items: JsonValue[] = [];
  for (let i = 0; i < take; i++) items.push(valueJson(a.values[i] as GgufValue, opts));
  const out: { [key: string]: JsonValue } = { type: 'array', itemType: GGUF_VALUE_TYPE_NAMES[a.itemType], length: n };
  if (take < n) out.first = items;
  else out.values = items;
  return out;
}

function valueJson(v: GgufValue, opts: Required<InspectOptions>): JsonValue {
  return typeof v === 'object' ? arrayJson(v, opts) : scalarJson(v);
}

export function inspectGguf(file: GgufFile, options: InspectOptions = {}): GgufInspection {
  const opts = { maxArrayItems: options.maxArrayItems ?? 16, previewItems: options.previewItems ?? 8 };
  const metadata: GgufInspection['metadata'] = {};
  for (const kv of file.metadata.values()) {
    metadata[kv.key] = { type: GGUF_VALUE_TYPE_NAMES[kv.type], value: valueJson(kv.value, opts) };
  }
  return {
    version: file.version,
    alignment: file.alignment,
    dataOffset: file.dataOffset,
    fileSize: file.fileSize,
    metadata,
    tensors: file.tensors.map((t) => ({
      name: t.name, type: t.typeName, shape: [...t.shape], offset: t.absoluteOffset, bytes: t.byteSize,
    })),
  };
}
