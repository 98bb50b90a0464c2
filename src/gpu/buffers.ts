// A buffer pool with byte accounting by category, so the engine and CLI can report GPU memory
// (weights, kv, scratch, ...) from what was actually allocated, not from estimates.
import { GpuLimitError } from './errors.ts';

export type BufferCategory = 'weights' | 'kv' | 'scratch' | 'io' | 'bench';

interface Entry {
  buffer: GPUBuffer;
  category: BufferCategory;
  size: number;
}

/** Write `bytes` at offset 0; writeBuffer needs 4-byte sizes, so a ragged tail goes zero-padded. */
export function writePadded(device: GPUDevice, buffer: GPUBuffer, bytes: Uint8Array): void {
  const aligned = bytes.byteLength & ~3;
  if (aligned > 0) device.queue.writeBuffer(buffer, 0, bytes.buffer as ArrayBuffer, bytes.byteOffset, aligned);
  if (aligned < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(aligned));
    device.queue.writeBuffer(buffer, aligned, tail);
  }
}

export class BufferPool {
  private readonly device: GPUDevice;
  private readonly live = new Map<GPUBuffer, Entry>();
  /** Released buffers kept for reuse, keyed by `${usage}:${size}`. */
  private readonly free = new Map<string, GPUBuffer[]>();
  private freeBytes = 0;
  /** Don't keep more than this many bytes of released buffers around. */
  maxFreeBytes = 256 * 1024 * 1024;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Storage buffer usage with copy in/out, the common case for kernels. */
  static get storageUsage(): number {
    return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  }

  acquire(size: number, category: BufferCategory, label: string, usage = BufferPool.storageUsage): GPUBuffer {
    const padded = Math.max(16, Math.ceil(size / 16) * 16);
    if (padded > this.device.limits.maxBufferSize) {
      throw new GpuLimitError(`buffer '${label}' needs ${padded} bytes; this device allows at most ${this.device.limits.maxBufferSize} per buffer`);
    }
    const key = `${usage}:${padded}`;
    const reused = this.free.get(key)?.pop();
    let buffer: GPUBuffer;
    if (reused) {
      this.freeBytes -= padded;
      buffer = reused;
      buffer.label = label;
    } else {
      buffer = this.device.createBuffer({ size: padded, usage, label });
    }
    this.live.set(buffer, { buffer, category, size: padded });
    return buffer;
  }

  /** Create a buffer holding `data` (padded to 4 bytes as WebGPU requires). */
  upload(data: ArrayBufferView, category: BufferCategory, label: string, usage = BufferPool.storageUsage): GPUBuffer {
    const buf = this.acquire(data.byteLength, category, label, usage);
    writePadded(this.device, buf, new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength));
    return buf;
  }

  release(buffer: GPUBuffer): void {
    const e = this.live.get(buffer);
    if (!e) return;
    this.live.delete(buffer);
    if (this.freeBytes + e.size > this.maxFreeBytes) {
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${e.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.freeBytes += e.size;
  }

  /** Destroy a buffer now (weights being unloaded, large scratch). */
  destroy(buffer: GPUBuffer): void {
    this.live.delete(buffer);
    buffer.destroy();
  }

  /** Bytes allocated per category, plus pooled-but-free bytes. */
  usage(): Record<BufferCategory | 'pooled', number> {
    const out: Record<BufferCategory | 'pooled', number> = { weights: 0, kv: 0, scratch: 0, io: 0, bench: 0, pooled: this.freeBytes };
    for (const e of this.live.values()) out[e.category] += e.size;
    return out;
  }

  destroyAll(): void {
    for (const e of this.live.values()) e.buffer.destroy();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.live.clear();
    this.free.clear();
    this.freeBytes = 0;
  }
}
