// Small async helpers for the gateway client: abortable sleep, a counting semaphore, backoff.
// Hand-written because p-queue/p-timeout (transitively installed) are not our dependencies and
// each of these is a dozen lines.
import { abortReason } from './errors.ts';

/** Resolves after `ms`, or rejects with AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** At most `limit` holders at once; waiters are served in order and can give up via their signal. */
export class Semaphore {
  private readonly limit: number;
  private active = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  get inUse(): number {
    return this.active;
  }

  /** Resolves to a release function (call it exactly once). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.active--;
        this.waiters.shift()?.grant();
      };
      if (this.active < this.limit) {
        this.active++;
        return resolve(release);
      }
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.active++;
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. `attempt` starts at 1. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/**
 * A budget of bytes in flight (the loader's verified blocks waiting to be stored): acquire(n)
 * waits until n more fit, and resolves to its release. One oversized request is let through
 * alone, so nothing waits forever.
 */
export class ByteBudget {
  private readonly limit: number;
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get inFlight(): number {
    return this.used;
  }

  async acquire(n: number): Promise<() => void> {
    while (this.used > 0 && this.used + n > this.limit) await new Promise<void>((wake) => this.waiters.push(wake));
    this.used += n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      for (const wake of this.waiters.splice(0)) wake();
    };
  }
}
