/**
 * Binary min-heap of simulator events ordered by (time, insertion sequence),
 * so events at the same virtual instant run in a deterministic order.
 */
export interface Timed {
  t: number;
  seq: number;
}

export class EventHeap<E extends Timed> {
  private readonly items: E[] = [];

  get size(): number {
    return this.items.length;
  }

  push(e: E): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, a[p] as E)) break;
      a[i] = a[p] as E;
      i = p;
    }
    a[i] = e;
  }

  peek(): E | undefined {
    return this.items[0];
  }

  pop(): E | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(a[r] as E, a[l] as E) ? r : l;
      if (!less(a[c] as E, last)) break;
      a[i] = a[c] as E;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function less(x: Timed, y: Timed): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}
