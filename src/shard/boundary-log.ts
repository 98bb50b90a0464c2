// The coordinator's record of the hidden states entering each stage boundary, for every position of
// the token history. When a stage's holder is lost, its replacement's KV cache is rebuilt from the
// record of its first layer alone: the hidden state entering layer a depends only on the layers
// before a, whose holders (and caches) are intact, so nothing upstream is recomputed, and nothing
// downstream either (its inputs at those positions do not change, and its caches already hold them).
// Cost: nEmbd × 4 bytes per token per boundary (TinyLlama, 2048 positions: 16 MiB per boundary).

export class BoundaryLog {
  private readonly nEmbd: number;
  private data: Float32Array;
  /** Positions recorded: 0..length-1. */
  length = 0;

  constructor(nEmbd: number, initialTokens = 64) {
    this.nEmbd = nEmbd;
    this.data = new Float32Array(nEmbd * initialTokens);
  }

  /** Writes positions pos..pos+nTok-1; returns false (and writes nothing) if that would leave a gap. */
  write(pos: number, hidden: Float32Array): boolean {
    if (pos > this.length) return false;
    const end = pos * this.nEmbd + hidden.length;
    if (end > this.data.length) {
      const grown = new Float32Array(Math.max(end, this.data.length * 2));
      grown.set(this.data.subarray(0, this.length * this.nEmbd));
      this.data = grown;
    }
    this.data.set(hidden, pos * this.nEmbd);
    this.length = end / this.nEmbd;
    return true;
  }

  truncate(pos: number): void {
    this.length = Math.min(this.length, pos);
  }

  /** Hidden states of positions [0, n) (a view: copy before keeping it across writes). */
  read(n: number): Float32Array | undefined {
    return n <= this.length ? this.data.subarray(0, n * this.nEmbd) : undefined;
  }
}
