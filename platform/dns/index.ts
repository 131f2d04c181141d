/**
 * The cluster resolver's network side: UDP + TCP sockets on the node's
 * listen addresses, answering through core/net's DNS table and forwarding
 * the rest to the node's upstream resolvers with a bounded deadline.
 */
export { DnsServer, type DnsCounters, type DnsListen, type DnsServerOptions } from "./server.ts";
