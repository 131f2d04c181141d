/**
 * Ingress, pure parts: the route table every node computes from the
 * deployments (published ports and x-fizz.ingress HTTP routes), conflicts
 * named at both places, least-outstanding balancing with passive ejection,
 * which replicas take traffic and drain rules, the HTTP head and chunked
 * framing a proxy needs, forwarding headers trusted only from configured
 * proxies, PROXY protocol v1/v2, and ACME order ownership and renewal.
 * The listeners and the ACME client are in platform/ingress.
 */
export * from "./address.ts";
export * from "./acme-plan.ts";
export * from "./balancer.ts";
export * from "./chunked.ts";
export * from "./conflicts.ts";
export * from "./drain.ts";
export * from "./forwarded.ts";
export * from "./http-head.ts";
export * from "./http-scan.ts";
export * from "./plan.ts";
export * from "./proxy-protocol.ts";
export * from "./routes.ts";
export * from "./routed.ts";
export * from "./shown-ports.ts";
