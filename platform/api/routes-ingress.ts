/** GET /v1/ingress: what this node's ingress listens on, routes, and to which replicas (fizz ingress, fizz why). */
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { noQuery } from "./validate.ts";

export interface IngressApi {
  /** The node's ingress view, JSON-serialisable. */
  ingressStatus(): unknown;
}

export function ingressRoutes(api: IngressApi): RouteModule {
  return (r) => {
    r.get("/v1/ingress", (c) => {
      noQuery(c);
      return json(api.ingressStatus());
    });
  };
}
