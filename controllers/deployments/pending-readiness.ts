/**
 * Work a container must wait for before it starts but not before it is
 * created (the mesh routing a new network's bridge, the resolver listening on
 * its gateway): begun when the container's creation begins, so both run at
 * once, and awaited by its start. A container whose start never comes (its
 * creation failed) leaves an entry behind; the oldest are dropped past `max`,
 * and a start that finds none waits for nothing, as one of a container
 * created by an earlier pass does.
 */
export class PendingReadiness {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly max = 256) {}

  /** `work` for `container`'s start to wait on (its failure fails that start, not this call). */
  add(container: string, work: Promise<void>): void {
    work.catch(() => undefined);
    this.pending.delete(container);
    this.pending.set(container, work);
    while (this.pending.size > this.max) this.pending.delete(this.pending.keys().next().value!);
  }

  /** Resolves when `container`'s pending work is done (rejects if it failed); at once when there is none. */
  take(container: string): Promise<void> {
    const work = this.pending.get(container);
    this.pending.delete(container);
    return work ?? Promise.resolve();
  }

  get size(): number {
    return this.pending.size;
  }
}
