// Fetch blocks from a list of IPFS trustless gateways (`?format=raw`), trusting none of them:
// every block is hashed against its CID before it is returned. Requests are hedged (best gateway
// first, the next one after `hedgeDelayMs` or at once on failure), retried in rounds with
// exponential backoff + jitter, bounded by a semaphore, timed out per request, and each gateway
// sits behind a circuit breaker. Browser and Node: fetch only.
import type { CID } from 'multiformats/cid';
import { Semaphore, backoffDelay, sleep } from './async-utils.ts';
import type { AbortOptions } from './blockstore.ts';
import { carStreamBlocks } from './car-stream.ts';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.ts';
import {
  AbortError, AllGatewaysFailedError, BlockTooLargeError, CircuitOpenError, GatewayError, NotFoundError,
  TimeoutError, UnsupportedHashError, abortReason, throwIfAborted, type GatewayFailure,
} from './errors.ts';
import { canVerify, parseCid, verifyBlock } from './verify.ts';

export type GatewayClientEvent =
  | { type: 'request'; cid: string; gateway: string; round: number; hedge: boolean }
  | { type: 'block'; cid: string; gateway: string; bytes: number; ms: number }
  /** A CAR range delivered `blocks` verified blocks (`bytes` in all) in `ms`. */
  | { type: 'car'; cid: string; gateway: string; blocks: number; bytes: number; ms: number }
  | { type: 'failure'; cid: string; gateway: string; error: Error }
  | { type: 'retry'; cid: string; round: number; delayMs: number }
  | { type: 'circuit'; gateway: string; state: CircuitState };

export interface GatewayClientOptions {
  /** Gateway base URLs, e.g. `https://trustless-gateway.link` (blocks at `<url>/ipfs/<cid>`). */
  gateways: string[];
  /** Ask the next gateway too if the first has not answered in this long (default 300 ms). */
  hedgeDelayMs?: number;
  /** Per request, headers and body together (default 15 s). */
  timeoutMs?: number;
  /** Extra rounds over the gateways after the first (default 3). */
  retries?: number;
  /** Backoff before round n: base * 2^(n-1), capped, with jitter (defaults 200 ms / 5 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Blocks larger than this are refused (default 2 MiB). */
  maxBlockBytes?: number;
  /** HTTP requests in flight across all calls (default 8). */
  concurrency?: number;
  /** Consecutive failures that open a gateway's circuit (default 5), and its cool-down (30 s). */
  breakerThreshold?: number;
  breakerCooldownMs?: number;
  fetch?: typeof fetch;
  random?: () => number;
  now?: () => number;
  onEvent?: (event: GatewayClientEvent) => void;
}

export interface GetBlockOptions extends AbortOptions {
  onEvent?: (event: GatewayClientEvent) => void;
}

export interface GatewayStatus {
  url: string;
  state: CircuitState;
  successes: number;
  failures: number;
  integrityFailures: number;
  /** Smoothed time to a verified block, ms. */
  latencyMs: number;
  score: number;
}

interface Gateway {
  url: string;
  breaker: CircuitBreaker;
  successes: number;
  failures: number;
  integrityFailures: number;
  latencyMs: number;
}

const RAW = 'application/vnd.ipld.raw';
const CAR = 'application/vnd.ipld.car';

export interface StreamRangeOptions extends GetBlockOptions {
  /** Whether a block the CAR holds is one the caller wants (others are skipped unhashed). */
  wanted: (cid: CID) => boolean;
  /** Called in CAR order with each wanted block, after it is verified; awaited (backpressure). */
  onBlock: (cid: CID, bytes: Uint8Array, gateway: string) => Promise<void>;
}

/** Bytes of a response body as they arrive, refusing more than `limit` in all (a hostile CAR
 * section length must not make the decoder buffer without bound) and aborting after `idleMs`
 * without a byte (a body that stalls; a fixed total timeout would cut a slow but live stream). */
async function* limitedBody(res: Response, limit: number, idleMs: number, what: string): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let total = 0;
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(what, `no bytes for ${idleMs} ms`)), idleMs);
      });
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await Promise.race([reader.read(), idle]);
      } finally {
        clearTimeout(timer);
      }
      if (step.done) return;
      total += step.value.length;
      if (total > limit) throw new GatewayError(what, `CAR body longer than the ${limit} bytes its range can need`);
      yield step.value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024;

/** Higher is better: success rate (Laplace-smoothed) over latency, cut hard by bad bytes served. */
function score(g: Gateway): number {
  const rate = (g.successes + 1) / (g.successes + g.failures + 2);
  return (rate * 1000) / (g.latencyMs + 50) / (1 + 4 * g.integrityFailures);
}

/** Read a body, refusing it as soon as it is known (Content-Length) or seen to exceed `limit`. */
async function readLimited(res: Response, limit: number, cid: string, gateway: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new BlockTooLargeError(cid, limit, gateway);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BlockTooLargeError(cid, limit, gateway);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class GatewayClient {
  private readonly gws: Gateway[];
  private readonly opts: GatewayClientOptions;
  private readonly semaphore: Semaphore;
  private readonly doFetch: typeof fetch;
  private readonly random: () => number;
  private readonly now: () => number;
  /** Gateways that answered a CAR request with something else: asked only block by block. */
  private readonly noCar = new Set<Gateway>();

  constructor(options: GatewayClientOptions) {
    if (options.gateways.length === 0) throw new TypeError('GatewayClient needs at least one gateway');
    this.opts = options;
    this.semaphore = new Semaphore(options.concurrency ?? 8);
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.gws = options.gateways.map((raw) => {
      const url = raw.replace(/\/+$/, '');
      return {
        url,
        successes: 0,
        failures: 0,
        integrityFailures: 0,
        latencyMs: 200,
        breaker: new CircuitBreaker({
          threshold: options.breakerThreshold,
          cooldownMs: options.breakerCooldownMs,
          now: options.now,
          onChange: (state) => this.emit(undefined, { type: 'circuit', gateway: url, state }),
        }),
      };
    });
  }

  /** A verified block, or AllGatewaysFailedError / NotFoundError / AbortError. */
  async getBlock(cid: CID | string, options: GetBlockOptions = {}): Promise<Uint8Array> {
    return (await this.fetchBlock(cid, options)).bytes;
  }

  /** Like getBlock, and says which gateway served it. */
  async fetchBlock(cidInput: CID | string, options: GetBlockOptions = {}): Promise<{ bytes: Uint8Array; gateway: string }> {
    const cid = parseCid(cidInput);
    const { signal } = options;
    throwIfAborted(signal);
    if (!canVerify(cid)) throw new UnsupportedHashError(`cannot verify multihash 0x${cid.multihash.code.toString(16)} of ${cid}`);
    const causes: GatewayFailure[] = [];
    const banned = new Set<Gateway>(); // served bad bytes for this CID: never asked again for it
    const rounds = 1 + (this.opts.retries ?? 3);
    for (let round = 0; round < rounds; round++) {
      if (round > 0) {
        const delayMs = backoffDelay(round, this.opts.backoffMs ?? 200, this.opts.maxBackoffMs ?? 5000, this.random);
        this.emit(options, { type: 'retry', cid: cid.toString(), round, delayMs });
        await sleep(delayMs, signal);
      }
      const candidates = this.ranked().filter((g) => !banned.has(g));
      if (candidates.length === 0) break;
      const roundCauses: GatewayFailure[] = [];
      const won = await this.race(cid, candidates, round, roundCauses, banned, options);
      causes.push(...roundCauses);
      if (won) return won;
      if (roundCauses.length > 0 && roundCauses.every((c) => c.error.name === 'NotFoundError')) {
        throw new NotFoundError(`no gateway has ${cid} (${roundCauses.map((c) => c.gateway).join(', ')})`, { cause: roundCauses[0]!.error });
      }
    }
    throw new AllGatewaysFailedError(cid.toString(), causes);
  }

  /**
   * The blocks covering bytes [from, to) of the UnixFS file `root`, in one trustless-gateway CAR
   * request (`dag-scope=entity&entity-bytes=`) to the best-ranked gateway that speaks CAR: one
   * request for many blocks instead of one each, which is most of a loopback load's cost. Every
   * wanted block is hashed against its CID before `onBlock` sees it; blocks the caller does not
   * want (the interior nodes on the path, anything a gateway adds) are skipped without hashing,
   * and never stored. No hedging or retries here: the caller fetches whatever this did not deliver
   * block by block (getBlock), which has them. Resolves with the gateway and the blocks delivered;
   * rejects (the gateway penalised as for a block) on a bad status, a stall, a body that is too
   * long or malformed, or a block that fails verification — blocks delivered before that stay good.
   */
  async streamRange(root: CID, from: number, to: number, options: StreamRangeOptions): Promise<{ gateway: string; blocks: number }> {
    const { signal } = options;
    throwIfAborted(signal);
    const gw = this.ranked().find((g) => g.breaker.canRequest() && !this.noCar.has(g));
    if (!gw) throw new GatewayError('*', 'no gateway available for a CAR request');
    const release = await this.claim(gw, signal);
    const idleMs = this.opts.timeoutMs ?? 15_000;
    const maxBlock = this.opts.maxBlockBytes ?? MAX_BLOCK_BYTES;
    const ac = new AbortController();
    const outer = signal ? AbortSignal.any([signal, ac.signal]) : ac.signal;
    const started = this.now();
    let delivered = 0;
    let deliveredBytes = 0;
    let skipped = 0;
    let callerFailed: { err: unknown } | undefined;
    try {
      const url = `${gw.url}/ipfs/${root}?format=car&dag-scope=entity&entity-bytes=${from}:${to - 1}`;
      this.emit(options, { type: 'request', cid: root.toString(), gateway: gw.url, round: 0, hedge: false });
      const headersTimer = setTimeout(() => ac.abort(new TimeoutError(gw.url, `no CAR headers after ${idleMs} ms`)), idleMs);
      let res: Response;
      try {
        res = await this.doFetch(url, { signal: outer, headers: { accept: CAR } });
      } finally {
        clearTimeout(headersTimer);
      }
      const type = res.headers.get('content-type') ?? '';
      if (!res.ok || !type.startsWith(CAR)) {
        await res.body?.cancel().catch(() => undefined);
        // A gateway that answers but does not do CAR ranges is not failing: ask it block by block.
        if (res.ok || [400, 406, 501].includes(res.status)) this.noCar.add(gw);
        throw new GatewayError(gw.url, `CAR range of ${root}: HTTP ${res.status} ${type}`, { status: res.status });
      }
      // Interior nodes along the range's path come with it: allow them (and the CAR framing) room.
      const limit = to - from + 4 * maxBlock;
      const { blocks } = await carStreamBlocks(limitedBody(res, limit, idleMs, gw.url));
      for await (const { cid, bytes } of blocks) {
        if (bytes.length > maxBlock) throw new BlockTooLargeError(cid.toString(), maxBlock, gw.url);
        if (!options.wanted(cid)) {
          // The spec's blocks for a range are the path plus the leaves: a few. Many more is junk.
          if (++skipped > 64 + delivered) throw new GatewayError(gw.url, `CAR range of ${root}: ${skipped} blocks nobody asked for`);
          continue;
        }
        await verifyBlock(cid, bytes, gw.url);
        try {
          await options.onBlock(cid, bytes, gw.url);
        } catch (err) {
          callerFailed = { err }; // the caller's own failure (a full store, say): not the gateway's
          throw err;
        }
        delivered++;
        deliveredBytes += bytes.length;
      }
      const ms = this.now() - started;
      gw.successes++;
      gw.latencyMs = 0.8 * gw.latencyMs + 0.2 * (ms / Math.max(1, delivered));
      gw.breaker.onSuccess();
      this.emit(options, { type: 'car', cid: root.toString(), gateway: gw.url, blocks: delivered, bytes: deliveredBytes, ms });
      return { gateway: gw.url, blocks: delivered };
    } catch (raw) {
      if (callerFailed) {
        ac.abort();
        gw.breaker.onCancel();
        throw callerFailed.err;
      }
      const timedOut = ac.signal.aborted ? (ac.signal.reason as Error) : undefined;
      ac.abort();
      const err = signal?.aborted ? abortReason(signal) : timedOut ?? (raw instanceof Error ? raw : new Error(String(raw)));
      if (err.name === 'AbortError') gw.breaker.onCancel();
      else {
        gw.failures++;
        if (err.name === 'IntegrityError') gw.integrityFailures++;
        gw.breaker.onFailure();
        this.emit(options, { type: 'failure', cid: root.toString(), gateway: gw.url, error: err });
      }
      throw ['IntegrityError', 'BlockTooLargeError', 'GatewayError', 'TimeoutError', 'AbortError'].includes(err.name)
        ? err : new GatewayError(gw.url, `CAR range of ${root}: ${err.message}`, { cause: err });
    } finally {
      release();
    }
  }

  status(): GatewayStatus[] {
    return this.gws.map((g) => ({
      url: g.url, state: g.breaker.state, successes: g.successes, failures: g.failures,
      integrityFailures: g.integrityFailures, latencyMs: g.latencyMs, score: score(g),
    }));
  }

  /** Open circuits last; otherwise by score, ties in the configured order. */
  private ranked(): Gateway[] {
    return this.gws
      .map((g, i) => ({ g, i, open: !g.breaker.canRequest(), s: score(g) }))
      .sort((a, b) => Number(a.open) - Number(b.open) || b.s - a.s || a.i - b.i)
      .map((x) => x.g);
  }

  private emit(options: GetBlockOptions | undefined, event: GatewayClientEvent): void {
    this.opts.onEvent?.(event);
    options?.onEvent?.(event);
  }

  /** One hedged round: resolves to the first verified block, or undefined when every candidate failed. */
  private race(
    cid: CID, candidates: Gateway[], round: number, causes: GatewayFailure[], banned: Set<Gateway>, options: GetBlockOptions,
  ): Promise<{ bytes: Uint8Array; gateway: string } | undefined> {
    const { signal } = options;
    const hedgeDelay = this.opts.hedgeDelayMs ?? 300;
    return new Promise((resolve, reject) => {
      const controllers: AbortController[] = [];
      let next = 0;
      let running = 0;
      let settled = false;
      let hedgeTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(hedgeTimer);
        signal?.removeEventListener('abort', onAbort);
        for (const c of controllers) c.abort(new AbortError('hedge: another gateway answered'));
        fn();
      };
      const onAbort = () => finish(() => reject(abortReason(signal!)));
      signal?.addEventListener('abort', onAbort, { once: true });
      const launch = () => {
        clearTimeout(hedgeTimer);
        if (settled) return;
        // The breaker may have opened since the round started: skip such gateways.
        while (next < candidates.length && !candidates[next]!.breaker.canRequest()) {
          const g = candidates[next++]!;
          causes.push({ gateway: g.url, error: new CircuitOpenError(g.url, 'circuit open') });
        }
        if (next >= candidates.length) {
          if (running === 0) finish(() => resolve(undefined));
          return;
        }
        const gw = candidates[next++]!;
        const ac = new AbortController();
        controllers.push(ac);
        running++;
        this.emit(options, { type: 'request', cid: cid.toString(), gateway: gw.url, round, hedge: running > 1 });
        this.attempt(gw, cid, ac.signal, options).then(
          (bytes) => finish(() => resolve({ bytes, gateway: gw.url })),
          (err: Error) => {
            running--;
            if (settled) return;
            if (err.name === 'AbortError' && signal?.aborted) return onAbort();
            causes.push({ gateway: gw.url, error: err });
            if (err.name === 'IntegrityError') banned.add(gw);
            this.emit(options, { type: 'failure', cid: cid.toString(), gateway: gw.url, error: err });
            launch(); // a failure is no reason to wait for the hedge timer
          },
        );
        if (next < candidates.length) hedgeTimer = setTimeout(launch, hedgeDelay);
      };
      launch();
    });
  }

  /**
   * Claim the gateway's half-open trial slot (before waiting, so no one else takes it), then a
   * connection slot; the slot's release function, or the wait's error with the claim given back.
   */
  private async claim(gw: Gateway, signal: AbortSignal | undefined): Promise<() => void> {
    gw.breaker.onStart();
    try {
      return await this.semaphore.acquire(signal);
    } catch (err) {
      gw.breaker.onCancel();
      throw err;
    }
  }

  /** One HTTP request to one gateway, verified. Records the outcome on the gateway's stats. */
  private async attempt(gw: Gateway, cid: CID, hedgeSignal: AbortSignal, options: GetBlockOptions): Promise<Uint8Array> {
    const outer = options.signal ? AbortSignal.any([options.signal, hedgeSignal]) : hedgeSignal;
    const release = await this.claim(gw, outer);
    const timeoutMs = this.opts.timeoutMs ?? 15_000;
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new TimeoutError(gw.url, `no block after ${timeoutMs} ms`)), timeoutMs);
    const started = this.now();
    try {
      const signal = AbortSignal.any([outer, timer.signal]);
      const key = cid.toString();
      const res = await this.doFetch(`${gw.url}/ipfs/${key}?format=raw`, { signal, headers: { accept: RAW } });
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => undefined);
        throw new NotFoundError(`${gw.url}: ${key} not found (${res.status})`);
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new GatewayError(gw.url, `HTTP ${res.status} for ${key}`, { status: res.status });
      }
      const bytes = await readLimited(res, this.opts.maxBlockBytes ?? MAX_BLOCK_BYTES, key, gw.url);
      await verifyBlock(cid, bytes, gw.url);
      const ms = this.now() - started;
      gw.successes++;
      gw.latencyMs = 0.8 * gw.latencyMs + 0.2 * ms;
      gw.breaker.onSuccess();
      this.emit(options, { type: 'block', cid: key, gateway: gw.url, bytes: bytes.length, ms });
      return bytes;
    } catch (raw) {
      const err = this.classify(raw, gw, outer, timer.signal);
      if (err.name === 'AbortError') gw.breaker.onCancel();
      else if (err.name === 'NotFoundError') gw.breaker.onSuccess(); // alive, just lacks the block
      else {
        gw.failures++;
        if (err.name === 'IntegrityError') gw.integrityFailures++;
        gw.breaker.onFailure();
      }
      throw err;
    } finally {
      clearTimeout(timeout);
      release();
    }
  }

  /** Map whatever fetch threw onto our error classes. */
  private classify(raw: unknown, gw: Gateway, outer: AbortSignal, timer: AbortSignal): Error {
    if (outer.aborted) return abortReason(outer);
    if (timer.aborted) return timer.reason as Error;
    const err = raw instanceof Error ? raw : new Error(String(raw));
    if (['IntegrityError', 'BlockTooLargeError', 'NotFoundError', 'GatewayError', 'UnsupportedHashError'].includes(err.name)) return err;
    // fetch's TypeError ("fetch failed", "terminated"): connection refused, reset, closed mid-body.
    return new GatewayError(gw.url, err.message, { cause: err });
  }
}
