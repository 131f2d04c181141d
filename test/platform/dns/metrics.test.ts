/** fizz_dns_queries_total is read from the servers' shared counts at scrape time, monotonic across scrapes. */
import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { dnsQueryMetric, newDnsQueryCounts } from "../../../platform/dns/index.ts";

const value = (text: string, outcome: string, transport: string) => Number(new RegExp(`fizz_dns_queries_total\\{outcome="${outcome}",transport="${transport}"\\} (\\d+)`).exec(text)?.[1]);

describe("dns query metric", () => {
  test("every outcome and transport is a series from the first scrape; later scrapes add what was counted since", async () => {
    const registry = new Registry();
    const counts = newDnsQueryCounts();
    dnsQueryMetric(registry, counts);
    let text = await registry.metrics();
    for (const o of ["answered", "forwarded", "forward_failed", "dropped", "truncated"]) for (const t of ["udp", "tcp"]) expect(value(text, o, t)).toBe(0);
    counts.udp.answered += 1000;
    counts.tcp.forwardFailed += 2;
    text = await registry.metrics();
    expect(value(text, "answered", "udp")).toBe(1000);
    expect(value(text, "forward_failed", "tcp")).toBe(2);
    counts.udp.answered += 5;
    text = await registry.metrics();
    expect(value(text, "answered", "udp")).toBe(1005);
    expect(value(text, "forward_failed", "tcp")).toBe(2);
    // Registering again (an agent restarting its controllers in-process) replaces the series.
    dnsQueryMetric(registry, counts);
    expect(value(await registry.metrics(), "answered", "udp")).toBe(1005);
  });
});
