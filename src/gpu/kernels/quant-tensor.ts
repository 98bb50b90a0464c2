// Weights on the GPU in their GGUF block layout. A tensor larger than one storage binding
// (maxStorageBufferBindingSize: 128 MiB on many phones and on Firefox+lavapipe here) is split by
// rows into several buffers; kernels then run once per chunk, writing at the chunk's row offset.
import type { GpuRuntime } from '../runtime.ts';
import { GpuLimitError, UnsupportedTensorError } from '../errors.ts';
import { writePadded, type BufferCategory } from '../buffers.ts';

/** The block geometry each WGSL block file (shaders/blk_*.wgsl) implements. */
export const GPU_BLOCK_TYPES = {
  0: { flag: 'F32', blockW: 4, blockBytes: 16 },
  1: { flag: 'F16', blockW: 4, blockBytes: 8 },
  8: { flag: 'Q8_0', blockW: 32, blockBytes: 34 },
  14: { flag: 'Q6_K', blockW: 256, blockBytes: 210 },
  12: { flag: 'Q4_K', blockW: 256, blockBytes: 144 },
  11: { flag: 'Q3_K', blockW: 256, blockBytes: 110 },
  10: { flag: 'Q2_K', blockW: 256, blockBytes: 84 },
} as const satisfies Record<number, { flag: string; blockW: number; blockBytes: number }>;

export type GpuBlockTypeId = keyof typeof GPU_BLOCK_TYPES;

export function gpuBlockType(type: number): (typeof GPU_BLOCK_TYPES)[GpuBlockTypeId] {
  const t = (GPU_BLOCK_TYPES as Record<number, (typeof GPU_BLOCK_TYPES)[GpuBlockTypeId] | undefined>)[type];
  if (!t) throw new UnsupportedTensorError(`ggml type ${type} has no GPU kernel (supported: F32, F16, Q8_0, Q6_K, Q4_K, Q3_K, Q2_K)`);
  return t;
}

export interface QuantChunk {
  buffer: GPUBuffer;
  row0: number;
  rows: number;
}

export interface QuantTensor {
  type: number;
  rows: number;
  cols: number;
  rowBytes: number;
  chunks: QuantChunk[];
}

export interface UploadOptions {
  label?: string;
  category?: BufferCategory;
  /** Cap per binding below the device's limit (tests use it to force splitting). */
  maxBindingBytes?: number;
}

/** Bytes of one row; throws when the row length is not a whole number of blocks. */
export function rowBytes(type: number, cols: number): number {
  const t = gpuBlockType(type);
  if (cols % t.blockW !== 0) {
    throw new UnsupportedTensorError(`${t.flag} rows must be a multiple of ${t.blockW} weights; got ${cols}`);
  }
  return (cols / t.blockW) * t.blockBytes;
}

/** Rows per binding so that no chunk exceeds the binding or buffer limit. */
export function rowsPerChunk(rt: GpuRuntime, bytesPerRow: number, cap?: number): number {
  const limit = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize, cap ?? Infinity);
  const rows = Math.floor((limit - 4) / bytesPerRow);
  if (rows < 1) throw new GpuLimitError(`one row of ${bytesPerRow} bytes exceeds the binding limit of ${limit} bytes`);
  return rows;
}

/**
 * Upload a [rows][cols] tensor of `type`. `read(offset, length)` supplies the raw bytes of a row
 * range, so a caller streaming from a file or the store never holds more than one chunk.
 */
export async function uploadQuantTensor(
  rt: GpuRuntime,
  type: number,
  rows: number,
  cols: number,
  read: (byteOffset: number, byteLength: number) => Uint8Array | Promise<Uint8Array>,
  opts: UploadOptions = {},
): Promise<QuantTensor> {
  const rb = rowBytes(type, cols);
  const per = rowsPerChunk(rt, rb, opts.maxBindingBytes);
  const chunks: QuantChunk[] = [];
  try {
    for (let row0 = 0; row0 < rows; row0 += per) {
      const n = Math.min(per, rows - row0);
      const bytes = await read(row0 * rb, n * rb);
      if (bytes.byteLength !== n * rb) throw new RangeError(`expected ${n * rb} bytes for rows ${row0}..${row0 + n}, got ${bytes.byteLength}`);
      // +4 bytes: a misaligned 32-bit read of the last field may touch the word after the data.
      const buffer = rt.pool.acquire(n * rb + 4, opts.category ?? 'weights', `${opts.label ?? 'tensor'}[${row0}..${row0 + n})`);
      writePadded(rt.device, buffer, bytes);
      chunks.push({ buffer, row0, rows: n });
    }
  } catch (err) {
    for (const c of chunks) rt.pool.destroy(c.buffer);
    throw err;
  }
  return { type, rows, cols, rowBytes: rb, chunks };
}


export function releaseQuantTensor(rt: GpuRuntime, t: QuantTensor): void {
  for (const c of t.chunks) rt.pool.destroy(c.buffer);
  t.chunks = [];
}
