/**
 * /v1/deployments: `fizz up`, `down`, `ls`, `scale`, `rollback`, a
 * deployment's services and logs, and /v1/placement (`fizz why`).
 */
import type { AgentBackend } from "./backend.ts";
import { notFound } from "./errors.ts";
import { logOptions, logsReply } from "./logs-reply.ts";
import { parseDeploymentInput } from "./deployment-input.ts";
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { badInput, checkQuery, deploymentName, expectObject, noQuery, optInt, queryBool, serviceName } from "./validate.ts";
import { FizzError } from "../../core/errors.ts";
import { MAX_REPLICAS } from "../../core/limits.ts";

export function noDeployment(name: string): FizzError {
  return notFound(`no deployment named '${name.slice(0, 80)}'`);
}

export function deploymentRoutes(b: AgentBackend): RouteModule {
  return (r) => {
    r.get("/v1/deployments", async (c) => {
      noQuery(c);
      return json({ deployments: await b.listDeployments() });
    });
    r.get("/v1/deployments/:name", async (c) => {
      noQuery(c);
      const d = await b.getDeployment(deploymentName(c.params.name!));
      if (!d) throw noDeployment(c.params.name!);
      return json(d);
    });
    r.put("/v1/deployments/:name", async (c) => {
      checkQuery(c.query, ["follow"]);
      const name = deploymentName(c.params.name!);
      const follow = queryBool(c.query, "follow", false);
      const input = parseDeploymentInput(await c.body());
      const res = await b.putDeployment(name, input, c.signal, { local: c.local, follow });
      return json(res, res.created ? 201 : 200);
    });
    r.delete("/v1/deployments/:name", async (c) => {
      checkQuery(c.query, ["volumes"]);
      const name = deploymentName(c.params.name!);
      const volumes = queryBool(c.query, "volumes", false);
      const res = await b.deleteDeployment(name, { volumes }, c.signal);
      if (!res) throw noDeployment(name);
      return json(res);
    });
    r.get("/v1/deployments/:name/services", async (c) => {
      noQuery(c);
      const name = deploymentName(c.params.name!);
      const list = await b.listServices(name);
      if (!list) throw noDeployment(name);
      return json({ services: list });
    });
    r.get("/v1/deployments/:name/services/:service", async (c) => {
      noQuery(c);
      const deployment = deploymentName(c.params.name!);
      const service = serviceName(c.params.service!);
      const v = await b.inspect({ kind: "service", deployment, service });
      if (v === undefined) throw await missingService(b, deployment, service);
      return json(v);
    });
    r.post("/v1/deployments/:name/services/:service/scale", async (c) => {
      noQuery(c);
      const deployment = deploymentName(c.params.name!);
      const service = serviceName(c.params.service!);
      const body = await c.body();
      if (body === undefined) throw badInput("body", "expected {\"replicas\": <n>}");
      const replicas = optInt(expectObject(body, "body", ["replicas"]), "replicas", "body", 0, MAX_REPLICAS);
      if (replicas === undefined) throw badInput("body.replicas", "required");
      const res = await b.scale(deployment, service, replicas, c.signal);
      if (!res) throw await missingService(b, deployment, service);
      return json(res);
    });
    r.post("/v1/deployments/:name/services/:service/rollback", async (c) => {
      noQuery(c);
      const deployment = deploymentName(c.params.name!);
      const service = serviceName(c.params.service!);
      const res = await b.rollback(deployment, service, c.signal);
      if (!res) throw await missingService(b, deployment, service);
      return json(res);
    });
    r.get("/v1/placement/:service", async (c) => {
      checkQuery(c.query, ["deployment"]);
      const service = serviceName(c.params.service!);
      const d = c.query.get("deployment");
      return json(await b.why(service, d === null ? undefined : deploymentName(d)));
    });
    r.get("/v1/deployments/:name/logs", async (c) => {
      checkQuery(c.query, ["service", "follow", "tail", "since", "timestamps"], ["service"]);
      const deployment = deploymentName(c.params.name!);
      const services = c.query.getAll("service").map(serviceName);
      return logsReply(b, c, { ...logOptions(c), target: { kind: "deployment", deployment, services } }, `no deployment named '${deployment}'`);
    });
  };
}

/** A service that is not there: of a deployment that is not there either, that is what is said. */
async function missingService(b: AgentBackend, deployment: string, service: string): Promise<Error> {
  return (await b.getDeployment(deployment)) ? notFound(`no service '${service}' in deployment '${deployment}'`) : noDeployment(deployment);
}
