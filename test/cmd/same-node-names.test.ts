/**
 * Cluster members may share a host name (VMs cloned from one image, the
 * 3-host test cluster): the CLI tells its own node's replicas from the others'
 * by node id, not by name. With names alone, `fizz exec` on a node without a
 * replica said the service had no running container, and `fizz logs` printed
 * nothing and no note, though the replica ran on another node called the same.
 * And `fizz stop|start|restart`, which act on this node's engine only, say
 * which replicas they did not reach (they said "Nothing to stop").
 * The engine (no container of the project here) and the agent are stand-ins
 * on unix sockets.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedFizz } from "./isolated-cli.ts";

let dir: string;
let engine: Server;
let agent: Server;
const SELF = "b1921a28-0cb8-4400-836e-f98f93a5ea44";
const OTHER = "974c37d1-7cb2-41bf-bf37-c81f608a38a0";

function serve(handler: (url: URL, json: (status: number, body: unknown) => void) => void): Server {
  return createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    handler(url, (status, body) => {
      res.writeHead(status, { "content-type": "application/json", "api-version": "1.41" });
      res.end(JSON.stringify(body));
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-same-names-"));
  writeFileSync(join(dir, "compose.yaml"), "name: shop\nservices:\n  web:\n    image: x\n");
  engine = serve((url, json) => {
    if (url.pathname === "/_ping") return json(200, "OK");
    if (url.pathname.endsWith("/containers/json") || url.pathname.endsWith("/networks") || url.pathname.endsWith("/images/json")) return json(200, []);
    if (url.pathname.endsWith("/volumes")) return json(200, { Volumes: [] });
    if (url.pathname.endsWith("/info")) return json(200, { ID: "engine" });
    json(404, { message: `no such thing: ${url.pathname}` });
  });
  agent = serve((url, json) => {
    if (url.pathname === "/healthz") return json(200, { status: "ok" });
    if (url.pathname === "/v1/info") return json(200, { api: "v1", node: SELF, engine: { name: "docker", id: "engine", address: `unix://${join(dir, "engine.sock")}` } });
    const node = (id: string, self: boolean) => ({ id, name: "vm", address: "10.99.0.10:7946", state: "alive", incarnation: 0, labels: {}, resources: { cpuMillis: 2000, memoryBytes: 2 ** 30 }, rttMs: null, self });
    if (url.pathname === "/v1/cluster/nodes") return json(200, { nodes: [node(SELF, true), node(OTHER, false)] });
    if (url.pathname === "/v1/containers") {
      const row = (number: number, nodeId: string) => ({ id: "", name: `shop-web-${number}`, deployment: "shop", service: "web", number, image: "x", state: "running", health: "none", status: "running", createdAt: 0, restarts: 0, ports: [], node: "vm", nodeId });
      return json(200, { containers: [row(1, OTHER), row(2, SELF)] });
    }
    if (url.pathname === "/v1/deployments/shop/logs") return json(200, "");
    if (url.pathname === "/v1/deployments/shop") return json(200, { name: "shop", generation: 1, createdAt: 0, updatedAt: 0, services: 1, running: 1, desired: 1, spec: { name: "shop", services: { web: {} } } });
    json(404, { code: "not_found", message: `no route ${url.pathname}` });
  });
  await new Promise<void>((r) => engine.listen(join(dir, "engine.sock"), r));
  await new Promise<void>((r) => agent.listen(join(dir, "agent.sock"), r));
});

afterAll(async () => {
  await new Promise<void>((r) => engine.close(() => r()));
  await new Promise<void>((r) => agent.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function fizz(args: string[]) {
  // No engine named: the CLI reads the agent's (the stand-in's /v1/info says which).
  return isolatedFizz(dir, { FIZZ_HOST: `unix:${join(dir, "agent.sock")}` }, args);
}

test("exec names the other node by name and id when it shares this node's name", async () => {
  const r = await fizz(["exec", "-T", "web", "hostname"]);
  expect(r.stderr).toContain("service 'web' of project shop runs on another node: shop-web-1 on node vm (974c37d1)");
  expect(r.code).not.toBe(0);
}, 30_000);

test("logs says the replica's output is on the other node", async () => {
  const r = await fizz(["logs", "web"]);
  expect(r.stderr).toContain("shop-web-1 on vm (974c37d1)");
}, 30_000);

test("stop, start and restart say they did not reach the replicas on other nodes, as kill, rm and pause do", async () => {
  for (const [verb, done] of [["stop", "stopped"], ["start", "started"], ["restart", "restarted"]] as const) {
    const r = await fizz([verb, "web"]);
    expect(r.stderr).toContain(`note: not ${done} on other nodes: shop-web-1 on vm (974c37d1) (run the command there, or use -H)`);
  }
}, 60_000);

test("ps: the NODE column tells apart nodes that share a name", async () => {
  const r = await fizz(["ps"]);
  const rows = r.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3).join(" | "));
  expect(rows).toEqual(["shop-web-1 | web | vm (974c37d1)", "shop-web-2 | web | vm (b1921a28)"]);
}, 30_000);
