import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FizzError } from "../../../core/errors.ts";
import { ApiClient, clientFor, clientOptionsFrom } from "../../../platform/api/client.ts";
import { createApiServer, createRoutes, EventFeed } from "../../../platform/api/index.ts";
import { AgentStore } from "../../../platform/store/index.ts";
import { FakeBackend } from "./fake-backend.ts";
import { startTestServer, TOKEN, type TestServer } from "./harness.ts";

const files = [{ name: "compose.yaml", content: "services:\n  web:\n    image: busybox\n  db:\n    image: busybox\n" }];

describe("ApiClient", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tcp: true });
  });
  afterAll(() => t.stop());

  test("typed calls over the unix socket", async () => {
    const c = new ApiClient({ address: { kind: "unix", path: t.socket } });
    expect(await c.health()).toEqual({ status: "ok" });
    expect(await c.up("shop", { files })).toMatchObject({ created: true, generation: 1 });
    expect((await c.listDeployments()).map((d) => d.name)).toEqual(["shop"]);
    expect((await c.services("shop")).map((s) => s.name).sort()).toEqual(["db", "web"]);
    expect(await c.scale("shop", "web", 2)).toMatchObject({ replicas: 2 });
    t.backend.addContainer({ deployment: "shop", service: "web", number: 1 });
    expect((await c.containers({ deployment: "shop", state: "running" })).length).toBe(1);
    expect((await c.down("shop", { volumes: true })).removed.containers).toBe(1);
  });

  test("server errors become FizzErrors with the server's code, message and status", async () => {
    const c = new ApiClient({ address: { kind: "unix", path: t.socket } });
    const e = (await c.getDeployment("missing").catch((x: unknown) => x)) as FizzError;
    expect(e).toBeInstanceOf(FizzError);
    expect(e.code).toBe("api.not_found");
    expect(e.status).toBe(404);
    expect(e.message).toBe("no deployment named 'missing'");
    const bad = (await c.up("shop", { files: [] }).catch((x: unknown) => x)) as FizzError;
    expect(bad.code).toBe("api.bad_request");
    expect(bad.path).toBe("body.files");
  });

  test("TCP needs the token; with FIZZ_TOKEN it works", async () => {
    const facts = { uid: 1000, env: {}, home: "/home/x" };
    const without = new ApiClient(clientOptionsFrom(`127.0.0.1:${t.port}`, {}, facts));
    expect(((await without.containers().catch((x: unknown) => x)) as FizzError).code).toBe("api.unauthorized");
    const withToken = new ApiClient(clientOptionsFrom(undefined, { FIZZ_HOST: `127.0.0.1:${t.port}`, FIZZ_TOKEN: TOKEN }, facts));
    expect(await withToken.containers()).toEqual([]);
  });

  test("clientFor: -H wins over FIZZ_HOST; the token comes from FIZZ_TOKEN", async () => {
    const c = clientFor(`unix:${t.socket}`, { FIZZ_HOST: "127.0.0.1:1" });
    expect(c.where).toBe(`unix:${t.socket}`);
    expect(await c.health()).toEqual({ status: "ok" });
    const viaEnv = clientFor(undefined, { FIZZ_HOST: `127.0.0.1:${t.port}`, FIZZ_TOKEN: TOKEN });
    expect(await viaEnv.containers()).toEqual(expect.any(Array));
  });

  test("no agent listening: one clear error naming the address", async () => {
    const c = new ApiClient({ address: { kind: "unix", path: "/nonexistent/fizz.sock" } });
    const e = (await c.health().catch((x: unknown) => x)) as FizzError;
    expect(e.code).toBe("client.no_agent");
    expect(e.message).toBe("no fizz agent at unix:/nonexistent/fizz.sock; start one with `fizz agent`");
    const tcp = new ApiClient({ address: { kind: "tcp", host: "127.0.0.1", port: 1, tls: false } });
    expect(((await tcp.health().catch((x: unknown) => x)) as FizzError).message).toContain("no fizz agent at 127.0.0.1:1");
  });

  test("default address: the root socket, or the user's runtime dir", () => {
    expect(clientOptionsFrom(undefined, {}, { uid: 0, env: {}, home: "/root" }).address).toEqual({ kind: "unix", path: "/run/fizz/fizz.sock" });
    expect(clientOptionsFrom(undefined, {}, { uid: 1000, env: { XDG_RUNTIME_DIR: "/run/user/1000" }, home: "/home/u" }).address).toEqual({
      kind: "unix",
      path: "/run/user/1000/fizz/fizz.sock",
    });
    expect(() => clientOptionsFrom("ftp://x:1", {}, { uid: 0, env: {}, home: "/" })).toThrow(/unknown scheme/);
  });

  test("logs: NDJSON lines of a deployment's containers", async () => {
    const c = new ApiClient({ address: { kind: "unix", path: t.socket } });
    await c.up("logs", { files });
    const ct = t.backend.addContainer({ deployment: "logs", service: "web", number: 1 });
    t.backend.emitLog({ container: ct.id, service: "web", stream: "stdout", line: "hello" });
    t.backend.emitLog({ container: ct.id, service: "web", stream: "stderr", line: "oops" });
    const got = [];
    for await (const l of c.logs("logs", { services: ["web"] })) got.push(`${l.stream}:${l.line}`);
    expect(got).toEqual(["stdout:hello", "stderr:oops"]);
    await expect((async () => {
      for await (const _ of c.logs("nothere")) void _;
    })()).rejects.toThrow("no deployment named 'nothere'");
  });
});

test("the event iterator survives an agent restart: resumes by id, no loss, no repeats", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fizz-client-"));
  const store = AgentStore.open(join(dir, "state.db"));
  const socket = join(dir, "fizz.sock");
  const start = async () => {
    const events = new EventFeed(store, { pollMs: 50 });
    const server = createApiServer({ router: createRoutes({ backend: new FakeBackend(), events }) });
    await server.listen({ kind: "unix", path: socket });
    return { server, events };
  };
  let a = await start();
  a.events.append({ at: 1, type: "t", message: "1" });
  const client = new ApiClient({ address: { kind: "unix", path: socket } });
  const ac = new AbortController();
  const seen: number[] = [];
  const reading = (async () => {
    for await (const e of client.events({}, ac.signal)) {
      seen.push(e.id);
      if (seen.length === 4) ac.abort();
    }
  })();
  while (seen.length < 1) await Bun.sleep(10);
  await a.server.close();
  store.appendEvent({ at: 2, type: "t", message: "written while the API was down" });
  await Bun.sleep(100);
  a = await start();
  a.events.append({ at: 3, type: "t", message: "3" });
  a.events.append({ at: 4, type: "t", message: "4" });
  await Promise.race([reading, Bun.sleep(8000)]);
  ac.abort();
  expect(seen).toEqual([1, 2, 3, 4]);
  await a.server.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});
