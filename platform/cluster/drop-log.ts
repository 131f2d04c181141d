/**
 * Rate-limited warnings for cluster datagrams the transport refused (a peer
 * sealing with a key this node lacks, a forged or damaged packet): the first
 * from a peer for a reason is logged at once, then at most one line per
 * `everyMs` with how many were dropped since. A lost piggybacked update is
 * repaired by push-pull only after up to 30 s, so the cause should be visible
 * in the log, as memberlist's "failed to decrypt packet" is.
 */
export class DropLog {
  private readonly seen = new Map<string, { lastMs: number; since: number }>();

  constructor(
    private readonly now: () => number,
    private readonly warn: (obj: Record<string, unknown>, msg: string) => void,
    private readonly everyMs = 30_000,
    private readonly maxPeers = 1024,
  ) {}

  note(reason: string, from: string): void {
    const key = `${reason}|${from}`;
    const t = this.now();
    const s = this.seen.get(key);
    if (s !== undefined && t - s.lastMs < this.everyMs) {
      s.since++;
      return;
    }
    const dropped = (s?.since ?? 0) + 1;
    if (s === undefined && this.seen.size >= this.maxPeers) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { lastMs: t, since: 0 });
    this.warn({ from, reason, dropped }, `dropped ${dropped} cluster packet(s) from ${from}: ${reason}`);
  }
}
