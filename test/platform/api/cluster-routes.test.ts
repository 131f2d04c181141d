/**
 * The /v1/cluster routes over a FakeCluster: bodies are checked before the
 * cluster side sees them, its FizzErrors come back with their status, code
 * and message through the ApiClient, and an agent without a cluster runtime
 * answers 503.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FizzError } from "../../../core/errors.ts";
import { ApiClient } from "../../../platform/api/client.ts";
import { createApiServer, createRoutes, EventFeed, type ApiServer } from "../../../platform/api/index.ts";
import { AgentStore } from "../../../platform/store/index.ts";
import { FakeBackend } from "./fake-backend.ts";
import { FakeCluster } from "./cluster-fake.ts";

async function serve(cluster: FakeCluster | undefined) {
  const dir = mkdtempSync(join(tmpdir(), "fizz-cluster-api-"));
  const store = AgentStore.open(join(dir, "state.db"));
  const server: ApiServer = createApiServer({ router: createRoutes({ backend: new FakeBackend(), events: new EventFeed(store), cluster }) });
  const socket = join(dir, "api.sock");
  await server.listen({ kind: "unix", path: socket });
  return {
    client: new ApiClient({ address: { kind: "unix", path: socket } }),
    async stop() {
      await server.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function failure(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FizzError) return { status: e.status, code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected a failure");
}

describe("cluster routes", () => {
  let s: Awaited<ReturnType<typeof serve>>;
  let fake: FakeCluster;
  beforeAll(async () => {
    fake = new FakeCluster();
    s = await serve(fake);
  });
  afterAll(() => s.stop());

  test("init, join, nodes, leave reach the cluster side with the given values", async () => {
    expect((await s.client.clusterInit({ advertise: "10.0.0.5:7946" })).address).toBe("10.0.0.5:7946");
    expect((await s.client.clusterJoin("10.0.0.6", "fizz1abc")).via).toBe("10.0.0.6");
    expect((await s.client.clusterNodes()).map((n) => n.id)).toEqual(["test-node"]);
    expect((await s.client.clusterToken()).token).toBe("fizz1fake");
    expect((await s.client.clusterLeave()).left).toBe(true);
    expect(fake.calls).toEqual(["init 10.0.0.5:7946", "join 10.0.0.6 fizz1abc", "token", "leave"]);
  });

  test("a refusal keeps its status, code and exact message", async () => {
    expect(await failure(s.client.clusterJoin("10.0.0.6", "wrong"))).toEqual({ status: 403, code: "cluster.wrong_key", message: "refused us: wrong cluster key" });
  });

  test("bodies are checked before the cluster side is called", async () => {
    const before = fake.calls.length;
    expect((await failure(s.client.json("POST", "/v1/cluster/join", { address: "10.0.0.6" }))).message).toContain("required");
    expect((await failure(s.client.json("POST", "/v1/cluster/join", { token: "fizz1x" }))).status).toBe(400);
    expect((await failure(s.client.json("POST", "/v1/cluster/join", { address: "a", token: "b", extra: 1 }))).status).toBe(400);
    expect((await failure(s.client.json("POST", "/v1/cluster/init", { advertise: 5 }))).status).toBe(400);
    expect((await failure(s.client.json("POST", "/v1/cluster/keys", {}))).status).toBe(400);
    expect((await failure(s.client.json("POST", "/v1/cluster/keys/use", { id: "has space" }))).status).toBe(400);
    expect(fake.calls.length).toBe(before);
  });

  test("keys: install, use, remove with keyring rules as 404/409", async () => {
    const k2 = Buffer.from(new Uint8Array(32).fill(2)).toString("base64");
    const first = (await s.client.clusterKeys()).primary;
    const inst = await s.client.clusterKeyInstall(k2);
    expect(inst.keys.map((k) => k.id)).toEqual([first, inst.installed]);
    expect((await failure(s.client.clusterKeyRemove(first))).status).toBe(409);
    expect((await s.client.clusterKeyUse(inst.installed.toUpperCase())).primary).toBe(inst.installed);
    expect((await s.client.clusterKeyRemove(first)).keys).toEqual([{ id: inst.installed, primary: true }]);
    expect(await failure(s.client.clusterKeyRemove("deadbeef"))).toMatchObject({ status: 404, code: "keyring.unknown_key" });
  });
});

test("an agent without the cluster runtime answers 503 cluster.unavailable", async () => {
  const s = await serve(undefined);
  try {
    expect(await failure(s.client.clusterNodes())).toMatchObject({ status: 503, code: "cluster.unavailable" });
    expect(await failure(s.client.clusterInit())).toMatchObject({ status: 503, code: "cluster.unavailable" });
  } finally {
    await s.stop();
  }
});
