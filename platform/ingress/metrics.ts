/**
 * Ingress metrics, registered on the agent's registry: per route (a
 * service's target, `project/service:port`, a bounded set) requests by status
 * class, a latency histogram, upstream errors and retries, and TCP
 * connections by outcome, and ACME challenges answered.
 *
 * The per-request path adds to plain numbers kept per route; prom-client
 * sees them only when /metrics is read (counters through their collect hook,
 * the histogram as a metric whose get() reports the kept buckets). A
 * prom-client child's inc()/observe() validates and hashes its labels on
 * every call: 1.2-3 us per request here (of ~14 us for the whole proxied
 * exchange), against a few array adds now.
 */
import { Counter, type Registry } from "prom-client";
import type { ExchangeRecord } from "./http-proxy.ts";

export interface IngressMetrics {
  recordHttp(r: ExchangeRecord): void;
  recordTcp(r: { route: string; ok: boolean; retries: number; seconds: number }): void;
  /** An ACME HTTP-01 challenge answered from the cluster's pending tokens. */
  recordChallenge(): void;
}

const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"] as const;

function classIndex(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
}

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One route's numbers: counter deltas not yet given to prom-client, and the histogram's totals. */
interface RouteStats {
  readonly codes: number[];
  upstreamErrors: number;
  retries: number;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** The latency histogram as prom-client's registry reads a metric (name, help, type, get()). */
class LatencyHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly stats: Map<string, RouteStats>,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] } {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const [route, s] of this.stats) {
      if (s.count === 0) continue;
      let acc = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, route }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf", route }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { route }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { route }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.stats.values()) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

export function createIngressMetrics(registry: Registry): IngressMetrics {
  const stats = new Map<string, RouteStats>();
  const routeStats = (route: string): RouteStats => {
    let s = stats.get(route);
    if (!s) stats.set(route, (s = { codes: CLASSES.map(() => 0), upstreamErrors: 0, retries: 0, buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }));
    return s;
  };
  new Counter({
    name: "fizz_ingress_requests_total",
    help: "HTTP requests through the ingress, by route and status class",
    labelNames: ["route", "code"],
    registers: [registry],
    collect() {
      for (const [route, s] of stats) {
        s.codes.forEach((n, i) => {
          if (n > 0) this.labels(route, CLASSES[i]!).inc(n);
          s.codes[i] = 0;
        });
      }
    },
  });
  registry.registerMetric(
    new LatencyHistogram("fizz_ingress_request_duration_seconds", "HTTP request latency through the ingress (first byte in to last byte out), by route", stats) as unknown as Parameters<Registry["registerMetric"]>[0],
  );
  new Counter({
    name: "fizz_ingress_upstream_errors_total",
    help: "Failed upstream attempts (connect failures, early closes, bad responses), by route",
    labelNames: ["route"],
    registers: [registry],
    collect() {
      for (const [route, s] of stats) {
        if (s.upstreamErrors > 0) this.labels(route).inc(s.upstreamErrors);
        s.upstreamErrors = 0;
      }
    },
  });
  const retries = new Counter({
    name: "fizz_ingress_retries_total",
    help: "Requests or connections retried on another replica, by route",
    labelNames: ["route"],
    registers: [registry],
    collect() {
      for (const [route, s] of stats) {
        if (s.retries > 0) this.labels(route).inc(s.retries);
        s.retries = 0;
      }
    },
  });
  const challenges = new Counter({ name: "fizz_ingress_acme_challenges_total", help: "ACME HTTP-01 challenges this node answered from the cluster's pending tokens", registers: [registry] });
  const tcp = new Counter({ name: "fizz_ingress_tcp_connections_total", help: "TCP ingress connections by route and outcome", labelNames: ["route", "result"], registers: [registry] });
  return {
    recordHttp(r) {
      const s = routeStats(r.route);
      s.codes[classIndex(r.status)]!++;
      let i = 0;
      while (i < LATENCY_BUCKETS.length && r.seconds > LATENCY_BUCKETS[i]!) i++;
      s.buckets[i]!++;
      s.sum += r.seconds;
      s.count++;
      if (r.upstreamErrors > 0) s.upstreamErrors += r.upstreamErrors;
      if (r.retries > 0) s.retries += r.retries;
    },
    recordChallenge() {
      challenges.inc();
    },
    recordTcp(r) {
      tcp.labels(r.route, r.ok ? "ok" : "failed").inc();
      if (r.retries > 0) retries.labels(r.route).inc(r.retries);
    },
  };
}
