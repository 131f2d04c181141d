/**
 * What a user asks of a deployment the fizz agent keeps, on Docker and on
 * Podman, through the real CLI and a real agent process:
 * - `fizz up -d` through the agent shows the same progress rows as
 *   `--no-agent` (plain), and `--progress json` is JSON only;
 * - `x-fizz.scaling` bounds `fizz scale`: a count outside them is refused
 *   naming both bounds, and nothing of the command is applied;
 * - `fizz stop`, `kill`, `rm` and `pause` stick: the agent does not start,
 *   recreate or unpause what the user stopped (every service `restart: always`)
 *   until `fizz start`, `unpause` or `up`;
 * - `fizz up -d web` after an edit changes web only, through the agent.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENGINE_SOCKETS, engineSocket, type EngineKind } from "../support/engine.ts";
import { BUN, ROOT, startAgent, type AgentProcess } from "../platform/api/agent-process.ts";

const sockets = { docker: await engineSocket("docker"), podman: await engineSocket("podman") };
const dir = mkdtempSync(join(tmpdir(), "fizz-intent-"));
const agents: AgentProcess[] = [];
afterAll(async () => {
  for (const a of agents) await a.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const STACK = `services:
  web:
    image: fizz-test/busybox:1
    command: ["sleep", "3600"]
    restart: always
    stop_grace_period: 1s
  worker:
    image: fizz-test/busybox:1
    command: ["sleep", "3600"]
    restart: always
    stop_grace_period: 1s
    x-fizz:
      scaling: {min: 2, max: 3}
`;

/** GET on the engine's Docker-compatible API. */
function api(kind: EngineKind, path: string): unknown {
  const r = spawnSync("curl", ["-sf", "--unix-socket", ENGINE_SOCKETS[kind], `http://d/v1.41${path}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`GET ${kind} ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** `service-n: state` of a project's containers, sorted. */
function states(kind: EngineKind, project: string): string[] {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  return (api(kind, `/containers/json?all=1&filters=${f}`) as { Names: string[]; State: string }[]).map((c) => `${c.Names[0]!.replace(`/${project}-`, "")}: ${c.State}`).sort();
}

/** Long enough for several of the agent's passes (its interval is 500 ms here; engine events wake it sooner). */
const passes = () => new Promise((r) => setTimeout(r, 3000));

for (const kind of ["docker", "podman"] as const) {
  describe.skipIf(!sockets[kind])(`an agent on ${kind}`, () => {
    const project = `intent${kind.slice(0, 3)}${process.pid}`;
    const work = join(dir, kind);
    const sock = join(dir, `${kind}.sock`);
    const address = `unix://${ENGINE_SOCKETS[kind]}`;
    const fizz = (...args: string[]) => {
      const base = { ...process.env };
      for (const k of ["DOCKER_HOST", "FIZZ_ENGINE", "FIZZ_NO_AGENT", "COMPOSE_PROGRESS", "CI"]) delete base[k];
      const r = spawnSync(BUN, [join(ROOT, "cmd/fizz.ts"), ...args], { cwd: work, encoding: "utf8", env: { ...base, NO_COLOR: "1", FIZZ_HOST: `unix:${sock}`, FIZZ_DATA_DIR: join(dir, `${kind}-cli`), COMPOSE_PROJECT_NAME: project }, timeout: 120_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    afterAll(() => {
      fizz("down", "-t", "1");
      fizz("down", "-t", "1", "--no-agent", "--engine", address, "-p", `${project}x`);
    });

    test("up -d through the agent shows the rows --no-agent shows; --progress json is JSON only", async () => {
      const { mkdirSync } = await import("node:fs");
      mkdirSync(work, { recursive: true });
      writeFileSync(join(work, "compose.yaml"), STACK);
      agents.push(await startAgent({ dataDir: join(dir, `${kind}-agent`), args: ["--engine", address, "--api", `unix:${sock}`], env: { FIZZ_RECONCILE_INTERVAL: "500" } }));
      const rows = (err: string, p: string) =>
        err
          .split("\n")
          .filter((l) => l.startsWith(" ✔ ") && !l.includes(" Project "))
          .map((l) => l.replaceAll(p, "P").replace(/\s+/g, " ").trim())
          .sort();
      const viaAgent = fizz("up", "-d", "--progress", "plain");
      expect(viaAgent.code, viaAgent.err).toBe(0);
      const direct = fizz("up", "-d", "--progress", "plain", "--no-agent", "--engine", address, "-p", `${project}x`);
      expect(direct.code, direct.err).toBe(0);
      expect(rows(viaAgent.err, project)).toEqual(rows(direct.err, `${project}x`));
      expect(rows(viaAgent.err, project)).toContain("✔ Container P-worker-2 Started"); // no count: x-fizz.scaling's min
      expect(viaAgent.err).toContain(`Project ${project} deployed; the fizz agent keeps it converged`);
      // Removing the agent's deployment behind its back would not last: refused, saying how.
      const behind = fizz("down", "-t", "1", "--no-agent", "--engine", address);
      expect([behind.code, behind.err]).toEqual([1, `error: deployment ${project} is kept by the running fizz agent: removed from the engine alone, the agent would start it again\n  hint: run \`fizz down\` without --no-agent, which removes it through the agent\n`]);
      expect(fizz("down", "-t", "1", "--no-agent", "--engine", address, "-p", `${project}x`).code).toBe(0);

      const json = fizz("up", "-d", "--progress", "json", "--force-recreate");
      expect(json.code, json.err).toBe(0);
      const lines = json.err.split("\n").filter((l) => l !== "" && !l.includes("warning: services.worker.x-fizz.scaling"));
      expect(lines.length).toBeGreaterThan(3);
      for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
      expect(lines.map((l) => JSON.parse(l) as { type: string; id: string }).filter((i) => i.type === "done").map((i) => i.id)).toContain(`Container ${project}-web-1`);
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: running", "worker-2: running"]);
    }, 180_000);

    test("fizz scale outside x-fizz.scaling is refused naming both bounds, and applies nothing of the command", () => {
      const over = fizz("scale", "worker=4");
      expect(over.code).toBe(1);
      expect(over.err).toContain("error: fizz scale for service 'worker' is 4, above its x-fizz.scaling bounds (min 2, max 3)");
      expect(over.err).toContain("hint: choose between 2 and 3, or change x-fizz.scaling in the compose file");
      const mixed = fizz("scale", "web=2", "worker=1");
      expect(mixed.code).toBe(1);
      expect(mixed.err).toContain("fizz scale for service 'worker' is 1, below its x-fizz.scaling bounds (min 2, max 3)");
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: running", "worker-2: running"]);
      const ok = fizz("scale", "worker=3");
      expect(ok.code, ok.err).toBe(0);
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: running", "worker-2: running", "worker-3: running"]);
    }, 120_000);

    test("stop, kill, rm and pause stick until start, unpause or up", async () => {
      const stop = fizz("stop", "-t", "1", "web");
      expect(stop.code, stop.err).toBe(0);
      await passes();
      expect(states(kind, project)).toEqual(["web-1: exited", "worker-1: running", "worker-2: running", "worker-3: running"]);
      const start = fizz("start", "web");
      expect(start.code, start.err).toBe(0);
      expect(states(kind, project)[0]).toBe("web-1: running");

      const kill = fizz("kill", "worker");
      expect(kill.code, kill.err).toBe(0);
      await passes();
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: exited", "worker-2: exited", "worker-3: exited"]);
      const rm = fizz("rm", "-f", "worker");
      expect(rm.code, rm.err).toBe(0);
      await passes();
      expect(states(kind, project)).toEqual(["web-1: running"]);

      const pause = fizz("pause", "web");
      expect(pause.code, pause.err).toBe(0);
      await passes();
      expect(states(kind, project)).toEqual(["web-1: paused"]);
      const unpause = fizz("unpause", "web");
      expect(unpause.code, unpause.err).toBe(0);
      expect(states(kind, project)).toEqual(["web-1: running"]);

      // up hands every service back to the agent (the fizz scale override is reset to the file: min 2).
      const up = fizz("up", "-d", "--progress", "plain");
      expect(up.code, up.err).toBe(0);
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: running", "worker-2: running"]);
      // ... and a container removed behind the agent's back comes back, as before.
      const f = encodeURIComponent(JSON.stringify({ name: [`${project}-web-1`] }));
      const id = (api(kind, `/containers/json?filters=${f}`) as { Id: string }[])[0]!.Id;
      spawnSync("curl", ["-sf", "-X", "DELETE", "--unix-socket", ENGINE_SOCKETS[kind], `http://d/v1.41/containers/${id}?force=1`]);
      for (let i = 0; i < 40 && states(kind, project)[0] !== "web-1: running"; i++) await new Promise((r) => setTimeout(r, 250));
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: running", "worker-2: running"]);

      // `up -d web` after editing the file: the agent recreates web only, and keeps worker as it runs.
      const ids = () => Object.fromEntries((api(kind, `/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`) as { Id: string; Names: string[] }[]).map((c) => [c.Names[0]!.replace(`/${project}-`, ""), c.Id]));
      const before = ids();
      writeFileSync(join(work, "compose.yaml"), STACK.replaceAll('command: ["sleep", "3600"]', 'command: ["sleep", "3601"]'));
      const one = fizz("up", "-d", "--progress", "plain", "web");
      expect(one.code, one.err).toBe(0);
      expect(one.err).toContain("Created (recreated: config changed: command)");
      await passes();
      const after = ids();
      expect(after["web-1"]).not.toBe(before["web-1"]);
      expect([after["worker-1"], after["worker-2"]]).toEqual([before["worker-1"], before["worker-2"]]);
      expect(states(kind, project)).toEqual(["web-1: running", "worker-1: running", "worker-2: running"]);
      const down = fizz("down", "-t", "1");
      expect(down.code, down.err).toBe(0);
      expect(states(kind, project)).toEqual([]);
    }, 180_000);
  });
}
