/**
 * Ingress metrics, registered on the agent's registry: per route (a
 * service's target, `project/service:port`, a bounded set) requests by status
 * class, a latency histogram, upstream errors and retries, and TCP
 * connections by outcome, and ACME challenges answered. Children are cached per label set, so the hot path
 * costs a map lookup and an observe.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { ExchangeRecord } from "./http-proxy.ts";

export interface IngressMetrics {
  recordHttp(r: ExchangeRecord): void;
  recordTcp(r: { route: string; ok: boolean; retries: number; seconds: number }): void;
  /** An ACME HTTP-01 challenge answered from the cluster's pending tokens. */
  recordChallenge(): void;
}

function codeClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

export function createIngressMetrics(registry: Registry): IngressMetrics {
  const requests = new Counter({ name: "fizz_ingress_requests_total", help: "HTTP requests through the ingress, by route and status class", labelNames: ["route", "code"], registers: [registry] });
  const duration = new Histogram({
    name: "fizz_ingress_request_duration_seconds",
    help: "HTTP request latency through the ingress (first byte in to last byte out), by route",
    labelNames: ["route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const upstreamErrors = new Counter({ name: "fizz_ingress_upstream_errors_total", help: "Failed upstream attempts (connect failures, early closes, bad responses), by route", labelNames: ["route"], registers: [registry] });
  const retries = new Counter({ name: "fizz_ingress_retries_total", help: "Requests or connections retried on another replica, by route", labelNames: ["route"], registers: [registry] });
  const challenges = new Counter({ name: "fizz_ingress_acme_challenges_total", help: "ACME HTTP-01 challenges this node answered from the cluster's pending tokens", registers: [registry] });
  const tcp = new Counter({ name: "fizz_ingress_tcp_connections_total", help: "TCP ingress connections by route and outcome", labelNames: ["route", "result"], registers: [registry] });
  const reqChildren = new Map<string, ReturnType<typeof requests.labels>>();
  const durChildren = new Map<string, ReturnType<typeof duration.labels>>();
  return {
    recordHttp(r) {
      const k = `${r.route}\u0000${r.status}`;
      let c = reqChildren.get(k);
      if (!c) reqChildren.set(k, (c = requests.labels(r.route, codeClass(r.status))));
      c.inc();
      let d = durChildren.get(r.route);
      if (!d) durChildren.set(r.route, (d = duration.labels(r.route)));
      d.observe(r.seconds);
      if (r.upstreamErrors > 0) upstreamErrors.labels(r.route).inc(r.upstreamErrors);
      if (r.retries > 0) retries.labels(r.route).inc(r.retries);
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
