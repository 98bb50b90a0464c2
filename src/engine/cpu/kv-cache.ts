// Per-layer f32 KV cache that grows by doubling up to nCtx, so a model with a 128k context does not
// allocate gigabytes for a short chat.
import { ContextOverflowError, EngineArgumentError } from '../errors.ts';

export class LayerKv {
  k: Float32Array;
  v: Float32Array;
  /** Positions filled: 0..length-1. */
  length = 0;
  private capacity: number;
  private readonly kRow: number;
  private readonly vRow: number;
  private readonly nCtx: number;

  constructor(kRow: number, vRow: number, nCtx: number, initial = 64) {
    this.kRow = kRow;
    this.vRow = vRow;
    this.nCtx = nCtx;
    this.capacity = Math.min(initial, nCtx);
    this.k = new Float32Array(this.capacity * kRow);
    this.v = new Float32Array(this.capacity * vRow);
  }

  /** Makes room for positions pos..pos+n-1; writing at pos forgets everything from pos on. */
  reserve(pos: number, n: number): void {
    if (pos > this.length) throw new EngineArgumentError(`KV cache holds ${this.length} positions; cannot write at ${pos}`);
    const need = pos + n;
    if (need > this.nCtx) throw new ContextOverflowError(need, this.nCtx);
    if (need > this.capacity) {
      let cap = this.capacity * 2;
      while (cap < need) cap *= 2;
      cap = Math.min(cap, this.nCtx);
      const k = new Float32Array(cap * this.kRow);
      const v = new Float32Array(cap * this.vRow);
      k.set(this.k.subarray(0, this.length * this.kRow));
      v.set(this.v.subarray(0, this.length * this.vRow));
      this.k = k;
      this.v = v;
      this.capacity = cap;
    }
  }

  write(pos: number, n: number, k: Float32Array, v: Float32Array): void {
    this.k.set(k.subarray(0, n * this.kRow), pos * this.kRow);
    this.v.set(v.subarray(0, n * this.vRow), pos * this.vRow);
    this.length = pos + n;
  }

  truncate(pos: number): void {
    this.length = Math.min(this.length, Math.max(0, pos));
  }

  bytes(): number {
    return (this.k.length + this.v.length) * 4;
  }
}
