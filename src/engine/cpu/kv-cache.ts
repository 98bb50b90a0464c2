// One layer's KV cache on the CPU, in the compressed scheme of src/engine/kv (the words, layout and
// append rule of KvLayerRef, which the WGSL kernels follow too), in any mode: f32 (exact), f16, or
// q8/q4/q3/q2 with an f16 window. It grows by doubling up to nCtx, so a model with a 128k context
// does not allocate gigabytes for a short chat: the storage is a KvLayerRef laid out for the
// current capacity (kvLayoutAt), and growing copies its quantized rows and ring into a larger one.
import { KvLayerRef } from '../kv/cache.ts';
import { kvLayoutAt, type KvLayout } from '../kv/layout.ts';
import { ContextOverflowError, EngineArgumentError } from '../errors.ts';

export class LayerKv {
  /** The scheme at the full context (what describeKv reports). */
  readonly layout: KvLayout;
  /** Storage for the current capacity; replaced when the cache grows. */
  ref: KvLayerRef;
  /** Positions filled: 0..length-1. */
  length = 0;

  constructor(layout: KvLayout, initial = 64) {
    this.layout = layout;
    this.ref = new KvLayerRef(kvLayoutAt(layout, Math.min(initial, layout.nCtx)));
  }

  get capacity(): number {
    return this.ref.layout.nCtx;
  }

  /** Makes room for positions pos..pos+n-1; writing at pos forgets everything from pos on. */
  reserve(pos: number, n: number): void {
    if (pos > this.length) throw new EngineArgumentError(`KV cache holds ${this.length} positions; cannot write at ${pos}`);
    const need = pos + n;
    const nCtx = this.layout.nCtx;
    if (need > nCtx) throw new ContextOverflowError(need, nCtx);
    if (need <= this.capacity) return;
    let cap = this.capacity * 2;
    while (cap < need) cap *= 2;
    this.grow(Math.min(cap, nCtx));
  }

  private grow(cap: number): void {
    const old = this.ref;
    const next = new KvLayerRef(kvLayoutAt(this.layout, cap));
    const a = old.layout;
    const b = next.layout;
    for (const [from, to, sa, sb] of [[old.k, next.k, a.k, b.k], [old.v, next.v, a.v, b.v]] as const) {
      // Quantized rows sit at the start in both layouts; the ring moves to the new ring offset with
      // its slots in place (see kvLayoutAt: positions held never wrapped a smaller ring).
      to.set(from.subarray(0, old.quantized * sa.rowWords));
      to.set(from.subarray(sa.ringOff, sa.ringOff + a.ringSlots * sa.ringRowWords), sb.ringOff);
    }
    next.quantized = old.quantized;
    this.ref = next;
  }

  /** Append a batch at pos (K rows roped and, when the layout rotates, rotated); after its attention. */
  write(pos: number, n: number, k: Float32Array, v: Float32Array): void {
    this.ref.store(pos, n, k, v);
    this.length = pos + n;
  }

  /**
   * Benchmarks only: act as if positions < n had been stored (contents are whatever the arrays
   * hold: zeros), so decode at a long context can be timed without prefilling it.
   */
  assumeFilled(n: number): void {
    this.length = 0;
    this.ref.quantized = 0;
    this.reserve(0, n);
    this.length = n;
    this.ref.quantized = this.layout.quantized ? Math.max(0, n - this.layout.window) : 0;
  }

  truncate(pos: number): void {
    this.length = Math.min(this.length, Math.max(0, pos));
    this.ref.quantized = Math.min(this.ref.quantized, this.length);
  }

  /** Bytes of the typed arrays this layer holds now. */
  bytes(): number {
    return this.ref.bytes();
  }
}
