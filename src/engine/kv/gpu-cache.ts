// A backend's compressed KV cache on the GPU: one u32 buffer per layer and side, category 'kv' so
// that the pool's accounting is the cache's real size, and the per-layer count of quantized
// positions (the only cache state kept on the CPU).
import type { GpuRuntime } from '../../gpu/runtime.ts';
import type { PreparedDispatch } from '../../gpu/dispatch.ts';
import { layerKvBytes, type KvLayout } from './layout.ts';
import { prepareKvStore } from './gpu-kv.ts';

export class GpuKvCache {
  readonly layout: KvLayout;
  readonly k = new Map<number, GPUBuffer>();
  readonly v = new Map<number, GPUBuffer>();
  private readonly quantized = new Map<number, number>();
  private readonly rt: GpuRuntime;

  constructor(rt: GpuRuntime, layout: KvLayout, layers: readonly [number, number]) {
    this.rt = rt;
    this.layout = layout;
    for (let l = layers[0]; l < layers[1]; l++) {
      this.k.set(l, rt.pool.acquire(layout.k.words * 4, 'kv', `kv.k${l}`));
      this.v.set(l, rt.pool.acquire(layout.v.words * 4, 'kv', `kv.v${l}`));
      this.quantized.set(l, 0);
    }
  }

  /** Quantized positions a batch at pos0 sees (writing at pos0 forgets positions ≥ pos0). */
  q0(l: number, pos0: number): number {
    return Math.min(this.quantized.get(l) ?? 0, pos0);
  }

  /**
   * The dispatches that append a batch (rows kn, vn, already roped/rotated) to layer l, to be
   * encoded after the batch's attention. Advances the layer's quantized count.
   */
  async store(l: number, pos0: number, nTok: number, kn: GPUBuffer, vn: GPUBuffer, separate = false): Promise<PreparedDispatch[]> {
    const L = this.layout;
    const q0 = this.q0(l, pos0);
    const q1 = L.quantized ? Math.max(q0, pos0 + nTok - L.window) : 0;
    this.quantized.set(l, q1);
    return prepareKvStore(this.rt, L, { kc: this.k.get(l)!, vc: this.v.get(l)!, kn, vn }, { pos0, nTok, q0, q1 }, separate);
  }

  /**
   * Benchmarks only: act as if positions < n had been stored (contents are whatever the buffers
   * hold), so decode at a long context can be timed without prefilling it.
   */
  assumeFilled(n: number): void {
    const q = this.layout.quantized ? Math.max(0, n - this.layout.window) : 0;
    for (const l of this.quantized.keys()) this.quantized.set(l, q);
  }

  truncate(pos: number): void {
    for (const [l, q] of this.quantized) this.quantized.set(l, Math.min(q, Math.max(0, pos)));
  }

  /** Bytes of this cache's buffers as allocated (equals layerKvBytes · layers). */
  bytes(): number {
    let n = 0;
    for (const b of [...this.k.values(), ...this.v.values()]) n += b.size;
    return n;
  }

  expectedBytes(): number {
    return layerKvBytes(this.layout) * this.k.size;
  }

  buffers(): GPUBuffer[] {
    return [...this.k.values(), ...this.v.values()];
  }
}
