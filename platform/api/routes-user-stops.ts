/**
 * /v1/deployments/{name}/stopped: the services of a deployment the user
 * stopped by hand (`fizz stop`, `kill`, `rm`, `pause`), which the agent then
 * leaves stopped; DELETE (`fizz start`, `restart`, `unpause`) lets it keep them
 * running again. `fizz up` and `fizz scale` clear them too.
 */
import { notFound } from "./errors.ts";
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { badInput, checkQuery, deploymentName, expectObject, noQuery, optEnum, optStringArray, serviceName } from "./validate.ts";

export const STOP_VERBS = ["stop", "kill", "rm", "pause"] as const;
export type StopVerb = (typeof STOP_VERBS)[number];

/** Service → the verb that stopped it. */
export type UserStopped = Readonly<Record<string, StopVerb>>;

export interface UserStopsBackend {
  /** Whether the deployment exists here (an unknown one is a 404 before its body is read). */
  has(deployment: string): boolean;
  /** Records `services` (all of the deployment's when empty) as stopped by `verb`; undefined for an unknown deployment. */
  stop(deployment: string, services: readonly string[], verb: StopVerb): Promise<UserStopped | undefined>;
  /** Forgets them (all when empty): the agent keeps them running again. */
  resume(deployment: string, services: readonly string[]): Promise<UserStopped | undefined>;
}

export function userStopRoutes(b: UserStopsBackend): RouteModule {
  return (r) => {
    r.post("/v1/deployments/:name/stopped", async (c) => {
      noQuery(c);
      const deployment = deploymentName(c.params.name!);
      const body = await c.body();
      if (!b.has(deployment)) throw notFound(`no deployment named '${deployment}'`);
      if (body === undefined) throw badInput("body", 'expected {"verb": "stop"|"kill"|"rm"|"pause", "services": [...]}');
      const o = expectObject(body, "body", ["verb", "services"]);
      const verb = optEnum(o, "verb", "body", STOP_VERBS);
      if (verb === undefined) throw badInput("body.verb", "required");
      const services = (optStringArray(o, "services", "body") ?? []).map(serviceName);
      const stopped = await b.stop(deployment, services, verb);
      if (!stopped) throw notFound(`no deployment named '${deployment}'`);
      return json({ deployment, stopped });
    });
    r.delete("/v1/deployments/:name/stopped", async (c) => {
      checkQuery(c.query, ["service"], ["service"]);
      const deployment = deploymentName(c.params.name!);
      const services = c.query.getAll("service").map(serviceName);
      const stopped = await b.resume(deployment, services);
      if (!stopped) throw notFound(`no deployment named '${deployment}'`);
      return json({ deployment, stopped });
    });
  };
}
