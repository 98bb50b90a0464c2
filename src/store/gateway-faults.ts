// Fault injection for the local gateway, so the client's retry/hedge/verify paths can be tested
// against a real HTTP server. Pure decisions: deterministic from (seed, kind, request index or
// block key), so a failing test replays exactly.

export interface FaultRate {
  /** The first N gateway requests get this fault. */
  firstN?: number;
  /** And/or this fraction of requests (0..1), chosen deterministically from the seed. */
  fraction?: number;
}

export interface GatewayFaults {
  seed?: number;
  /** Flip one byte of these blocks (CID strings, any version) or of a fraction of all blocks. */
  corrupt?: { fraction?: number; cids?: string[] };
  /** Answer 5xx (default 503) instead of the block. */
  error5xx?: FaultRate & { status?: number };
  /** Accept the request and never answer (the socket stays open until the server closes). */
  stall?: FaultRate;
  /** Send headers and half the body, then destroy the connection. */
  closeMidBody?: FaultRate;
  /** Wait this long before answering every gateway request. */
  delayMs?: number;
  /**
   * Send every response body (blocks, CARs, files) at most this many bytes per second in all, as
   * a gateway behind a link of that speed: what a remote gateway is, and what a test needs to
   * stop a load half way.
   */
  bytesPerSecond?: number;
}

export type RequestFault = 'error5xx' | 'stall' | 'closeMidBody';

/** FNV-1a over a string, mixed with the seed: a stable pseudo-random number in [0, 1). */
export function unitHash(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return (h >>> 0) / 0x100000000;
}

function hits(rate: FaultRate | undefined, seed: number, kind: string, index: number): boolean {
  if (!rate) return false;
  if (rate.firstN !== undefined && index < rate.firstN) return true;
  return rate.fraction !== undefined && unitHash(seed, `${kind}:${index}`) < rate.fraction;
}

/** Which request-level fault (if any) hits the `index`-th gateway request. */
export function requestFault(faults: GatewayFaults | undefined, index: number): RequestFault | undefined {
  if (!faults) return undefined;
  const seed = faults.seed ?? 0;
  for (const kind of ['stall', 'error5xx', 'closeMidBody'] as const) {
    if (hits(faults[kind], seed, kind, index)) return kind;
  }
  return undefined;
}

/** Whether a block (by its store key and CID strings) is served corrupted. Stable per block. */
export function shouldCorrupt(faults: GatewayFaults | undefined, key: string, cidStrings: string[]): boolean {
  const c = faults?.corrupt;
  if (!c) return false;
  if (c.cids?.some((s) => cidStrings.includes(s))) return true;
  return c.fraction !== undefined && unitHash(faults.seed ?? 0, `corrupt:${key}`) < c.fraction;
}

/** A copy with one byte flipped (the middle one, or a 1-byte block for an empty one). */
export function corrupt(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return new Uint8Array([0x42]);
  const out = bytes.slice();
  const i = out.length >> 1;
  out[i] = out[i]! ^ 0xff;
  return out;
}

/**
 * The link of `bytesPerSecond`, shared by every response: take(n) resolves once n more bytes have
 * had their time on it (first come, first served; bursts of up to `burstMs` pass at once).
 */
export class Link {
  private readonly bytesPerMs: number;
  private readonly burstMs: number;
  private freeAt = 0;

  constructor(bytesPerSecond: number, burstMs = 5) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be > 0, got ${bytesPerSecond}`);
    this.bytesPerMs = bytesPerSecond / 1000;
    this.burstMs = burstMs;
  }

  async take(n: number): Promise<void> {
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + n / this.bytesPerMs;
    const wait = this.freeAt - now - this.burstMs;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
