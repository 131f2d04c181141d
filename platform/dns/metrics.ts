/**
 * fizz_dns_queries_total{outcome,transport} read from the resolver's plain
 * counters when metrics are scraped, rather than incremented per query (a
 * labelled prom-client `inc` costs about as much as answering a query from
 * the cache: docs/ENGINEERING.md). Give every DnsServer the same
 * `DnsQueryCounts` (the `counts` option) and register this once.
 */
import { Counter, type Registry } from "prom-client";
import type { DnsCounters, DnsOutcome, DnsQueryCounts, DnsTransport } from "./server.ts";

const FIELDS: readonly (readonly [DnsOutcome, keyof DnsCounters])[] = [
  ["answered", "answered"],
  ["forwarded", "forwarded"],
  ["forward_failed", "forwardFailed"],
  ["dropped", "dropped"],
  ["truncated", "truncated"],
];

export const DNS_QUERIES_METRIC = "fizz_dns_queries_total";

export function dnsQueryMetric(registry: Registry, counts: DnsQueryCounts): Counter<"outcome" | "transport"> {
  if (registry.getSingleMetric(DNS_QUERIES_METRIC)) registry.removeSingleMetric(DNS_QUERIES_METRIC);
  const seen = new Map<string, number>();
  return new Counter({
    name: DNS_QUERIES_METRIC,
    help: "Queries the cluster resolver handled, by outcome (answered, forwarded, forward_failed, dropped, truncated) and transport",
    labelNames: ["outcome", "transport"] as const,
    registers: [registry],
    collect() {
      for (const transport of ["udp", "tcp"] as const satisfies readonly DnsTransport[]) {
        for (const [outcome, field] of FIELDS) {
          const k = `${outcome}/${transport}`;
          const now = counts[transport][field];
          const delta = now - (seen.get(k) ?? 0);
          seen.set(k, now);
          // Every series exists from the first scrape (a 0 is a fact, too).
          this.inc({ outcome, transport }, delta > 0 ? delta : 0);
        }
      }
    },
  });
}
