/**
 * Every SWIM / Lifeguard / gossip knob in one place, with the default and what
 * it trades. Defaults follow memberlist's LAN profile, tuned so that a
 * 1,000-node cluster detects a crash in ~5 s (Fizz promises state changes in
 * 1–5 s). `lifeguard: false` turns the same code into plain SWIM, the baseline
 * the simulator benches compare against.
 */

export interface SwimConfig {
  /** Lifeguard on (health multiplier, dynamic suspicion, buddy system, nacks). Off = plain SWIM, for baselines. */
  readonly lifeguard: boolean;

  /** Time between failure probes. Lower detects faster; costs ~3 packets/probe per node. */
  readonly probeIntervalMs: number;
  /** Wait for a direct ack before asking k peers to probe indirectly. Must exceed the network RTT (p99), or healthy nodes look slow. */
  readonly probeTimeoutMs: number;
  /** k: peers asked to ping-req an unresponsive node. More peers tolerate more loss, at k×4 packets per failed probe. */
  readonly indirectChecks: number;

  /** memberlist's TCP fallback: also ping over TCP when the direct UDP ping times out. Survives UDP-only loss; costs a connection per failed probe. */
  readonly tcpFallbackProbe: boolean;

  /** α: suspicion lasts at least α·log10(N)·probeInterval. Higher = fewer false deaths, slower detection. */
  readonly suspicionAlpha: number;
  /** β: with Lifeguard the first suspicion lasts β·min and shrinks toward min as independent confirmations arrive. */
  readonly suspicionBeta: number;
  /** Independent confirmations needed to shrink a suspicion to its minimum. Bounded by N-2. */
  readonly suspicionConfirmations: number;

  /** Lifeguard local health: the probe interval/timeout are scaled by (score+1), score in [0, max-1]. */
  readonly awarenessMaxMultiplier: number;

  /** Gossip round period. Lower spreads updates faster, at more packets per second. */
  readonly gossipIntervalMs: number;
  /** Fanout: random peers per gossip round. */
  readonly gossipNodes: number;
  /** λ: each update is transmitted up to λ·ceil(log10(N+1)) times. Higher = surer delivery under loss, more bytes. */
  readonly retransmitMult: number;
  /** How long dead nodes still receive gossip, so a falsely-dead node learns it must refute. */
  readonly gossipToTheDeadMs: number;

  /** Push-pull anti-entropy base period, scaled up with log2(N) beyond 32 nodes (memberlist's pushPullScale). 0 disables. */
  readonly pushPullIntervalMs: number;
  /**
   * Periodic push-pull sends digests first: one 4-byte hash per bucket of the member table, then only the
   * members of differing buckets are compared and exchanged (so a push-pull between agreeing nodes costs the
   * same at any N). More buckets = a smaller difference per mismatch, a bigger opener. 0 = always send the
   * full member digest (memberlist). Joins and reconnects to dead nodes always send the full digest.
   */
  readonly pushPullBuckets: number;

  /** A dead (not left) node is retried with a push-pull this often, so healed partitions merge by themselves. */
  readonly reconnectIntervalMs: number;
  /** Dead nodes are retried, and kept in the member list, for this long. Long = partitions of up to a day heal. */
  readonly reconnectTimeoutMs: number;
  /** Left nodes are remembered this long so stale alive gossip cannot resurrect them. */
  readonly leftTombstoneMs: number;

  /** UDP payload budget: compound packets are filled with piggybacked updates up to this size. */
  readonly maxPacketBytes: number;
  /** Broadcast queue cap: the oldest, most-transmitted updates are dropped beyond it (push-pull repairs). */
  readonly maxQueuedBroadcasts: number;
  /** User payload deduplication window (ids seen recently are not re-delivered or re-forwarded). */
  readonly userDedupMs: number;
}

export const defaultSwimConfig: SwimConfig = {
  lifeguard: true,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  tcpFallbackProbe: true,
  suspicionAlpha: 1,
  suspicionBeta: 6,
  suspicionConfirmations: 2,
  awarenessMaxMultiplier: 8,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  retransmitMult: 4,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  pushPullBuckets: 64,
  reconnectIntervalMs: 15_000,
  reconnectTimeoutMs: 24 * 3600_000,
  leftTombstoneMs: 3600_000,
  maxPacketBytes: 1400,
  maxQueuedBroadcasts: 4096,
  userDedupMs: 120_000,
};

export function swimConfig(overrides: Partial<SwimConfig> = {}): SwimConfig {
  return { ...defaultSwimConfig, ...overrides };
}

/** Suspicion bounds for a cluster of n nodes: min = α·log10(n)·interval, max = β·min. */
export function suspicionBounds(config: SwimConfig, n: number): { minMs: number; maxMs: number } {
  const minMs = config.suspicionAlpha * Math.max(1, Math.log10(Math.max(1, n))) * config.probeIntervalMs;
  return { minMs, maxMs: config.lifeguard ? config.suspicionBeta * minMs : minMs };
}

/** Retransmit limit λ·ceil(log10(n+1)). */
export function retransmitLimit(config: SwimConfig, n: number): number {
  return config.retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** memberlist's pushPullScale: double the period for each doubling beyond 32 nodes. */
export function pushPullInterval(config: SwimConfig, n: number): number {
  if (n <= 32) return config.pushPullIntervalMs;
  const mult = Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
  return config.pushPullIntervalMs * mult;
}
