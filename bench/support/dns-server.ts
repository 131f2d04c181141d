/**
 * Fizz's cluster resolver in its own process, for bench/dns.ts: the table of
 * `SERVICES` services × 3 replicas in project "bench" (what dnsmasq is given
 * as a hosts file), listening on 127.0.0.1:PORT. Prints "ready impl=<UDP implementation>"
 * when it serves. Runs under Bun (FIZZ_DNS_SOCKETS=node for node:dgram) and Deno.
 * Queries are counted by the server's own counters only (no onQuery
 * callback): the cost of metrics per query is measured separately
 * (docs/ENGINEERING.md).
 */
import { answerQuery } from "../../core/net/dns-answer.ts";
import { buildDnsTable, type DnsEndpoint } from "../../core/net/dns-records.ts";
import { DnsServer } from "../../platform/dns/index.ts";
import { benchEndpoints } from "./dns-names.ts";

const port = Number(process.argv[2]);
const table = buildDnsTable(benchEndpoints() as DnsEndpoint[]);
const server = await DnsServer.start({ listen: [{ host: "127.0.0.1", port }], decide: (q, ctx) => answerQuery(table, q, ctx), tableVersion: () => table, upstreams: () => [] });
console.log(`ready impl=${server.udpImplementations().join(",")}`);
