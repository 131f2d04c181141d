import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FizzError } from "../../../core/errors.ts";
import { createApiServer, Router, json } from "../../../platform/api/index.ts";
import { jsonOf, raw, startTestServer, TOKEN, type TestServer } from "./harness.ts";

const compose = (svc = "web") => JSON.stringify({ files: [{ name: "compose.yaml", content: `services:\n  ${svc}:\n    image: busybox\n` }] });
const JSON_CT = { "content-type": "application/json" };

describe("API server over the unix socket", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ limits: { maxBodyBytes: 64 * 1024 } });
  });
  afterAll(() => t.stop());
  const get = (path: string, headers?: Record<string, string>) => raw({ socketPath: t.socket, path, ...(headers ? { headers } : {}) });

  test("socket file gets mode 0660", () => {
    expect(statSync(t.socket).mode & 0o777).toBe(0o660);
  });

  test("deployment lifecycle: create 201, update 200, get, list, scale, delete, then 404", async () => {
    const put = (body: string) => raw({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/shop", headers: JSON_CT, body });
    const created = await put(compose());
    expect(created.status).toBe(201);
    expect(jsonOf(created)).toMatchObject({ deployment: "shop", created: true, generation: 1 });
    const updated = await put(compose());
    expect(updated.status).toBe(200);
    expect(jsonOf(updated).generation).toBe(2);
    expect(jsonOf(await get("/v1/deployments/shop"))).toMatchObject({ name: "shop", generation: 2, services: 1 });
    expect((jsonOf(await get("/v1/deployments")).deployments as unknown[]).length).toBe(1);
    const scaled = await raw({ socketPath: t.socket, method: "POST", path: "/v1/deployments/shop/services/web/scale", headers: JSON_CT, body: '{"replicas":3}' });
    expect(scaled.status).toBe(200);
    expect(jsonOf(scaled)).toEqual({ deployment: "shop", service: "web", replicas: 3, previous: 1 });
    // A missing service says so; a missing deployment is named as that, not as a missing service.
    const scaleOf = (path: string) => raw({ socketPath: t.socket, method: "POST", path, headers: JSON_CT, body: '{"replicas":2}' });
    expect(jsonOf(await scaleOf("/v1/deployments/shop/services/nope/scale"))).toMatchObject({ code: "api.not_found", message: "no service 'nope' in deployment 'shop'" });
    expect(jsonOf(await scaleOf("/v1/deployments/nope/services/web/scale"))).toMatchObject({ code: "api.not_found", message: "no deployment named 'nope'" });
    expect(jsonOf(await get("/v1/deployments/shop/services")).services).toEqual([expect.objectContaining({ name: "web", desired: 3 })]);
    const del = await raw({ socketPath: t.socket, method: "DELETE", path: "/v1/deployments/shop?volumes=true" });
    expect(del.status).toBe(200);
    expect(jsonOf(del)).toMatchObject({ removed: { volumes: 1 } });
    const gone = await get("/v1/deployments/shop");
    expect(gone.status).toBe(404);
    expect(jsonOf(gone)).toMatchObject({ code: "api.not_found" });
    expect((await raw({ socketPath: t.socket, method: "DELETE", path: "/v1/deployments/shop" })).status).toBe(404);
  });

  test("backend FizzErrors keep their status and code; other throws become a generic 500", async () => {
    const bad = await raw({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/x", headers: JSON_CT, body: JSON.stringify({ files: [{ name: "c.yaml", content: "x: 1\n" }] }) });
    expect(bad.status).toBe(400);
    expect(jsonOf(bad)).toMatchObject({ code: "compose.no_services" });
    t.backend.failWith = new Error("secret internal detail at /etc/shadow");
    const r = await get("/v1/containers");
    t.backend.failWith = undefined;
    expect(r.status).toBe(500);
    expect(r.body).not.toContain("secret");
    expect(jsonOf(r)).toEqual({ code: "internal", message: "internal error; see the agent log" });
    t.backend.failWith = new FizzError({ code: "engine.unreachable", message: "engine down", status: 503 });
    const r2 = await get("/v1/containers");
    t.backend.failWith = undefined;
    expect(r2.status).toBe(503);
    expect(jsonOf(r2)).toMatchObject({ code: "engine.unreachable", message: "engine down" });
  });

  test("container listing filters are validated and passed through", async () => {
    t.backend.addContainer({ deployment: "a", service: "web", number: 1, state: "running", health: "healthy" });
    t.backend.addContainer({ deployment: "a", service: "db", number: 1, state: "exited" });
    const all = jsonOf(await get("/v1/containers?deployment=a")).containers as { service: string }[];
    expect(all.map((c) => c.service).sort()).toEqual(["db", "web"]);
    expect((jsonOf(await get("/v1/containers?state=exited")).containers as unknown[]).length).toBe(1);
    expect((await get("/v1/containers?state=sleeping")).status).toBe(400);
    expect((await get("/v1/containers?deploymnet=a")).status).toBe(400);
    expect(jsonOf(await get("/v1/containers?deploymnet=a")).hint).toBe("did you mean 'deployment'?");
    expect((await get("/v1/containers?deployment=a&deployment=b")).status).toBe(400);
    const id = (jsonOf(await get("/v1/containers?service=web")).containers as { id: string }[])[0]!.id;
    expect((await get(`/v1/containers/${id}`)).status).toBe(200);
    expect((await get("/v1/containers/nope")).status).toBe(404);
  });

  test("malformed JSON 400, wrong types 400 with the field path, wrong media type 415", async () => {
    const put = (body: string, headers: Record<string, string> = JSON_CT) => raw({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/x", headers, body });
    const r1 = await put("{not json");
    expect(r1.status).toBe(400);
    expect(jsonOf(r1).code).toBe("api.bad_json");
    const r2 = await put(JSON.stringify({ files: [{ name: 3, content: "" }] }));
    expect(r2.status).toBe(400);
    expect(jsonOf(r2).path).toBe("body.files[0].name");
    const r3 = await put(JSON.stringify({ files: [{ name: "a", content: "" }], optoins: {} }));
    expect(jsonOf(r3)).toMatchObject({ path: "body.optoins", hint: "did you mean 'options'?" });
    expect((await put(JSON.stringify({ files: [], project: {} }))).status).toBe(400);
    expect((await put("[]")).status).toBe(400);
    expect((await put(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("latin1"))).status).toBe(400);
    const r4 = await put("{}", { "content-type": "text/yaml" });
    expect(r4.status).toBe(415);
    const scale = (body: string) => raw({ socketPath: t.socket, method: "POST", path: "/v1/deployments/x/services/web/scale", headers: JSON_CT, body });
    expect((await scale('{"replicas":-1}')).status).toBe(400);
    expect((await scale('{"replicas":1.5}')).status).toBe(400);
    expect((await scale('{"replicas":"3"}')).status).toBe(400);
    expect((await scale('{"replicas":100000}')).status).toBe(400);
  });

  test("body over the limit: 413 before reading (Content-Length) and while reading (chunked); connection stays usable", async () => {
    const big = "x".repeat(200 * 1024);
    const r = await raw({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/x", headers: JSON_CT, body: big });
    expect(r.status).toBe(413);
    expect(jsonOf(r).code).toBe("api.body_too_large");
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/x", headers: JSON_CT }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      for (let i = 0; i < 20; i++) req.write("y".repeat(16 * 1024));
      req.end();
    });
    expect(chunked).toBe(413);
    // Body sent to a route that takes none is also limited.
    expect((await raw({ socketPath: t.socket, method: "DELETE", path: "/v1/deployments/x", headers: JSON_CT, body: big })).status).toBe(413);
    expect((await get("/healthz")).status).toBe(200);
  });

  test("path tricks are refused with 400, unknown paths 404, wrong methods 405 with Allow", async () => {
    for (const p of ["/v1/../v1/containers", "/v1/%2e%2e/containers", "/v1/deployments/a%2Fb", "/v1/deployments/a%5Cb", "/v1//containers", "/v1/deployments/%00", "/v1/deployments/%zz", "/v1/deployments/.", "/v1/containers?x=%"]) {
      const r = await get(p);
      expect([p, r.status]).toEqual([p, 400]);
      expect(jsonOf(r).code).toMatch(/^api\./);
    }
    expect((await get("/v1/deployments/UPPER")).status).toBe(400);
    expect((await get("/v2/containers")).status).toBe(404);
    expect((await get("/v1/containers/")).status).toBe(200);
    const r = await raw({ socketPath: t.socket, method: "PATCH", path: "/v1/containers" });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET");
    const head = await raw({ socketPath: t.socket, method: "HEAD", path: "/v1/containers" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  test("a raw malformed HTTP request gets a 400 and the server keeps serving", async () => {
    const answer = await new Promise<string>((resolve) => {
      const s = createConnection({ path: t.socket });
      let out = "";
      s.on("data", (c) => (out += c.toString()));
      s.on("close", () => resolve(out));
      s.on("error", () => resolve(out));
      s.write("GARBAGE\x00 / HTTP/9.9\r\n\r\n");
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await get("/healthz")).status).toBe(200);
  });

  test("logs stream as NDJSON; follow ends when the client leaves and the backend stream is closed", async () => {
    const c = t.backend.addContainer({ deployment: "logs", service: "web", number: 1 });
    await raw({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/logs", headers: JSON_CT, body: compose() });
    for (let i = 0; i < 5; i++) t.backend.emitLog({ container: c.id, service: "web", stream: "stdout", line: `line ${i}` });
    const r = await get(`/v1/containers/${c.id}/logs?tail=2`);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/x-ndjson");
    expect(r.body.trim().split("\n").map((l) => (JSON.parse(l) as { line: string }).line)).toEqual(["line 3", "line 4"]);
    expect((await get("/v1/containers/nothere/logs")).status).toBe(404);
    expect((await get(`/v1/containers/${c.id}/logs?tail=x`)).status).toBe(400);

    const closedBefore = t.backend.closedStreams;
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: t.socket, path: "/v1/deployments/logs/logs?follow=true&tail=0" }, (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          got.push(...chunk.trim().split("\n").filter(Boolean));
          if (got.length >= 2) {
            req.destroy();
            resolve();
          }
        });
        setTimeout(() => {
          t.backend.emitLog({ container: c.id, service: "web", stream: "stdout", line: "live 1" });
          t.backend.emitLog({ container: c.id, service: "web", stream: "stderr", line: "live 2" });
        }, 50);
      });
      req.on("error", (e) => (got.length >= 2 ? resolve() : reject(e)));
      req.end();
    });
    expect(got.map((l) => (JSON.parse(l) as { line: string }).line)).toEqual(["live 1", "live 2"]);
    for (let i = 0; i < 50 && t.backend.closedStreams === closedBefore; i++) await Bun.sleep(20);
    expect(t.backend.closedStreams).toBe(closedBefore + 1);
  });

  test("/metrics counts requests by route pattern, not raw path", async () => {
    await get("/v1/deployments/some-name-123");
    const m = (await get("/metrics")).body;
    expect(m).toContain('fizz_api_request_duration_seconds_count{route="/v1/deployments/:name",method="GET",code="404"}');
    expect(m).not.toContain("some-name-123");
  });
});

describe("API server on TCP", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tcp: true });
  });
  afterAll(() => t.stop());

  test("requires the bearer token except for /healthz", async () => {
    const port = t.port!;
    expect((await raw({ port, path: "/healthz" })).status).toBe(200);
    const none = await raw({ port, path: "/v1/containers" });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("Bearer");
    for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, "Bearer", `bearer  ${TOKEN.toUpperCase()}`, TOKEN]) {
      expect([auth, (await raw({ port, path: "/v1/containers", headers: { authorization: auth } })).status]).toEqual([auth, 401]);
    }
    expect((await raw({ port, path: "/v1/containers", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // Unauthenticated clients learn nothing about routes.
    expect((await raw({ port, path: "/v1/nope" })).status).toBe(401);
    expect((await raw({ port, path: "/metrics" })).status).toBe(401);
  });

  test("a server without a token refuses to listen on TCP", async () => {
    const s = createApiServer({ router: new Router().get("/x", () => json({})) });
    await expect(s.listen({ kind: "tcp", host: "127.0.0.1", port: 0, tls: false })).rejects.toThrow(/token/);
    await s.close();
  });
});

describe("API server over TLS", () => {
  let dir: string;
  let t: TestServer;
  let cert: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "fizz-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
    t = await startTestServer({ tcp: true, tls: { cert, key: readFileSync(join(dir, "key.pem"), "utf8") } });
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("serves HTTPS with the given certificate and still demands the token", async () => {
    const port = t.port!;
    expect((await raw({ port, path: "/v1/containers", tls: { ca: cert } })).status).toBe(401);
    const ok = await raw({ port, path: "/v1/containers", tls: { ca: cert }, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(jsonOf(ok)).toEqual({ containers: [] });
  });

  test("plain HTTP to the TLS port gets no API answer, and the server keeps serving", async () => {
    const r = await raw({ port: t.port!, path: "/healthz" }).catch(() => ({ status: 0 }));
    expect(r.status === 0 || r.status >= 400).toBe(true);
    expect((await raw({ port: t.port!, path: "/healthz", tls: { ca: cert } })).status).toBe(200);
  });

  test("a client that does not trust the agent's self-signed certificate refuses the connection", async () => {
    await expect(raw({ port: t.port!, path: "/healthz", tls: { ca: "" } })).rejects.toThrow();
  });
});

describe("timeouts", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ limits: { bodyTimeoutMs: 300, headersTimeoutMs: 300, sseHeartbeatMs: 100 } });
  });
  afterAll(() => t.stop());

  /** Writes bytes and reports the first status line and when the server closed (or that it did not). */
  const trickle = (data: string, waitMs: number) =>
    new Promise<{ status: string; closed: boolean }>((resolve) => {
      const s = createConnection({ path: t.socket });
      let out = "";
      s.on("data", (c) => (out += c.toString()));
      s.on("close", () => resolve({ status: out.split("\r\n")[0]!, closed: true }));
      s.on("error", () => undefined);
      s.write(data);
      setTimeout(() => {
        s.destroy();
        resolve({ status: out.split("\r\n")[0]!, closed: false });
      }, waitMs);
    });

  test("a body that stops arriving gets 408", async () => {
    const r = await trickle('PUT /v1/deployments/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"fi', 3000);
    expect(r).toEqual({ status: "HTTP/1.1 408 Request Timeout", closed: true });
  });

  test("headers that never complete (slowloris) get 408 and the connection is closed", async () => {
    const r = await trickle("GET /v1/containers HTTP/1.1\r\nHost: x\r\nX-Slow: ", 3000);
    expect(r).toEqual({ status: "HTTP/1.1 408 Request Timeout", closed: true });
  });

  test("a long-lived stream outlives the header deadline", async () => {
    const r = await trickle("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n", 1000);
    expect(r).toEqual({ status: "HTTP/1.1 200 OK", closed: false });
  });
});

test("a body sent to a route that ignores it is drained, and the answer still arrives", async () => {
  const t = await startTestServer({ limits: { maxBodyBytes: 4 * 1024 * 1024 } });
  try {
    // Scaling reads its body; deleting does not: 3 MiB to DELETE must not end in EPIPE.
    await raw({ socketPath: t.socket, method: "PUT", path: "/v1/deployments/shop", headers: JSON_CT, body: compose() });
    const r = await raw({ socketPath: t.socket, method: "DELETE", path: "/v1/deployments/shop", headers: JSON_CT, body: JSON.stringify({ pad: "x".repeat(3 * 1024 * 1024) }) });
    expect(r.status).toBe(200);
  } finally {
    await t.stop();
  }
});
