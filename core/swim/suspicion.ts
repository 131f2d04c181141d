/**
 * Lifeguard dynamic suspicion (memberlist's suspicion.go). A suspicion starts
 * at maxMs and shrinks toward minMs as independent peers confirm it:
 *   timeout = max(min, max − (max − min)·log(C+1)/log(K+1))
 * where C is the number of distinct confirmers (other than the first accuser)
 * and K the number expected. With K = 0 (plain SWIM, or tiny clusters) the
 * timeout is simply minMs. Pure data: the node checks `deadlineMs` on tick.
 */
export class Suspicion {
  private readonly confirmers = new Set<string>();
  deadlineMs: number;

  constructor(
    readonly node: string,
    readonly incarnation: number,
    readonly from: string,
    readonly startMs: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly k: number,
  ) {
    this.confirmers.add(from);
    this.deadlineMs = startMs + (k < 1 ? minMs : maxMs);
  }

  /** Timeout (from start) after `n` confirmations. */
  static timeout(minMs: number, maxMs: number, k: number, n: number): number {
    if (k < 1) return minMs;
    const frac = Math.log(n + 1) / Math.log(k + 1);
    return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
  }

  get confirmations(): number {
    return this.confirmers.size - 1;
  }

  /** Record an independent confirmation; true if it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.k < 1 || this.confirmations >= this.k || this.confirmers.has(from)) return false;
    this.confirmers.add(from);
    this.deadlineMs = this.startMs + Suspicion.timeout(this.minMs, this.maxMs, this.k, this.confirmations);
    return true;
  }
}
