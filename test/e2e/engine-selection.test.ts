/**
 * Issue 11: the engine a user names is the engine the stack runs on. A fizz
 * agent drives one engine; with an agent on one engine, naming the other
 * (DOCKER_HOST here) makes `fizz up -d --wait` and `fizz down` refuse with the
 * explanation and create or remove nothing anywhere; following the hint
 * (--no-agent) runs the stack on the named engine, checked through that
 * engine's own API (libpod's for Podman). Implicit choices go to the agent;
 * the agent's engine reached by another path (a symlinked socket) is the same
 * engine. With no agent running, naming an engine starts one on it. Both
 * directions: an agent on Docker, and an agent on Podman.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "../../platform/api/client.ts";
import { ENGINE_SOCKETS, engineSocket, type EngineKind } from "../support/engine.ts";
import { BUN, ROOT, startAgent, type AgentProcess } from "../platform/api/agent-process.ts";

const dockerSock = await engineSocket("docker");
const podmanSock = await engineSocket("podman");
const both = dockerSock !== undefined && podmanSock !== undefined;

const dir = mkdtempSync(join(tmpdir(), "fizz-engsel-"));
const PROJECT = `fzsel${process.pid}`;
writeFileSync(
  join(dir, "compose.yaml"),
  `name: ${PROJECT}
services:
  web:
    image: fizz-test/busybox:1
    command: ["httpd", "-f", "-p", "8000", "-h", "/www"]
    stop_grace_period: 1s
    healthcheck: {test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8000/"], interval: 1s, retries: 30}
`,
);
const address = (k: EngineKind) => `unix://${ENGINE_SOCKETS[k]}`;
const agents: AgentProcess[] = [];

/** The fizz CLI with no engine named unless `env` names one; the agent at `agentSock`. */
function fizz(args: string[], agentSock: string, env: Record<string, string> = {}) {
  const base = { ...process.env };
  for (const k of ["DOCKER_HOST", "FIZZ_ENGINE", "FIZZ_NO_AGENT", "FIZZ_HOST"]) delete base[k];
  const r = spawnSync(BUN, [join(ROOT, "cmd/fizz.ts"), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...base, NO_COLOR: "1", FIZZ_HOST: `unix:${agentSock}`, FIZZ_DATA_DIR: join(dir, "cli-data"), ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** GET on an engine's own API (for Podman, libpod's native endpoints, not its Docker-compatible ones). */
function api(kind: EngineKind, path: string): unknown {
  const prefix = kind === "podman" ? "/v4.0.0/libpod" : "/v1.41";
  const r = spawnSync("curl", ["-sf", "--unix-socket", ENGINE_SOCKETS[kind], `http://d${prefix}${path}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`GET ${kind} ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const label = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`] }));
interface Listed {
  Id: string;
  State: string;
}
function containersOn(kind: EngineKind): Listed[] {
  return api(kind, `/containers/json?all=true&filters=${label}`) as Listed[];
}
/** Everything of the project on an engine: containers, networks, volumes. */
function footprint(kind: EngineKind): { containers: number; networks: number; volumes: number } {
  const networks = api(kind, `/networks${kind === "podman" ? "/json" : ""}?filters=${label}`) as unknown[];
  const vols = api(kind, `/volumes${kind === "podman" ? "/json" : ""}?filters=${label}`) as unknown[] | { Volumes: unknown[] | null };
  return { containers: containersOn(kind).length, networks: networks.length, volumes: (Array.isArray(vols) ? vols : (vols.Volumes ?? [])).length };
}
const NOTHING = { containers: 0, networks: 0, volumes: 0 };

function healthOn(kind: EngineKind): string[] {
  return containersOn(kind).map((c) => {
    const i = api(kind, `/containers/${c.Id}/json`) as { State: { Status: string; Health?: { Status: string }; Healthcheck?: { Status: string } } };
    return `${i.State.Status}/${(i.State.Health ?? i.State.Healthcheck)?.Status ?? "none"}`;
  });
}

async function agentOn(kind: EngineKind, sock: string): Promise<AgentProcess> {
  const a = await startAgent({ dataDir: join(dir, `agent-${kind}`), args: ["--engine", address(kind), "--api", `unix:${sock}`] });
  agents.push(a);
  return a;
}

afterAll(async () => {
  for (const a of agents) {
    await a.stop().catch(() => {});
  }
  // Whatever a failed run left, on both engines.
  for (const k of ["docker", "podman"] as const) fizz(["down", "-v", "--no-agent", "--engine", address(k), "-p", PROJECT], join(dir, "none.sock"));
  rmSync(dir, { recursive: true, force: true });
});

for (const [agentKind, otherKind] of [
  ["docker", "podman"],
  ["podman", "docker"],
] as const) {
  describe.skipIf(!both)(`an agent on ${agentKind}, ${otherKind} named with DOCKER_HOST`, () => {
    const sock = join(dir, `${agentKind}.sock`);
    const other = { DOCKER_HOST: address(otherKind) };

    test("fizz up -d --wait refuses with the explanation and creates nothing anywhere; fizz down removes nothing", async () => {
      await agentOn(agentKind, sock);
      const r = fizz(["up", "-d", "--wait"], sock, other);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`deploys on ${agentKind} (${address(agentKind)}), but DOCKER_HOST asks for ${otherKind} (${address(otherKind)}); nothing was changed`);
      expect(r.err).toContain("    fizz up -d --wait --no-agent\n");
      expect(r.err).toContain("    env -u DOCKER_HOST fizz up -d --wait\n");
      expect(footprint("docker")).toEqual(NOTHING);
      expect(footprint("podman")).toEqual(NOTHING);
      expect(await new ApiClient({ address: { kind: "unix", path: sock } }).listDeployments()).toEqual([]);

      const d = fizz(["down"], sock, other);
      expect(d.code).toBe(0);
      expect(d.err).toContain(`Nothing to remove for project ${PROJECT}`);
    }, 60_000);

    test(`following the hint, --no-agent runs it on ${otherKind} (its own API says so); DOCKER_HOST=${otherKind} fizz down removes it there`, () => {
      const r = fizz(["up", "-d", "--wait", "--no-agent"], sock, other);
      expect(r.code, r.err).toBe(0);
      expect(healthOn(otherKind)).toEqual(["running/healthy"]);
      expect(footprint(agentKind)).toEqual(NOTHING);

      const d = fizz(["down"], sock, other);
      expect(d.code, d.err).toBe(0);
      expect(footprint(otherKind)).toEqual(NOTHING);
    }, 90_000);

    test(`no engine named: the agent deploys on ${agentKind} and exec follows it; DOCKER_HOST=${otherKind} fizz down refuses; a symlinked socket to ${agentKind} is the same engine`, () => {
      const r = fizz(["up", "-d", "--wait"], sock);
      expect(r.code, r.err).toBe(0);
      expect(healthOn(agentKind)).toEqual(["running/healthy"]);
      expect(footprint(otherKind)).toEqual(NOTHING);
      const e = fizz(["exec", "-T", "web", "cat", "/etc/fizz-fixture"], sock);
      expect(e.code, e.err).toBe(0);
      expect(e.out).toContain("fizz-test busybox fixture version 1");

      const refused = fizz(["down"], sock, other);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`deploys on ${agentKind}`);
      expect(refused.err).toContain("    fizz down --no-agent\n");
      expect(healthOn(agentKind)).toEqual(["running/healthy"]);

      const alias = join(dir, `${agentKind}-alias.sock`);
      symlinkSync(ENGINE_SOCKETS[agentKind], alias);
      const d = fizz(["down"], sock, { DOCKER_HOST: `unix://${alias}` });
      expect(d.code, d.err).toBe(0);
      expect(d.err).toContain("removed by the fizz agent");
      expect(footprint(agentKind)).toEqual(NOTHING);
    }, 90_000);
  });
}

describe.skipIf(!both)("no agent running", () => {
  test("DOCKER_HOST=<podman> fizz up -d --wait starts an agent on Podman and deploys there; fizz down through it", async () => {
    const sock = join(dir, "auto.sock");
    const podman = { DOCKER_HOST: address("podman") };
    const client = new ApiClient({ address: { kind: "unix", path: sock } });
    let pid: number | undefined;
    try {
      const r = fizz(["up", "-d", "--wait"], sock, { ...podman, FIZZ_DATA_DIR: join(dir, "auto-data") });
      pid = Number((await client.info().catch(() => ({ pid: undefined }))).pid) || undefined;
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`started a fizz agent in the background (pid ${pid}, socket ${sock}, engine ${address("podman")}`);
      expect(((await client.info()).engine as { name: string }).name).toBe("podman");
      expect(healthOn("podman")).toEqual(["running/healthy"]);
      expect(footprint("docker")).toEqual(NOTHING);

      const d = fizz(["down"], sock, podman);
      expect(d.code, d.err).toBe(0);
      expect(d.err).toContain("removed by the fizz agent");
      expect(footprint("podman")).toEqual(NOTHING);
    } finally {
      if (pid) {
        process.kill(pid, "SIGTERM");
        for (let i = 0; i < 50 && (await client.health().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      }
      try {
        process.stderr.write(readFileSync(join(dir, "auto-data", "agent.log"), "utf8").split("\n").filter((l) => /"level":(50|60)/.test(l)).join("\n"));
      } catch {
        /* no log: the agent never started */
      }
    }
  }, 90_000);
});

/**
 * Issue 11 follow-up: the data directory records the engine its deployments run
 * on. An agent restarted on the other engine refuses to start (and `fizz up -d`
 * that would start it says why), creating nothing there; restarted with no
 * engine named, it goes back to the recorded one; `--adopt-engine` moves them.
 */
for (const [first, second] of [
  ["docker", "podman"],
  ["podman", "docker"],
] as const) {
  describe.skipIf(!both)(`an agent's deployments on ${first}, the agent restarted on ${second}`, () => {
    const sock = join(dir, `moved-${first}.sock`);
    const dataDir = join(dir, `moved-${first}-data`);
    const noEngine = { DOCKER_HOST: "", FIZZ_ENGINE: "" };
    let agent: AgentProcess | undefined;
    const stopAgent = async () => {
      await agent?.stop();
      agent = undefined;
    };
    afterAll(async () => {
      await stopAgent().catch(() => {});
    });

    test(`refused (both engines, the deployment, the ways on); fizz up -d with DOCKER_HOST=${second} says so; nothing on ${second}`, async () => {
      agent = await startAgent({ dataDir, args: ["--engine", address(first), "--api", `unix:${sock}`] });
      agents.push(agent);
      const up = fizz(["up", "-d", "--wait"], sock);
      expect(up.code, up.err).toBe(0);
      expect(healthOn(first)).toEqual(["running/healthy"]);
      const startedAt = () => containersOn(first).map((c) => (api(first, `/containers/${c.Id}/json`) as { State: { StartedAt: string } }).State.StartedAt);
      const before = startedAt();
      await stopAgent();

      const r = spawnSync(BUN, [join(ROOT, "cmd/fizz.ts"), "agent", "--data-dir", dataDir, "--api", `unix:${sock}`, "--engine", address(second)], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...noEngine }, timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error: the data directory ${dataDir} holds 1 deployment (${PROJECT}) that run on ${first} (${address(first)}), but this agent was started on ${second} (${address(second)}); it would recreate them there, so it did not start`);
      expect(r.stderr).toContain(`start it on their engine: fizz agent --engine ${address(first)}`);
      expect(r.stderr).toContain("--adopt-engine");

      // The CLI that would start that agent in the background tells the user why it did not start.
      const auto = fizz(["up", "-d", "--wait"], sock, { DOCKER_HOST: address(second), FIZZ_DATA_DIR: dataDir });
      expect(auto.code).toBe(1);
      expect(auto.err).toContain(`error: the fizz agent did not start: the data directory ${dataDir} holds 1 deployment (${PROJECT}) that run on ${first}`);
      expect(auto.err).toContain(`hint: start it on their engine: fizz agent --engine ${address(first)}`);
      expect(footprint(second)).toEqual(NOTHING);
      expect(healthOn(first)).toEqual(["running/healthy"]);
      expect(startedAt()).toEqual(before);
    }, 120_000);

    test(`restarted with no engine named, it goes back to ${first}: nothing restarted, the deployment still its own`, async () => {
      agent = await startAgent({ dataDir, args: ["--api", `unix:${sock}`], env: noEngine });
      agents.push(agent);
      const info = await new ApiClient({ address: { kind: "unix", path: sock } }).info();
      expect((info.engine as { name: string; address: string }).address).toBe(address(first));
      const ls = fizz(["ls", "--format", "json"], sock);
      expect((JSON.parse(ls.out) as { name: string; running: number }[]).find((d) => d.name === PROJECT)?.running).toBe(1);
      expect(footprint(second)).toEqual(NOTHING);
      await stopAgent();
    }, 60_000);

    test(`--adopt-engine moves it onto ${second} on purpose; the containers on ${first} are left as they are`, async () => {
      agent = await startAgent({ dataDir, args: ["--api", `unix:${sock}`, "--engine", address(second), "--adopt-engine"], env: noEngine });
      agents.push(agent);
      expect(agent.logs.some((l) => String(l.msg).startsWith(`--adopt-engine: 1 deployment(s) move onto ${second}`))).toBe(true);
      const client = new ApiClient({ address: { kind: "unix", path: sock } });
      for (let i = 0; i < 120 && healthOn(second).join() !== "running/healthy"; i++) await new Promise((r) => setTimeout(r, 500));
      expect(healthOn(second)).toEqual(["running/healthy"]);
      expect(healthOn(first)).toEqual(["running/healthy"]);
      await client.down(PROJECT);
      expect(footprint(second)).toEqual(NOTHING);
      await stopAgent();
      const left = fizz(["down", "--no-agent", "--engine", address(first), "-p", PROJECT], join(dir, "none.sock"));
      expect(left.code, left.err).toBe(0);
      expect(footprint(first)).toEqual(NOTHING);
    }, 120_000);
  });
}
