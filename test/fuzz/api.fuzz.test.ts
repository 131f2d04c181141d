/**
 * Issue 18 acceptance: at least 10,000 generated API request bodies
 * (test/fuzz/api-requests.ts) against a real `fizz agent` process, over its
 * unix socket, four in flight. The agent's engine is test/fuzz/fake-engine.ts:
 * it owns nothing, so a deployment that validates is stored and then fails
 * to pull, and no fuzzed project ever runs. Zero 500s (and no other 5xx:
 * the fake engine only refuses with 404s), zero requests over 10 s, /healthz
 * answering throughout, the agent's peak RSS under 200 MB, and every stored
 * deployment still readable afterwards. A failure prints the seed, the batch
 * and the request; replay with FIZZ_FUZZ_SEED=<seed>.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../core/compose/load.ts";
import { startAgent, type AgentProcess } from "../platform/api/agent-process.ts";
import { apiRequest, type ApiRequest } from "./api-requests.ts";
import { startFakeEngine, type FakeEngine } from "./fake-engine.ts";
import { HANG_MS, MAX_RSS_BYTES, mb, peakRss, RUNS, SEED, show } from "./support.ts";

const BATCH = 250;
const IN_FLIGHT = 4;

let dir: string;
let engine: FakeEngine;
let agent: AgentProcess;
let api: string;
let sockServer: Server;
let special: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-fuzz-api-"));
  engine = await startFakeEngine(join(dir, "engine.sock"));
  api = join(dir, "api.sock");
  // No node registry: it would resolve every valid body's image at its upstream
  // (registry-1.docker.io for busybox), a DNS query off this host (tests talk
  // to loopback only); the fake engine refuses the pull by itself.
  agent = await startAgent({ args: ["--api", `unix:${api}`, "--engine", `unix://${engine.socket}`, "--registry", "off"] });
  // Special files hostile paths may name on the agent's host.
  execFileSync("mkfifo", [join(dir, "fifo")]);
  sockServer = createServer();
  await new Promise<void>((r) => sockServer.listen(join(dir, "sock"), r));
  mkdirSync(join(dir, "adir"));
  special = [join(dir, "fifo"), join(dir, "sock"), join(dir, "adir")];
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  agent?.cleanup();
  await engine?.close();
  sockServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  code?: string;
  ms: number;
}

function send(r: ApiRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const body = r.body === undefined ? undefined : Buffer.from(r.body, "utf8");
    const req = request({ socketPath: api, method: r.method, path: r.path, headers: { host: "fizz", ...(body ? { "content-type": r.contentType ?? "application/json", "content-length": body.length } : {}) }, timeout: HANG_MS });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text.length < 4096 ? (text += c) : undefined));
      res.on("end", () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          /* not JSON: reported through the status */
        }
        resolve({ status: res.statusCode ?? 0, ...(code ? { code } : {}), ms: performance.now() - t0 });
      });
    });
    req.on("timeout", () => {
      req.destroy();
      resolve({ status: -1, code: "hang", ms: performance.now() - t0 });
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ status: 0, code: e.code ?? "error", ms: performance.now() - t0 }));
    req.end(body);
  });
}

test(`${RUNS} generated API bodies: no 500, no hang, /healthz answers, agent RSS bounded (seed ${SEED})`, async () => {
  const base = loadProject({
    cwd: "/p",
    env: {},
    reader: { read: (p) => (p === "/p/compose.yaml" ? "name: shop\nservices:\n  web:\n    image: busybox\n    ports: ['8080:80']\n    environment: {A: '1'}\n    deploy: {replicas: 2}\n    healthcheck: {test: ['CMD', 'true'], interval: 5s}\n  db:\n    image: busybox\n    volumes: [data:/data]\nvolumes:\n  data: {}\n" : undefined) },
  }).project!;
  const arb = apiRequest(JSON.parse(JSON.stringify(base)) as Record<string, unknown>, special);
  const statuses = new Map<string, number>();
  const failures: string[] = [];
  let bodies = 0;
  let requests = 0;
  let slowest = 0;
  /** The slowest requests, to say what a near-hang was. */
  const slow: { ms: number; what: string }[] = [];
  let healthWorst = 0;
  const started = performance.now();

  // /healthz throughout, once a second; the agent's memory with it.
  let probing = true;
  const rssTrail: number[] = [];
  const probe = (async () => {
    while (probing) {
      rssTrail.push(Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.proc.pid}/status`, "utf8"))?.[1] ?? 0) / 1024));
      const a = await send({ method: "GET", path: "/healthz" });
      healthWorst = Math.max(healthWorst, a.ms);
      if (a.status !== 200) failures.push(`/healthz answered ${a.status} ${a.code ?? ""} after ${Math.round(a.ms)} ms`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  for (let batch = 0; bodies < RUNS && failures.length < 20; batch++) {
    const cases = fc.sample(arb, { seed: SEED + batch, numRuns: BATCH });
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < cases.length; i = next++) {
        const r = cases[i]!;
        const a = await send(r);
        requests++;
        if (r.body !== undefined) bodies++;
        slowest = Math.max(slowest, a.ms);
        if (a.ms > 2000) slow.push({ ms: a.ms, what: `seed ${SEED + batch} case ${i}: ${r.method} ${show(r.path, 60)} → ${a.status} ${a.code ?? ""}; body ${show(r.body ?? "", 160)}` });
        const key = `${r.method} ${a.status}${a.code ? ` ${a.code}` : ""}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (a.status >= 500 || a.status <= 0) failures.push(`seed ${SEED + batch} case ${i}: ${r.method} ${show(r.path, 100)} → ${a.status} ${a.code ?? ""} in ${Math.round(a.ms)} ms; body ${show(r.body ?? "", 300)}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  }
  probing = false;
  await probe;

  // What was stored stays readable.
  for (const d of ["shop", "app", "web", "x", "fuzz-1", "fuzz-2"]) {
    for (const path of [`/v1/deployments/${d}`, `/v1/deployments/${d}/services`]) {
      const a = await send({ method: "GET", path });
      if (a.status >= 500 || a.status <= 0) failures.push(`after the run: GET ${path} → ${a.status} ${a.code ?? ""}`);
    }
  }
  const peak = peakRss(agent.proc.pid!);
  const internal = agent.logs.filter((l) => String(l.msg ?? "").includes("handler failed"));
  console.log(
    `fuzz api seed ${SEED}: ${bodies} bodies in ${requests} requests, ${((performance.now() - started) / 1000).toFixed(1)} s, slowest ${Math.round(slowest)} ms, /healthz worst ${Math.round(healthWorst)} ms, agent peak RSS ${mb(peak)}\n  ${[...statuses.entries()].sort().map(([k, v]) => `${k} ×${v}`).join("\n  ")}`,
  );
  console.log(`  agent RSS each second (MB): ${rssTrail.join(" ")}`);
  for (const x of slow.sort((a, b) => b.ms - a.ms).slice(0, 5)) console.log(`  slow: ${Math.round(x.ms)} ms ${x.what}`);
  for (const f of failures) console.log(`FAILED ${f}`);
  for (const l of internal.slice(0, 5)) console.log(`agent log: ${show(l, 600)}`);
  // The agent's whole log, to look into a failure: FUZZ_DUMP_LOGS=/tmp/agent.jsonl.
  if (process.env.FUZZ_DUMP_LOGS) writeFileSync(process.env.FUZZ_DUMP_LOGS, agent.logs.map((l) => JSON.stringify(l)).join("\n"));
  expect(failures).toEqual([]);
  expect(internal).toEqual([]);
  expect(bodies).toBeGreaterThanOrEqual(RUNS);
  expect(slowest).toBeLessThan(HANG_MS);
  expect(peak).toBeLessThan(MAX_RSS_BYTES);
}, 900_000);
