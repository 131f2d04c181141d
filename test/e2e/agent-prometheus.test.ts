/**
 * A real Prometheus server (Debian `prometheus`) scrapes a running
 * `fizz agent` over TCP with the agent's bearer token; `up` must become 1 and
 * the agent's own series must arrive. Missing prometheus skips locally and
 * fails under CI=true.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startAgent, type AgentProcess } from "../platform/api/agent-process.ts";

const havePrometheus = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
if (!havePrometheus && process.env.CI === "true") throw new Error("prometheus not found: apt-get install prometheus (required under CI=true)");
if (!havePrometheus) console.warn("skipping: prometheus not found (apt-get install prometheus)");

let agent: AgentProcess | undefined;
let prom: ChildProcess | undefined;
let dir = "";

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      let b = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (b += c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(b));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function query(port: number, q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = (await getJson(port, `/api/v1/query?query=${encodeURIComponent(q)}`)) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return r.status === "success" ? r.data.result : [];
}

beforeAll(async () => {
  if (!havePrometheus) return;
  dir = mkdtempSync(join(tmpdir(), "fizz-prom-"));
  const apiPort = await freePort();
  agent = await startAgent({ args: ["--api", `127.0.0.1:${apiPort}`] });
  const promPort = await freePort();
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: fizz
    scrape_interval: 1s
    scrape_timeout: 1s
    authorization:
      type: Bearer
      credentials_file: ${join(agent.dataDir, "api-token")}
    static_configs:
      - targets: ["127.0.0.1:${apiPort}"]
`,
  );
  prom = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let promErr = "";
  prom.stderr!.on("data", (c: Buffer) => (promErr += c.toString()));
  (globalThis as { promPort?: number }).promPort = promPort;
  (globalThis as { promErr?: () => string }).promErr = () => promErr;
}, 60_000);

afterAll(async () => {
  prom?.kill("SIGTERM");
  if (prom && prom.exitCode === null) await new Promise((r) => prom!.once("exit", r));
  if (agent) {
    await agent.stop();
    agent.cleanup();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("Prometheus scrapes the agent: up == 1 and fizz_* series arrive", async () => {
  if (!havePrometheus) return;
  const port = (globalThis as { promPort?: number }).promPort!;
  let up: Awaited<ReturnType<typeof query>> = [];
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    up = await query(port, 'up{job="fizz"}').catch(() => []);
    if (up.length && up[0]!.value[1] === "1") break;
    await Bun.sleep(500);
  }
  expect({ up: up.map((r) => r.value[1]), promErr: up.length ? "" : (globalThis as { promErr?: () => string }).promErr!() }).toEqual({ up: ["1"], promErr: "" });
  const containers = await query(port, "sum(fizz_containers)");
  // The agent counts every Fizz-managed container on its engine (other tests' too), so only the series' presence is fixed.
  expect(containers.length).toBe(1);
  expect(Number.isInteger(Number(containers[0]!.value[1]))).toBe(true);
  const rss = await query(port, 'process_resident_memory_bytes{job="fizz"}');
  expect(Number(rss[0]?.value[1])).toBeGreaterThan(0);
  // The scrapes themselves were counted by route.
  // (A scrape is counted once answered, so it shows from the next scrape on.)
  let scraped = 0;
  for (let i = 0; i < 20 && scraped === 0; i++) {
    const r = await query(port, 'fizz_api_request_duration_seconds_count{route="/metrics",code="200"}');
    scraped = Number(r[0]?.value[1] ?? 0);
    if (scraped === 0) await Bun.sleep(500);
  }
  expect(scraped).toBeGreaterThan(0);
}, 90_000);
