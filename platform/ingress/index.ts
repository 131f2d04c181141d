/**
 * Ingress, platform half: the listeners every node runs for the route table
 * of core/ingress (HTTP/1.x reverse proxy with keep-alive upstream pools,
 * HTTPS by SNI, TCP splicing with PROXY protocol, UDP flows), the replica
 * sets they balance over, the certificate store, ACME against a directory
 * (acme.ts), and ingress metrics. Policy (what to route where, who orders a
 * certificate) comes from core/ingress; the agent's ingress controller wires
 * the two.
 */
export { IngressServer, targetKey, type IngressPlan, type IngressServerOptions, type ListenerProblem } from "./server.ts";
export { CertStore, certInfo, type CertInfo } from "./certs.ts";
export { createIngressMetrics, type IngressMetrics } from "./metrics.ts";
export { socketImpl } from "./sockets.ts";
export type { Upstream } from "./upstream-pool.ts";
