/**
 * /v1/registry: the node's registry for `fizz registry ls` (what it holds,
 * where it listens), `fizz registry gc [--dry-run]`, and the cluster's
 * registry credentials for `fizz registry login` (unix socket only: they
 * open every node's registry).
 */
import { httpError } from "./errors.ts";
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { checkQuery, expectObject, noQuery, optBool, optInt } from "./validate.ts";

export interface RegistryApi {
  status(): Promise<unknown>;
  gc(o: { dryRun: boolean; graceMs?: number }): Promise<unknown>;
  credentials(): { username: string; password: string; address: string } | undefined;
}

export function registryRoutes(api: RegistryApi): RouteModule {
  return (r) => {
    r.get("/v1/registry", async (c) => {
      checkQuery(c.query, []);
      return json(await api.status());
    });
    r.post("/v1/registry/gc", async (c) => {
      noQuery(c);
      const body = await c.body();
      const b = body === undefined ? {} : expectObject(body, "body", ["dryRun", "graceMs"]);
      const graceMs = optInt(b, "graceMs", "body", 0, 10 * 365 * 86_400_000);
      return json(await api.gc({ dryRun: optBool(b, "dryRun", "body") ?? false, ...(graceMs !== undefined ? { graceMs } : {}) }));
    });
    r.get("/v1/registry/credentials", (c) => {
      checkQuery(c.query, []);
      if (!c.local) throw httpError(403, "registry.credentials_local_only", "the registry credentials are given only over the agent's unix socket");
      const cr = api.credentials();
      if (!cr) throw httpError(503, "registry.unavailable", "the registry is not running on this node");
      return json(cr);
    });
  };
}
