import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../src/store/async-utils.ts';

/** Let every queued microtask (and the waiters they wake) run, so "still waiting" means it. */
function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Start acquire(n) and record when it resolves. */
function pending(budget: ByteBudget, n: number): { got: () => (() => void) | undefined; done: Promise<() => void> } {
  let release: (() => void) | undefined;
  const done = budget.acquire(n).then((r) => (release = r));
  return { got: () => release, done };
}

describe('ByteBudget', () => {
  it('grants what fits at once; a request that does not fit waits until a release makes room', async () => {
    const budget = new ByteBudget(10);
    const a = await budget.acquire(4);
    const b = await budget.acquire(6); // exactly full
    expect(budget.inFlight).toBe(10);
    const c = pending(budget, 3);
    await settle();
    expect(c.got()).toBeUndefined();
    expect(budget.inFlight).toBe(10);
    a(); // 4 free: 3 fits
    await c.done;
    expect(budget.inFlight).toBe(9);
    b();
    c.got()!();
    expect(budget.inFlight).toBe(0);
  });

  it('a release wakes every waiter: those that now fit go, the others wait again', async () => {
    const budget = new ByteBudget(10);
    const first = await budget.acquire(10);
    const w1 = pending(budget, 5);
    const w2 = pending(budget, 5);
    const w3 = pending(budget, 5);
    await settle();
    expect([w1.got(), w2.got(), w3.got()]).toEqual([undefined, undefined, undefined]);
    first();
    await settle();
    const granted = [w1, w2, w3].filter((w) => w.got() !== undefined);
    expect(granted).toHaveLength(2);
    expect(budget.inFlight).toBe(10);
    granted[0]!.got()!();
    await settle();
    expect([w1, w2, w3].every((w) => w.got() !== undefined)).toBe(true);
    expect(budget.inFlight).toBe(10);
  });

  it('lets one oversized request through alone: not while others hold bytes, and nothing joins it', async () => {
    const budget = new ByteBudget(10);
    const small = await budget.acquire(2);
    const big = pending(budget, 25);
    await settle();
    expect(big.got()).toBeUndefined(); // 2 + 25 > 10 and the budget is not empty
    small();
    await big.done;
    expect(budget.inFlight).toBe(25);
    const next = pending(budget, 1);
    await settle();
    expect(next.got()).toBeUndefined(); // the oversized one is alone
    big.got()!();
    await next.done;
    expect(budget.inFlight).toBe(1);
    // Empty budget: an oversized request is granted at once (nothing waits forever).
    next.got()!();
    const alone = await budget.acquire(1000);
    expect(budget.inFlight).toBe(1000);
    alone();
  });

  it('release is idempotent: a second call frees nothing more and lets nobody extra in', async () => {
    const budget = new ByteBudget(10);
    const a = await budget.acquire(6);
    const b = await budget.acquire(4);
    a();
    a();
    expect(budget.inFlight).toBe(4);
    const w = pending(budget, 7);
    a(); // still nothing: 4 + 7 > 10
    await settle();
    expect(w.got()).toBeUndefined();
    expect(budget.inFlight).toBe(4);
    b();
    await w.done;
    b();
    expect(budget.inFlight).toBe(7);
  });
});
