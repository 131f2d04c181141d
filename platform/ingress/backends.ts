/**
 * The live replica set of one ingress target (a service's container port):
 * the balancer over it, and the requests or connections waiting for a ready
 * replica (woken when the set changes, failed when their bound passes).
 */
import { Balancer, type BackendSpec, type BalancerConfig } from "../../core/ingress/balancer.ts";
import type { Upstream } from "./upstream-pool.ts";

export class BackendSet {
  readonly balancer: Balancer<Upstream>;
  private waiters = new Set<() => void>();
  /** What a route lookup returns for this set, made once (it is needed per request). */
  readonly hit: { readonly backends: BackendSet; readonly route: string };

  constructor(
    /** Metrics label and what `fizz why` prints: project/service:port. */
    readonly label: string,
    cfg?: BalancerConfig,
  ) {
    this.balancer = new Balancer<Upstream>(cfg);
    this.hit = { backends: this, route: label };
  }

  update(specs: readonly BackendSpec<Upstream>[]): void {
    this.balancer.setBackends(specs);
    if (this.balancer.ready() > 0) this.wake();
  }

  /** Calls `ready` when a replica may be available, or `expired` after waitMs; returns a cancel. */
  wait(waitMs: number, ready: () => void, expired: () => void): () => void {
    let done = false;
    const fire = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.waiters.delete(fire);
      ready();
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      this.waiters.delete(fire);
      expired();
    }, waitMs);
    this.waiters.add(fire);
    return () => {
      done = true;
      clearTimeout(timer);
      this.waiters.delete(fire);
    };
  }

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  waiting(): number {
    return this.waiters.size;
  }
}
