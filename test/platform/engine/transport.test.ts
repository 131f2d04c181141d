/**
 * The client against a scripted fake engine on a unix socket: status and
 * error handling, streams split at awkward places, 304 as success, and the
 * promise that no call hangs (header timeouts, aborts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame } from "../../../core/engine/frames.ts";
import { isFizzError } from "../../../core/errors.ts";
import { collectOutput, connectEngine, parseEngineAddress, type Engine } from "../../../platform/engine/index.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const seen: string[] = [];
let server: Server;
let dir: string;
let socket: string;

function route(method: string, path: string, h: Handler) {
  routes.set(`${method} ${path}`, h);
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-fake-engine-"));
  socket = join(dir, "engine.sock");
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push(`${req.method} ${req.url}`);
    const path = decodeURIComponent(url.pathname).replace(/^\/v1\.\d+/, "");
    const h = routes.get(`${req.method} ${path}`);
    if (h) h(req, res);
    else json(res, 404, { message: `page not found: ${path}` });
  });
  route("GET", "/_ping", (_req, res) => {
    res.writeHead(200, { "api-version": "1.47", server: "Docker/27.0.0 (linux)", ostype: "linux" });
    res.end("OK");
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

async function engine(opts: { headersTimeoutMs?: number } = {}): Promise<Engine> {
  return connectEngine({ engine: `unix://${socket}`, ...opts });
}

describe("engine client against a fake engine", () => {
  test("negotiates down to the newest version we support and prefixes calls with it", async () => {
    route("GET", "/containers/json", (_req, res) => json(res, 200, []));
    const e = await engine();
    expect(e.name).toBe("docker");
    expect(e.apiVersion).toBe("1.45");
    await e.containers.list({ labels: { "io.fizz.project": "demo" } });
    const last = seen[seen.length - 1]!;
    expect(last).toStartWith("GET /v1.45/containers/json?all=0&filters=");
    expect(decodeURIComponent(last.split("filters=")[1]!)).toBe('{"label":["io.fizz.project=demo"]}');
    await e.close();
  }, 30_000);

  test("each call is told to onRequest by name, failed ones too (the agent's fizz_engine_request_duration_seconds)", async () => {
    route("GET", "/containers/json", (_req, res) => json(res, 200, []));
    route("POST", "/containers/web-1/start", (_req, res) => setTimeout(() => json(res, 500, { message: "no" }), 30));
    const calls: [string, number][] = [];
    const e = await connectEngine({ engine: `unix://${socket}`, onRequest: (op, s) => calls.push([op, s]) });
    await e.containers.list({ labels: { "io.fizz.project": "demo" } });
    await e.containers.start("web-1").catch(() => undefined);
    expect(calls.map(([op]) => op)).toEqual(["system.ping", "container.list", "container.start"]);
    expect(calls[2]![1]).toBeGreaterThanOrEqual(0.025);
    expect(calls.every(([, s]) => s >= 0 && s < 5)).toBe(true);
    await e.close();
  }, 30_000);

  test("304 on start/stop is success; a plain-text error body keeps its text", async () => {
    route("POST", "/containers/c1/start", (_req, res) => {
      res.writeHead(304);
      res.end();
    });
    route("POST", "/containers/c1/kill", (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("runtime exploded");
    });
    const e = await engine();
    await e.containers.start("c1");
    try {
      await e.containers.kill("c1");
      throw new Error("kill should fail");
    } catch (err) {
      expect(isFizzError(err)).toBe(true);
      expect((err as Error).message).toBe("the engine failed to kill container c1: runtime exploded");
    }
    await e.close();
  }, 30_000);

  test("logs: frames split across writes and mid-header decode to the right streams", async () => {
    route("GET", "/containers/c2/logs", (_req, res) => {
      res.writeHead(200, { "content-type": "application/vnd.docker.multiplexed-stream" });
      const bytes = Buffer.concat([
        encodeFrame({ stream: "stdout", data: new TextEncoder().encode("hello ") }),
        encodeFrame({ stream: "stderr", data: new TextEncoder().encode("warn\n") }),
        encodeFrame({ stream: "stdout", data: new TextEncoder().encode("world\n") }),
      ]);
      const cuts = [3, 9, 17, 20, bytes.length];
      let prev = 0;
      const next = (i: number) => {
        if (i >= cuts.length) return void res.end();
        res.write(bytes.subarray(prev, cuts[i]));
        prev = cuts[i]!;
        setTimeout(() => next(i + 1), 5);
      };
      next(0);
    });
    const e = await engine();
    expect(await collectOutput(e.containers.logs("c2", { tty: false }))).toEqual({ stdout: "hello world\n", stderr: "warn\n" });
    await e.close();
  }, 30_000);

  test("pull yields progress events and turns an in-stream error into a FizzError", async () => {
    route("POST", "/images/create", (req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"status":"Pulling from library/app","id":"1"}\r\n{"status":"Downloading","id":"abc","progressDetail":{"current":5,"total":10}}');
      setTimeout(() => {
        if (url.searchParams.get("tag") === "bad") res.end('\n{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n');
        else res.end('\n{"status":"Status: Downloaded newer image for app:1"}\n');
      }, 5);
    });
    const e = await engine();
    const events = [];
    for await (const ev of e.images.pull("app:1")) events.push(ev);
    expect(events.map((ev) => ev.status)).toEqual(["Pulling from library/app", "Downloading", "Status: Downloaded newer image for app:1"]);
    expect(events[1]!.progressDetail).toEqual({ current: 5, total: 10 });
    let failed: unknown;
    try {
      for await (const _ of e.images.pull("app:bad")) {
        /* drain */
      }
    } catch (err) {
      failed = err;
    }
    expect((failed as { code?: string }).code).toBe("engine.image_not_found");
    expect((failed as Error).message).toContain("image 'app:bad' not found");
    await e.close();
  }, 30_000);

  test("ensure: present images are left alone, 'never' refuses with a hint, 'missing' pulls", async () => {
    route("GET", "/images/here:1/json", (_req, res) => json(res, 200, { Id: "sha256:1", RepoTags: ["here:1"] }));
    route("GET", "/images/gone:1/json", (_req, res) => json(res, 404, { message: "No such image: gone:1" }));
    const e = await engine();
    const before = seen.length;
    expect(await e.images.ensure("here:1")).toBe("present");
    expect(seen.slice(before).some((r) => r.includes("/images/create"))).toBe(false);
    try {
      await e.images.ensure("gone:1", "never");
      throw new Error("should refuse");
    } catch (err) {
      expect((err as { code?: string }).code).toBe("engine.image_not_found");
      expect((err as { hint?: string }).hint).toContain("--pull never");
    }
    const progress: string[] = [];
    expect(await e.images.ensure("gone:1", "missing", { onProgress: (ev) => progress.push(ev.status ?? "") })).toBe("pulled");
    expect(progress).toContain("Status: Downloaded newer image for app:1");
    await e.close();
  }, 30_000);

  test("an engine that never answers times out with a FizzError instead of hanging", async () => {
    route("GET", "/info", () => {
      /* never answer */
    });
    const e = await engine({ headersTimeoutMs: 300 });
    try {
      await e.info();
      throw new Error("info should time out");
    } catch (err) {
      expect((err as { code?: string }).code).toBe("engine.timeout");
    }
    await e.close().catch(() => undefined);
  }, 30_000);

  test("a streaming call stops on abort, with the abort reason", async () => {
    route("GET", "/events", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"Type":"container","Action":"start","Actor":{"ID":"x","Attributes":{}},"time":1,"timeNano":1}\n');
      // ...and then nothing more, ever.
    });
    const e = await engine();
    const ac = new AbortController();
    const got: string[] = [];
    let reason: unknown;
    try {
      for await (const ev of e.events({ signal: ac.signal })) {
        got.push(ev.Action);
        setTimeout(() => ac.abort(new Error("stop watching")), 20);
      }
    } catch (err) {
      reason = err;
    }
    expect(got).toEqual(["start"]);
    expect((reason as Error | undefined)?.message).toBe("stop watching");
    e.transport.destroy();
  }, 30_000);

  test("a stale socket file does not hide the next live engine; alone, it is reported", async () => {
    const stale = join(dir, "stale.sock");
    writeFileSync(stale, ""); // what a killed engine leaves behind
    const staleEp = parseEngineAddress(`unix://${stale}`, "default");
    const liveEp = parseEngineAddress(`unix://${socket}`, "default");
    const e = await connectEngine({ candidates: [staleEp, liveEp] });
    expect(e.endpoint.address).toBe(`unix://${socket}`);
    await e.close();
    const err = await connectEngine({ candidates: [staleEp] }).catch((x: unknown) => x);
    expect((err as { code?: string }).code).toBe("engine.unreachable");
    expect((err as Error).message).toContain(stale);
  }, 30_000);

  test("tcp:// endpoints work like unix sockets", async () => {
    const tcp = createServer((req, res) => {
      if (req.url === "/_ping") {
        res.writeHead(200, { "api-version": "1.43", server: "Libpod/5.0.0 (linux)", "libpod-api-version": "5.0.0" });
        res.end("OK");
      } else json(res, 200, { Version: "5.0.0", ApiVersion: "1.43", Os: "linux", Arch: "amd64" });
    });
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const port = (tcp.address() as { port: number }).port;
    try {
      const e = await connectEngine({ env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
      expect(e.endpoint).toMatchObject({ transport: "tcp", source: "DOCKER_HOST" });
      expect(e.name).toBe("podman");
      expect(e.apiVersion).toBe("1.43");
      expect((await e.version()).Version).toBe("5.0.0");
      await e.close();
    } finally {
      tcp.closeAllConnections();
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  }, 30_000);

  test("an engine older than API 1.41 is refused with a clear message", async () => {
    const old = join(dir, "old.sock");
    const s = createServer((_req, res) => {
      res.writeHead(200, { "api-version": "1.40" });
      res.end("OK");
    });
    await new Promise<void>((r) => s.listen(old, r));
    try {
      await connectEngine({ engine: `unix://${old}` });
      throw new Error("should refuse");
    } catch (err) {
      expect((err as { code?: string }).code).toBe("engine.api_version");
      expect((err as Error).message).toContain("1.40");
    } finally {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }, 30_000);
});
