/**
 * Lifeguard's local health multiplier (LHM). A node that misses acks, misses
 * nacks from its relays or has to refute suspicions about itself is probably
 * the slow one; it raises its score and so waits (score+1)× longer for acks
 * and probes less often, instead of accusing healthy peers. With Lifeguard
 * off the score stays 0.
 */
export class Awareness {
  private value = 0;

  constructor(
    private readonly max: number,
    private readonly enabled: boolean,
  ) {}

  get score(): number {
    return this.value;
  }

  applyDelta(delta: number): void {
    if (!this.enabled) return;
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
  }

  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
