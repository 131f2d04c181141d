/** GET /v1/events: the event log as Server-Sent Events, resumable by id (`fizz events`, `fizz up` progress). */
import type { EventFeed, EventFilter } from "./events.ts";
import { httpError } from "./errors.ts";
import { mapAsync } from "./logs-reply.ts";
import { sse, type SseMessage } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { checkQuery, containerRef, deploymentName, queryBool, queryInt, serviceName } from "./validate.ts";

export function eventRoutes(events: EventFeed): RouteModule {
  return (r) => {
    r.get("/v1/events", (c) => {
      checkQuery(c.query, ["type", "deployment", "service", "container", "since", "follow"], ["type"]);
      const types = c.query
        .getAll("type")
        .flatMap((t) => t.split(","))
        .map((t) => t.trim())
        .filter((t) => t !== "");
      for (const t of types) if (!/^[a-z0-9_.-]{1,64}(\.\*)?$/.test(t)) throw httpError(400, "api.bad_query", `bad event type filter '${t.slice(0, 40)}'`);
      const filter: { -readonly [K in keyof EventFilter]: EventFilter[K] } = {};
      if (types.length) filter.types = types;
      const d = c.query.get("deployment");
      const s = c.query.get("service");
      const ct = c.query.get("container");
      if (d !== null) filter.deployment = deploymentName(d);
      if (s !== null) filter.service = serviceName(s);
      if (ct !== null) filter.container = containerRef(ct);
      // An EventSource reconnecting sends Last-Event-ID; it wins over the ?since= of the original URL.
      const lastId = c.headers["last-event-id"];
      let after = queryInt(c.query, "since", 0, Number.MAX_SAFE_INTEGER) ?? 0;
      if (typeof lastId === "string" && lastId !== "") {
        if (!/^\d{1,15}$/.test(lastId)) throw httpError(400, "api.bad_request", "Last-Event-ID must be an event id (a non-negative integer)");
        after = Number(lastId);
      }
      const follow = queryBool(c.query, "follow", true);
      const source = events.subscribe({ after, filter, follow, signal: c.signal });
      return sse(mapAsync(source, (e): SseMessage => ({ id: e.id, event: e.type, data: e })));
    });
  };
}
