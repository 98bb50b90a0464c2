// Progress of a model load, as the UI and tests see it, and the transfer-rate meter behind it.

/** Where a block came from: the local store, or the base URL of the gateway that served it. */
export type BlockSource = 'store' | (string & {});

export interface LoadProgress {
  /** 'structure': walking the DAG's interior nodes; 'blocks': leaves; 'done': all stored. */
  phase: 'structure' | 'blocks' | 'done';
  /** File bytes whose blocks are stored (leaf data), of the file size. */
  bytesDone: number;
  bytesTotal: number;
  /** Blocks stored, of the blocks known so far (final once phase is 'blocks'). */
  blocksDone: number;
  blocksTotal: number;
  /** Network bytes per second over the last few seconds (0 when nothing was fetched lately). */
  rate: number;
  /** Seconds left at `rate`, or null while the rate is unknown. */
  etaSeconds: number | null;
  /** Source of the block(s) this event reports. */
  source: BlockSource;
}

/** Bytes per second over a sliding window, so the rate follows a gateway that slows down. */
export class RateMeter {
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  private readonly started: number;

  constructor(options: { windowMs?: number; now?: () => number } = {}) {
    this.windowMs = options.windowMs ?? 3000;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  add(bytes: number): void {
    this.samples.push({ t: this.now(), bytes });
  }

  rate(): number {
    const t = this.now();
    while (this.samples.length > 0 && this.samples[0]!.t < t - this.windowMs) this.samples.shift();
    if (this.samples.length === 0) return 0;
    // Until a full window has passed, divide by the time since the load started (not 0).
    const span = Math.max(1, Math.min(this.windowMs, t - this.started));
    return (this.samples.reduce((a, s) => a + s.bytes, 0) * 1000) / span;
  }
}

export function eta(bytesLeft: number, rate: number): number | null {
  if (bytesLeft <= 0) return 0;
  return rate > 0 ? bytesLeft / rate : null;
}
