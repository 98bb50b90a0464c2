// The control block the WASM worker threads and the caller share (Int32 slots in the shared
// memory): pool.ts writes a job and bumps `gen`; each thread (thread.ts) runs its rows and
// decrements `pending`. Rows [floor(i*nOut/n), floor((i+1)*nOut/n)) are thread i's, 0 the caller's.
export const CTL = { gen: 0, pending: 1, stop: 2, failed: 3, type: 4, w: 5, x: 6, y: 7, nIn: 8, nOut: 9, nTok: 10, nThreads: 11, words: 16 } as const;

/** Thread i's rows of n, of t threads. */
export function threadRows(i: number, n: number, t: number): [number, number] {
  return [Math.floor((i * n) / t), Math.floor(((i + 1) * n) / t)];
}
