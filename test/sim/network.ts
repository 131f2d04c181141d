/**
 * The simulated network and CPU: one-way latency (base + exponential jitter),
 * loss, duplication, reordering (an extra random delay on some packets),
 * partitions (nodes in different groups cannot talk, UDP or TCP), and
 * CPU-starved nodes whose receive path stalls for random periods: timers keep
 * firing (and time out) while inbound packets wait, which is how a starved
 * process sees the world — the case Lifeguard was designed for. All
 * randomness comes from the simulation's seeded Rng.
 */
import type { Rng } from "../../core/random.ts";

export interface NetworkOptions {
  /** Fixed part of one-way latency. */
  readonly latencyMs: number;
  /** Mean of the exponential jitter added to each packet. */
  readonly jitterMs: number;
  /** Probability a UDP packet is lost. */
  readonly loss: number;
  /** Probability a UDP packet is delivered twice. */
  readonly duplicate: number;
  /** Probability a packet gets an extra delay of up to `reorderDelayMs` (so it overtakes / is overtaken). */
  readonly reorder: number;
  readonly reorderDelayMs: number;
}

export const defaultNetwork: NetworkOptions = {
  latencyMs: 1,
  jitterMs: 2,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 50,
};

export interface StarveOptions {
  /** Time a starved node runs between stalls: uniform in [min, max]. */
  readonly runMs: readonly [number, number];
  /** Length of each stall: uniform in [min, max]. */
  readonly stallMs: readonly [number, number];
}

export const defaultStarve: StarveOptions = { runMs: [200, 1500], stallMs: [300, 2500] };

export class Network {
  options: NetworkOptions;
  /** Partition group per node; nodes talk only within a group. */
  readonly group: Int32Array;

  constructor(
    n: number,
    options: Partial<NetworkOptions>,
    private readonly rng: Rng,
  ) {
    this.options = { ...defaultNetwork, ...options };
    this.group = new Int32Array(n);
  }

  get partitioned(): boolean {
    for (let i = 1; i < this.group.length; i++) if (this.group[i] !== this.group[0]) return true;
    return false;
  }

  connected(a: number, b: number): boolean {
    return this.group[a] === this.group[b];
  }

  /** Delivery delays for one UDP packet: [] if lost, two entries if duplicated. */
  udpDelays(): number[] {
    const o = this.options;
    if (o.loss > 0 && this.rng.next() < o.loss) return [];
    const first = this.delay();
    if (o.duplicate > 0 && this.rng.next() < o.duplicate) return [first, this.delay()];
    return [first];
  }

  /** TCP: reliable while connected; latency only. */
  streamDelay(): number {
    return this.delay();
  }

  private delay(): number {
    const o = this.options;
    let d = o.latencyMs + (o.jitterMs > 0 ? -Math.log(1 - this.rng.next()) * o.jitterMs : 0);
    if (o.reorder > 0 && this.rng.next() < o.reorder) d += this.rng.next() * o.reorderDelayMs;
    return d;
  }
}

/** Per-node stall schedule for a CPU-starved node, generated lazily as time advances. */
export class Stalls {
  private start: number;
  private end: number;

  constructor(
    private readonly opts: StarveOptions,
    private readonly rng: Rng,
    fromMs: number,
  ) {
    this.start = fromMs + this.uniform(opts.runMs);
    this.end = this.start + this.uniform(opts.stallMs);
  }

  /** If the node is stalled at `t`, when the stall ends; otherwise undefined. */
  stalledUntil(t: number): number | undefined {
    while (t >= this.end) {
      this.start = this.end + this.uniform(this.opts.runMs);
      this.end = this.start + this.uniform(this.opts.stallMs);
    }
    return t >= this.start ? this.end : undefined;
  }

  private uniform([lo, hi]: readonly [number, number]): number {
    return lo + this.rng.next() * (hi - lo);
  }
}
