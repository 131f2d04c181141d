/** GET /healthz, GET /metrics and GET /v1/info: the agent itself. */
import { json, text } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { noQuery } from "./validate.ts";

export interface SystemInfo {
  /** Serves GET /metrics when given. */
  readonly metrics?: { text(): Promise<string>; readonly contentType: string } | undefined;
  /** What GET /v1/info reports (node id, version, engine…). */
  readonly info?: (() => Record<string, unknown>) | undefined;
}

export function systemRoutes(o: SystemInfo): RouteModule {
  return (r) => {
    r.get("/healthz", (c) => {
      noQuery(c);
      return json({ status: "ok" });
    });
    if (o.metrics) {
      const m = o.metrics;
      r.get("/metrics", async (c) => {
        noQuery(c);
        return text(await m.text(), m.contentType);
      });
    }
    r.get("/v1/info", (c) => {
      noQuery(c);
      return json({ api: "v1", ...(o.info ? o.info() : {}) });
    });
  };
}
