/**
 * Least-outstanding-requests balancing over one route's replicas, with
 * passive ejection. The proxy calls `pick` for each request (or connection),
 * then `finish` with the outcome; a replica that refuses a connection is
 * ejected at once, one whose requests fail `failuresToEject` times in a row is
 * ejected too, for `ejectBaseMs` doubling per repeat up to `ejectMaxMs`. Ties
 * rotate, so equal replicas share the load. Draining replicas get nothing new
 * but their outstanding count is kept, which is what drain waits on.
 *
 * Mutable (it is per-request hot state) but pure: time comes in as `now`.
 */

export interface BalancerConfig {
  /** Failed requests in a row that eject a replica (a refused connection ejects at once). */
  readonly failuresToEject: number;
  /** First ejection period; doubles with each ejection in a row. */
  readonly ejectBaseMs: number;
  readonly ejectMaxMs: number;
}

export const DEFAULT_BALANCER: BalancerConfig = { failuresToEject: 3, ejectBaseMs: 2_000, ejectMaxMs: 30_000 };

export type BackendState = "ready" | "draining";

export interface BackendSpec<T> {
  /** Stable identity of the replica (deployment/service/index/node). */
  readonly key: string;
  readonly state: BackendState;
  /** What the proxy needs to reach it (address, port, …). */
  readonly target: T;
}

export interface Backend<T> {
  readonly key: string;
  state: BackendState;
  target: T;
  outstanding: number;
  failures: number;
  ejections: number;
  ejectedUntil: number;
  /** Present in the last setBackends; a removed backend lingers while requests are outstanding. */
  present: boolean;
}

export type Outcome = "ok" | "failed" | "refused";

export class Balancer<T> {
  private list: Backend<T>[] = [];
  private byKey = new Map<string, Backend<T>>();
  private cursor = 0;

  constructor(private readonly cfg: BalancerConfig = DEFAULT_BALANCER) {}

  /** Replaces the replica set, keeping the counters of replicas that stay. */
  setBackends(specs: readonly BackendSpec<T>[]): void {
    const next: Backend<T>[] = [];
    const seen = new Set<string>();
    for (const s of specs) {
      if (seen.has(s.key)) continue;
      seen.add(s.key);
      const b = this.byKey.get(s.key) ?? { key: s.key, state: s.state, target: s.target, outstanding: 0, failures: 0, ejections: 0, ejectedUntil: 0, present: true };
      b.state = s.state;
      b.target = s.target;
      b.present = true;
      next.push(b);
    }
    // Removed replicas with requests in flight stay (as draining) so finish() still counts them.
    for (const b of this.list) {
      if (!seen.has(b.key) && b.outstanding > 0) {
        b.state = "draining";
        b.present = false;
        next.push(b);
      }
    }
    this.list = next;
    this.byKey = new Map(next.map((b) => [b.key, b]));
  }

  backends(): readonly Backend<T>[] {
    return this.list;
  }

  get(key: string): Backend<T> | undefined {
    return this.byKey.get(key);
  }

  /** Replicas that could take a request now (ready and not ejected). */
  available(now: number): number {
    let n = 0;
    for (const b of this.list) if (b.state === "ready" && b.ejectedUntil <= now) n++;
    return n;
  }

  /** Ready replicas, ejected or not. */
  ready(): number {
    let n = 0;
    for (const b of this.list) if (b.state === "ready") n++;
    return n;
  }

  /**
   * The ready, non-ejected replica with the fewest outstanding requests, not
   * in `exclude`. When every ready replica is ejected, the one whose ejection
   * ends first (better a replica that may have recovered than no answer).
   */
  pick(now: number, exclude?: readonly string[]): Backend<T> | undefined {
    const n = this.list.length;
    if (n === 0) return undefined;
    let best: Backend<T> | undefined;
    let fallback: Backend<T> | undefined;
    const start = this.cursor++ % n;
    for (let k = 0; k < n; k++) {
      const b = this.list[(start + k) % n]!;
      if (b.state !== "ready" || (exclude !== undefined && exclude.length > 0 && exclude.includes(b.key))) continue;
      if (b.ejectedUntil > now) {
        if (!fallback || b.ejectedUntil < fallback.ejectedUntil) fallback = b;
        continue;
      }
      if (!best || b.outstanding < best.outstanding) best = b;
    }
    return best ?? fallback;
  }

  start(b: Backend<T>): void {
    b.outstanding++;
  }

  finish(b: Backend<T>, outcome: Outcome, now: number): void {
    if (b.outstanding > 0) b.outstanding--;
    if (outcome === "ok") {
      b.failures = 0;
      b.ejections = 0;
    } else {
      b.failures++;
      if (outcome === "refused" || b.failures >= this.cfg.failuresToEject) {
        const period = Math.min(this.cfg.ejectMaxMs, this.cfg.ejectBaseMs * 2 ** Math.min(b.ejections, 20));
        b.ejectedUntil = now + period;
        b.ejections++;
        b.failures = 0;
      }
    }
    if (!b.present && b.outstanding === 0) this.forget(b);
  }

  /** Drops a removed replica once its last request is done (apart from finish, which runs per request, so that finish makes no closure). */
  private forget(b: Backend<T>): void {
    this.list = this.list.filter((x) => x !== b);
    this.byKey.delete(b.key);
  }

  /** Requests in flight to a replica (0 when unknown): what draining waits on. */
  outstanding(key: string): number {
    return this.byKey.get(key)?.outstanding ?? 0;
  }
}
