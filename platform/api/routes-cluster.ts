/** /v1/cluster/…: `fizz init`, `join`, `leave`, `nodes`, `cluster token`, `cluster keys`. Without a cluster runtime every route answers 503. */
import type { ClusterApi } from "./cluster-api.ts";
import { httpError } from "./errors.ts";
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { badInput, expectObject, noQuery, optString } from "./validate.ts";

export function clusterRoutes(cluster: ClusterApi | undefined): RouteModule {
  const cl = (): ClusterApi => {
    if (!cluster) throw httpError(503, "cluster.unavailable", "this agent runs without the cluster runtime");
    return cluster;
  };
  const keyId = (s: string) => {
    if (!/^[A-Za-z0-9]{1,64}$/.test(s)) throw httpError(400, "api.bad_name", `'${s.slice(0, 40)}' is not a key id (8 hex characters, see \`fizz cluster keys list\`)`);
    return s.toLowerCase();
  };
  return (r) => {
    r.post("/v1/cluster/init", async (c) => {
      noQuery(c);
      const body = await c.body();
      const b0 = body === undefined ? {} : expectObject(body, "body", ["advertise"]);
      const advertise = optString(b0, "advertise", "body", 300);
      return json(await cl().init({ advertise: advertise || undefined }), 201);
    });
    r.post("/v1/cluster/join", async (c) => {
      noQuery(c);
      const body = await c.body();
      if (body === undefined) throw badInput("body", "expected {\"address\": \"<host>:<port>\", \"token\": \"fizz1…\"}");
      const b0 = expectObject(body, "body", ["address", "token"]);
      const address = optString(b0, "address", "body", 300);
      const token = optString(b0, "token", "body", 4096);
      if (!address) throw badInput("body.address", "required: a member's cluster address, <host>[:<port>]");
      if (token === undefined) throw badInput("body.token", "required: the token printed by `fizz init`");
      return json(await cl().join({ address, token }));
    });
    r.post("/v1/cluster/leave", async (c) => {
      noQuery(c);
      return json(await cl().leave());
    });
    r.get("/v1/cluster/nodes", (c) => {
      noQuery(c);
      return json({ nodes: cl().nodes() });
    });
    r.get("/v1/cluster/token", (c) => {
      noQuery(c);
      return json(cl().token());
    });
    r.get("/v1/cluster/keys", (c) => {
      noQuery(c);
      return json(cl().keys());
    });
    r.post("/v1/cluster/keys", async (c) => {
      noQuery(c);
      const body = await c.body();
      if (body === undefined) throw badInput("body", "expected {\"key\": \"<base64 or hex, 32 bytes>\"}");
      const key = optString(expectObject(body, "body", ["key"]), "key", "body", 200);
      if (!key) throw badInput("body.key", "required: 32 bytes as base64 or hex");
      return json(cl().installKey(key));
    });
    r.post("/v1/cluster/keys/use", async (c) => {
      noQuery(c);
      const body = await c.body();
      if (body === undefined) throw badInput("body", "expected {\"id\": \"<key id>\"}");
      const id = optString(expectObject(body, "body", ["id"]), "id", "body", 64);
      if (!id) throw badInput("body.id", "required: a key id from `fizz cluster keys list`");
      return json(cl().useKey(keyId(id)));
    });
    r.delete("/v1/cluster/keys/:id", (c) => {
      noQuery(c);
      return json(cl().removeKey(keyId(c.params.id!)));
    });
  };
}
