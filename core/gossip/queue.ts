/**
 * Transmit-limited broadcast queue (memberlist's TransmitLimitedQueue).
 * Each update is piggybacked at most `limit` times (λ·ceil(log10(N+1)), passed
 * by the caller because N changes). Selection order: fewest transmissions
 * first, then most urgent (dead > suspect > alive > user), then newest, so
 * fresh news about failures always gets the first bytes of a packet. A newer
 * update about the same key (node id) replaces the older one.
 */

export interface QueueItem<M> {
  readonly key: string;
  readonly message: M;
  /** Bytes this item adds to a packet. */
  readonly size: number;
  /** Higher is more urgent. */
  readonly priority: number;
  /** Insertion order; larger is newer. */
  readonly id: number;
  transmits: number;
}

export class TransmitLimitedQueue<M> {
  private readonly items = new Map<string, QueueItem<M>>();
  private nextId = 0;

  constructor(private readonly maxItems: number) {}

  get length(): number {
    return this.items.size;
  }

  /** Queue `message` under `key`, replacing any older update with the same key. */
  enqueue(key: string, message: M, size: number, priority: number): void {
    this.items.delete(key);
    this.items.set(key, { key, message, size, priority, id: this.nextId++, transmits: 0 });
    if (this.items.size > this.maxItems) this.evict();
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Remove an update, e.g. when a node was reaped. */
  remove(key: string): void {
    this.items.delete(key);
  }

  /**
   * Take updates that fit in `budget` bytes, counting one transmission for each.
   * Items reaching `limit` transmissions are dropped.
   */
  take(budget: number, limit: number, minSize = 8): M[] {
    if (this.items.size === 0 || budget < minSize) return [];
    const sorted = [...this.items.values()].sort(order);
    const out: M[] = [];
    let left = budget;
    for (const it of sorted) {
      if (left < minSize) break;
      if (it.size > left) continue;
      left -= it.size;
      out.push(it.message);
      it.transmits++;
      if (it.transmits >= limit) this.items.delete(it.key);
    }
    return out;
  }

  /**
   * Updates not sent yet that fit in `budget` bytes (most urgent, then
   * newest first), without counting a transmission: an extra, early copy;
   * the `take` rounds still send each one its `limit` times.
   */
  fresh(budget: number, minSize = 8): M[] {
    const out: M[] = [];
    let left = budget;
    for (const it of [...this.items.values()].filter((i) => i.transmits === 0).sort(order)) {
      if (left < minSize) break;
      if (it.size > left) continue;
      left -= it.size;
      out.push(it.message);
    }
    return out;
  }

  /** Oldest, most-transmitted, least urgent goes first when the queue is full. */
  private evict(): void {
    const sorted = [...this.items.values()].sort(order);
    for (let i = sorted.length - 1; i >= 0 && this.items.size > this.maxItems; i--) {
      this.items.delete((sorted[i] as QueueItem<M>).key);
    }
  }

  /** Snapshot for tests and metrics. */
  snapshot(): readonly QueueItem<M>[] {
    return [...this.items.values()].sort(order);
  }
}

function order<M>(a: QueueItem<M>, b: QueueItem<M>): number {
  return a.transmits - b.transmits || b.priority - a.priority || b.id - a.id;
}
