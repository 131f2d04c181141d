/** /v1/services and /v1/containers: `fizz ps`, `fizz inspect`, `fizz logs` of one container. */
import type { AgentBackend, ContainerFilter } from "./backend.ts";
import { notFound } from "./errors.ts";
import { logOptions, logsReply } from "./logs-reply.ts";
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { noDeployment } from "./routes-deployments.ts";
import { checkQuery, containerRef, deploymentName, noQuery, queryEnum, serviceName } from "./validate.ts";

const STATES = ["created", "running", "paused", "restarting", "exited", "dead", "removing", "unknown"] as const;
const HEALTHS = ["none", "starting", "healthy", "unhealthy"] as const;

export function containerRoutes(b: AgentBackend): RouteModule {
  return (r) => {
    r.get("/v1/services", async (c) => {
      checkQuery(c.query, ["deployment"]);
      const d = c.query.get("deployment");
      const list = await b.listServices(d === null ? undefined : deploymentName(d));
      if (!list) throw noDeployment(d ?? "");
      return json({ services: list });
    });
    r.get("/v1/containers", async (c) => {
      checkQuery(c.query, ["deployment", "service", "state", "health"]);
      const f: { -readonly [K in keyof ContainerFilter]: ContainerFilter[K] } = {};
      const d = c.query.get("deployment");
      const s = c.query.get("service");
      if (d !== null) f.deployment = deploymentName(d);
      if (s !== null) f.service = serviceName(s);
      const state = queryEnum(c.query, "state", STATES);
      const health = queryEnum(c.query, "health", HEALTHS);
      if (state) f.state = state;
      if (health) f.health = health;
      return json({ containers: await b.listContainers(f) });
    });
    r.get("/v1/containers/:id", async (c) => {
      noQuery(c);
      const id = containerRef(c.params.id!);
      const v = await b.inspect({ kind: "container", id });
      if (v === undefined) throw notFound(`no container '${id}'`);
      return json(v);
    });
    r.get("/v1/containers/:id/logs", async (c) => {
      checkQuery(c.query, ["follow", "tail", "since", "timestamps"]);
      const id = containerRef(c.params.id!);
      return logsReply(b, c, { ...logOptions(c), target: { kind: "container", id } }, `no container '${id}'`);
    });
  };
}
