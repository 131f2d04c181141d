/**
 * `fizz scale` checks every assignment before it applies any: a misspelt
 * service is refused with the nearest name (as the other verbs do), and
 * nothing is scaled. The agent is a stand-in on a unix socket.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedFizz } from "./isolated-cli.ts";

let dir: string;
let agent: Server;
const scaled: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-scale-names-"));
  agent = createServer((req, res) => {
    const url = new URL(req.url!, "http://agent");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/healthz") return json(200, { status: "ok" });
    if (req.method === "GET" && url.pathname === "/v1/deployments/shop") return json(200, { name: "shop", generation: 1, createdAt: 0, updatedAt: 0, services: 2, running: 2, desired: 2, spec: { name: "shop", services: { web: {}, worker: {} } } });
    const m = /^\/v1\/deployments\/shop\/services\/([^/]+)\/scale$/.exec(url.pathname);
    if (req.method === "POST" && m) {
      scaled.push(m[1]!);
      return json(200, { deployment: "shop", service: m[1], previous: 1, replicas: 2 });
    }
    json(404, { code: "not_found", message: `no route ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((r) => agent.listen(join(dir, "agent.sock"), r));
});

afterAll(async () => {
  await new Promise<void>((r) => agent.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function fizz(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return isolatedFizz(dir, { FIZZ_HOST: `unix:${join(dir, "agent.sock")}` }, args).then(({ code, stderr }) => ({ code, stderr }));
}

test("a misspelt service is refused with the nearest name, and no assignment is applied", async () => {
  const bad = await fizz(["scale", "-p", "shop", "web=2", "wokrer=3"]);
  expect(bad.stderr).toContain("deployment shop has no service wokrer");
  expect(bad.stderr).toContain("did you mean 'worker'?");
  expect(bad.code).toBe(2);
  expect(scaled).toEqual([]);
  const ok = await fizz(["scale", "-p", "shop", "web=2"]);
  expect(ok.code).toBe(0);
  expect(scaled).toEqual(["web"]);
}, 30_000);
