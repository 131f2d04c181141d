/**
 * The agent's REST API (JSON, versioned under /v1, Server-Sent Events for
 * the event log, NDJSON for logs) on node:http: a unix socket by default and
 * optionally TCP with a bearer token and TLS. `createRoutes` turns an
 * `AgentBackend` (the seam to the engine side) plus the event feed into a
 * router; `createApiServer` serves it with limits, JSON errors and metrics.
 * `client.ts` is the CLI's side of the same contract.
 *
 * Each resource's routes are a module in routes-<resource>.ts; the agent's
 * composition root (cmd/agent-root.ts) mounts its controllers' modules:
 *   const router = mountRoutes([systemRoutes({ metrics, info }), eventRoutes(events), ...controllers.routes()]);
 *   const server = createApiServer({ router, token, tls, logger, metrics });
 *   await server.listen(parseApiAddress("unix:/run/fizz/fizz.sock"));
 */
export { createApiServer, DEFAULT_LIMITS, type ApiServer, type ApiServerOptions, type ApiLimits, type TlsFiles } from "./server.ts";
export { createRoutes, mountRoutes, type RouteModule, type RoutesOptions } from "./routes.ts";
export { parseDeploymentInput } from "./deployment-input.ts";
export { systemRoutes, type SystemInfo } from "./routes-system.ts";
export { deploymentRoutes } from "./routes-deployments.ts";
export { containerRoutes } from "./routes-containers.ts";
export { eventRoutes } from "./routes-events.ts";
export { clusterRoutes } from "./routes-cluster.ts";
export type * from "./cluster-api.ts";
export { Router, type Method, type RouteInfo } from "./router.ts";
export { EventFeed, matchesFilter, type EventFilter, type EventLog } from "./events.ts";
export { json, text, empty, sse, stream, type Reply, type RequestContext, type Handler, type SseMessage } from "./reply.ts";
export { httpError, errorReply, type ErrorBody } from "./errors.ts";
export type { Listening } from "./listen.ts";
export type * from "./backend.ts";
