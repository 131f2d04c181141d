/**
 * Serialises changes per key (deployment name): two `fizz up` for the same
 * deployment run one after the other instead of interleaving their plans;
 * different deployments proceed in parallel.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a change running or queued (for tests and diagnostics). */
  get busy(): number {
    return this.tails.size;
  }
}
