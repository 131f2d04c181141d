/**
 * `fizz logs --since 10m` (and an RFC 3339 time) reaches the engine as unix
 * seconds: Docker 20.10's logs endpoint refuses anything else
 * ("strconv.ParseInt: parsing \"5s\""). The engine is a stand-in on a unix socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedFizz } from "./isolated-cli.ts";

let dir: string;
let engine: Server;
const sinces: (string | null)[] = [];
/** The engine's logs endpoint answers 500 (a stream that cannot be read). */
let failLogs = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-logs-since-"));
  writeFileSync(join(dir, "compose.yaml"), "name: since\nservices:\n  worker:\n    image: x\n");
  const c = { Id: "c1", Names: ["/since-worker-1"], State: "running", Labels: { "com.docker.compose.project": "since", "com.docker.compose.service": "worker", "com.docker.compose.container-number": "1" } };
  engine = createServer((req, res) => {
    const url = new URL(req.url!, "http://engine");
    if (url.pathname.endsWith("/logs")) {
      if (failLogs) {
        res.writeHead(500, { "content-type": "application/json" });
        return res.end(JSON.stringify({ message: "error from daemon in stream: log driver went away" }));
      }
      sinces.push(url.searchParams.get("since"));
      res.writeHead(200, { "content-type": "application/vnd.docker.raw-stream" });
      return res.end();
    }
    res.writeHead(200, { "content-type": url.pathname === "/_ping" ? "text/plain" : "application/json", "api-version": "1.41" });
    res.end(url.pathname === "/_ping" ? "OK" : url.pathname.endsWith("/containers/json") ? JSON.stringify([c]) : url.pathname.endsWith("/c1/json") ? JSON.stringify({ Id: "c1", Config: { Tty: false } }) : "{}");
  });
  await new Promise<void>((r) => engine.listen(join(dir, "engine.sock"), r));
});

afterAll(async () => {
  await new Promise<void>((r) => engine.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function fizz(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return isolatedFizz(dir, { FIZZ_ENGINE: `unix://${join(dir, "engine.sock")}` }, args).then(({ code, stderr }) => ({ code, stderr }));
}

describe("fizz logs --since", () => {
  test("a duration and an RFC 3339 time are sent as unix seconds; a malformed one is a usage error", async () => {
    const before = Date.now() / 1000;
    expect(await fizz(["logs", "--since", "10m", "worker"])).toEqual({ code: 0, stderr: "" });
    expect(await fizz(["logs", "--since", "2026-12-05T00:06:58.5Z", "worker"])).toEqual({ code: 0, stderr: "" });
    expect(sinces).toHaveLength(2);
    const tenMinutesAgo = Number(sinces[0]);
    expect(Math.abs(tenMinutesAgo - (before - 600))).toBeLessThan(30);
    expect(sinces[1]).toBe("1796429218.500000000");
    const bad = await fizz(["logs", "--since", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since expects a duration");
  }, 30_000);
});

describe("fizz logs exit code", () => {
  test("a container's stream that fails is said on stderr and the command exits 1", async () => {
    failLogs = true;
    try {
      const r = await fizz(["logs", "worker"]);
      expect(r.stderr).toContain("since-worker-1: log stream ended");
      expect(r.code).toBe(1);
    } finally {
      failLogs = false;
    }
    expect((await fizz(["logs", "worker"])).code).toBe(0);
  }, 30_000);
});
