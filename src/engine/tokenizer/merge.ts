// A binary heap ordered by a caller's `before` (true when a should pop before b). Both BPE flavours
// merge by priority queue, as llama.cpp does, so a long word costs O(n log n), not O(n^2).
export class Heap<T> {
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
