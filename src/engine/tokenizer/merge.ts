// The merge loop both BPE flavours share, as llama.cpp runs it: a priority queue of adjacent pairs;
// pop the best, skip it if either side changed since it was queued, merge, queue the new neighbours.
// A long word costs O(n log n), not O(n^2).

/** A binary heap ordered by `before` (true when x should pop before y). */
class Heap<T> {
  private readonly a: T[] = [];
  private readonly before: (x: T, y: T) => boolean;

  constructor(before: (x: T, y: T) => boolean) {
    this.before = before;
  }

  get size(): number { return this.a.length; }

  push(item: T): void {
    const a = this.a;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

interface Pair { left: number; right: number; cost: number; text: string }

/**
 * Merges adjacent symbols while some pair has a cost (`cost(l, r)` undefined: never merge), lowest
 * cost first, leftmost on ties. Returns the surviving symbols in order.
 */
export function mergeSymbols(sym: string[], cost: (left: string, right: string) => number | undefined): string[] {
  const n = sym.length;
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
  const heap = new Heap<Pair>((x, y) => x.cost < y.cost || (x.cost === y.cost && x.left < y.left));
  const tryPair = (l: number, r: number): void => {
    if (l < 0 || r < 0) return;
    const c = cost(sym[l]!, sym[r]!);
    if (c !== undefined) heap.push({ left: l, right: r, cost: c, text: sym[l]! + sym[r]! });
  };
  for (let i = 0; i + 1 < n; i++) tryPair(i, i + 1);
  while (heap.size > 0) {
    const p = heap.pop();
    if (sym[p.left] === '' || next[p.left] !== p.right || sym[p.left]! + sym[p.right]! !== p.text) continue;
    sym[p.left] = p.text;
    sym[p.right] = '';
    const nr = next[p.right]!;
    next[p.left] = nr;
    if (nr >= 0) prev[nr] = p.left;
    tryPair(prev[p.left]!, p.left);
    tryPair(p.left, nr);
  }
  const out: string[] = [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]!) out.push(sym[i]!);
  return out;
}
