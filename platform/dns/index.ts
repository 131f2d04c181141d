/**
 * The cluster resolver's network side: UDP + TCP sockets on the node's
 * listen addresses, answering through core/net's DNS table and forwarding
 * the rest to the node's upstream resolvers with a bounded deadline; its
 * query counter for the metrics endpoint.
 */
export { DnsServer, TABLE_CHECK_MS, type DnsCounters, type DnsListen, type DnsServerOptions } from "./server.ts";
export { newDnsQueryCounts, type DnsOutcome, type DnsQueryCounts, type DnsTransport } from "./server.ts";
export { udpImplementation, type UdpImplementation } from "./udp.ts";
export { dnsQueryMetric, DNS_QUERIES_METRIC } from "./metrics.ts";
export { upstreamSource } from "./upstreams.ts";
