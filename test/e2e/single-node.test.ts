/**
 * Issue 4 acceptance, end to end through the real CLI against the real
 * engines (Docker and Podman): ordered up with health/completion gates,
 * idempotent re-up, targeted recreate, ps/logs, health restarts, clean down,
 * and the clear-error cases.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineSocket, type EngineKind } from "../support/engine.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FIZZ = [process.execPath, join(ROOT, "cmd/fizz.ts")];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function fizz(dir: string, args: string[], env: Record<string, string> = {}, timeoutMs = 150_000) {
  const r = spawnSync(FIZZ[0]!, [...FIZZ.slice(1), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FIZZ_NO_AGENT: "1", FIZZ_DATA_DIR: join(dir, ".fizz"), ...env },
    timeout: timeoutMs,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `docker`-compatible inspection through the engine's own CLI-less API: we use the socket via curl. */
function api(socket: string, path: string): unknown {
  const r = spawnSync("curl", ["-sf", "--unix-socket", socket, `http://d/v1.41${path}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`GET ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

interface Summary {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  State: string;
}
interface Inspect {
  Id: string;
  Name: string;
  State: { StartedAt: string; FinishedAt: string; Status: string; ExitCode: number; Health?: { Status: string } };
}

function containers(socket: string, project: string): Summary[] {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  return api(socket, `/containers/json?all=1&filters=${f}`) as Summary[];
}
function inspect(socket: string, id: string): Inspect {
  return api(socket, `/containers/${id}/json`) as Inspect;
}
function byName(socket: string, project: string): Map<string, Inspect> {
  return new Map(containers(socket, project).map((c) => [c.Names[0]!.replace(/^\//, ""), inspect(socket, c.Id)]));
}

const STACK = `
name: \${PROJECT}
services:
  migrate:
    image: fizz-test/busybox:1
    command: ["sh", "-c", "sleep 1; echo migrated > /data/state; echo migrate-done"]
    volumes: [data:/data]
  api:
    image: fizz-test/busybox:1
    command: ["sh", "-c", "echo api-up mode=$$MODE; touch /tmp/ok; exec httpd -f -p 8000 -h /srv"]
    stop_grace_period: 1s
    environment:
      MODE: \${API_MODE:-a}
    volumes:
      - data:/data
      - ./site:/srv:ro
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      timeout: 5s
      retries: 3
    depends_on:
      migrate: { condition: service_completed_successfully }
  web:
    image: fizz-test/busybox:1
    command: ["sh", "-c", "echo web-up; exec httpd -f -p 80 -h /srv"]
    stop_grace_period: 1s
    ports: ["127.0.0.1:\${WEB_PORT}:80"]
    volumes: ["./site:/srv:ro"]
    depends_on:
      api: { condition: service_healthy }
  worker:
    image: fizz-test/busybox:1
    command: ["sh", "-c", "echo worker-up; exec sleep 3600"]
    stop_grace_period: 1s
    deploy: { replicas: 3 }
volumes:
  data: {}
`;

for (const kind of ["docker", "podman"] as EngineKind[]) {
  const socket = await engineSocket(kind);
  describe.skipIf(!socket)(`single node on ${kind}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `fizz-e2e-${kind}-`));
    const project = `e2e${kind}${process.pid}`;
    const engine = ["--engine", kind];
    let port = 0;
    const env = () => ({ PROJECT: project, WEB_PORT: String(port) });
    mkdirSync(join(dir, "site"));
    writeFileSync(join(dir, "site", "index.html"), "hello from the bind mount\n");
    writeFileSync(join(dir, "compose.yaml"), STACK);

    afterAll(() => {
      fizz(dir, ["down", "-v", ...engine], env());
      rmSync(dir, { recursive: true, force: true });
    }, 240_000);

    test("up -d --wait starts everything in dependency order and serves the published port", async () => {
      port = await freePort();
      const r = fizz(dir, ["up", "-d", "--wait", ...engine], env());
      expect(r.err).toContain("is running and healthy");
      expect(r.code).toBe(0);
      const c = byName(socket!, project);
      expect([...c.keys()].sort()).toEqual([`${project}-api-1`, `${project}-migrate-1`, `${project}-web-1`, `${project}-worker-1`, `${project}-worker-2`, `${project}-worker-3`]);
      const migrate = c.get(`${project}-migrate-1`)!;
      const api = c.get(`${project}-api-1`)!;
      const web = c.get(`${project}-web-1`)!;
      expect(migrate.State.ExitCode).toBe(0);
      // migrate completed before api started; api started before web.
      expect(Date.parse(migrate.State.FinishedAt)).toBeLessThanOrEqual(Date.parse(api.State.StartedAt));
      expect(Date.parse(api.State.StartedAt)).toBeLessThan(Date.parse(web.State.StartedAt));
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toBe("hello from the bind mount\n");
    }, 240_000);

    test("ps shows every container; logs show every service", () => {
      const ps = fizz(dir, ["ps", "-a", "--format", "json", ...engine], env());
      expect(ps.code).toBe(0);
      const rows = JSON.parse(ps.out) as { service: string; state: string; health: string }[];
      expect(rows.map((r) => r.service).sort()).toEqual(["api", "migrate", "web", "worker", "worker", "worker"]);
      expect(rows.find((r) => r.service === "api")!.health).toBe("healthy");
      const table = fizz(dir, ["ps", ...engine], env());
      expect(table.out).toContain(`127.0.0.1:${port}->80/tcp`);
      const logs = fizz(dir, ["logs", ...engine], env());
      expect(logs.code).toBe(0);
      for (const line of ["migrate-done", "api-up mode=a", "web-up", "worker-up"]) expect(logs.out).toContain(line);
      expect(logs.out).toMatch(new RegExp(`${project}-worker-2 +\\| worker-up`));
    }, 240_000);

    test("up -d again changes nothing", () => {
      const before = byName(socket!, project);
      const r = fizz(dir, ["up", "-d", ...engine], env());
      expect(r.code).toBe(0);
      expect(r.err).toContain("up to date");
      const after = byName(socket!, project);
      for (const [name, c] of before) {
        expect(after.get(name)?.Id).toBe(c.Id);
        expect(after.get(name)?.State.StartedAt).toBe(c.State.StartedAt);
      }
    }, 240_000);

    test("changing one service's environment recreates only that service", () => {
      const before = byName(socket!, project);
      const r = fizz(dir, ["up", "-d", "--wait", ...engine], { ...env(), API_MODE: "b" });
      expect(r.code).toBe(0);
      const after = byName(socket!, project);
      for (const [name, c] of before) {
        if (name === `${project}-api-1`) expect(after.get(name)!.Id).not.toBe(c.Id);
        else expect(after.get(name)!.Id).toBe(c.Id);
      }
    }, 240_000);

    test("an unhealthy container is restarted by fizz while it runs attached", async () => {
      const apiName = `${project}-api-1`;
      const startedBefore = byName(socket!, project).get(apiName)!.State.StartedAt;
      const child = spawn(FIZZ[0]!, [...FIZZ.slice(1), "up", ...engine], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", FIZZ_DATA_DIR: join(dir, ".fizz"), ...env(), API_MODE: "b" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.stdout.resume();
      try {
        // Break the healthcheck from inside the container.
        await new Promise((r) => setTimeout(r, 2000));
        const ex = fizz(dir, ["exec", "-T", ...engine, "api", "rm", "/tmp/ok"], env());
        expect(ex.code).toBe(0);
        let restarted = false;
        const said = () => err.includes(`Container ${apiName} restarting: unhealthy`);
        // The restart and fizz's line about it race each other to the observer: wait for both.
        for (let i = 0; i < 60 && !(restarted && said()); i++) {
          await new Promise((r) => setTimeout(r, 1000));
          const now = byName(socket!, project).get(apiName)!;
          restarted = now.State.StartedAt !== startedBefore && now.State.Status === "running";
        }
        expect(restarted).toBe(true);
        expect(err).toContain(`Container ${apiName} restarting: unhealthy`);
        const ps = fizz(dir, ["ps", "--format", "json", ...engine], env());
        const row = (JSON.parse(ps.out) as { name: string; restarts: number; lastFailure?: string }[]).find((r) => r.name === apiName)!;
        expect(row.restarts).toBeGreaterThanOrEqual(1);
        expect(row.lastFailure).toBe("unhealthy");
      } finally {
        child.kill("SIGINT");
        await new Promise((r) => child.once("exit", r));
      }
      // Ctrl-C stops the stack, like Compose.
      expect(err).toContain("Gracefully stopping");
      const states = containers(socket!, project).map((c) => c.State.toLowerCase());
      expect(states.every((s) => s === "exited" || s === "stopped")).toBe(true);
    }, 240_000);

    test("a port conflict fails with one clear error and leaves nothing of the new project running", async () => {
      const other = `${project}x`;
      // The first project was stopped by the previous test; start it again so its web holds the port.
      const restart = fizz(dir, ["up", "-d", "--wait", ...engine], env());
      if (restart.code !== 0) console.error(`fizz up -d --wait exited ${restart.code}:\n${restart.err}`);
      expect(restart.code).toBe(0);
      const clash = fizz(dir, ["up", "-d", "-p", other, "--no-deps", ...engine, "web"], { ...env() });
      expect(clash.code).not.toBe(0);
      expect(clash.err).toMatch(/error: .*(port|address).*(allocated|in use)/i);
      expect(containers(socket!, other).filter((c) => c.State.toLowerCase() === "running")).toEqual([]);
      fizz(dir, ["down", "-v", "-p", other, ...engine], env());
    }, 240_000);

    test("a missing image with --pull never fails before creating anything", () => {
      const d = mkdtempSync(join(tmpdir(), "fizz-e2e-missing-"));
      writeFileSync(join(d, "compose.yaml"), `services:\n  x:\n    image: fizz-test/does-not-exist:1\n`);
      const r = fizz(d, ["up", "-d", "--pull", "never", "-p", `${project}m`, ...engine]);
      expect(r.code).toBe(1);
      expect(r.err).toContain("image fizz-test/does-not-exist:1 for service x is not present");
      expect(containers(socket!, `${project}m`)).toEqual([]);
      rmSync(d, { recursive: true, force: true });
    }, 240_000);

    test("down -v leaves no container, network or volume of the project", () => {
      const r = fizz(dir, ["down", "-v", ...engine], env());
      expect(r.code).toBe(0);
      expect(containers(socket!, project)).toEqual([]);
      const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
      expect(api(socket!, `/networks?filters=${f}`)).toEqual([]);
      expect((api(socket!, `/volumes?filters=${f}`) as { Volumes: unknown[] | null }).Volumes ?? []).toEqual([]);
    });
  });
}

test("an unreachable engine socket is one clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "fizz-e2e-nosock-"));
  writeFileSync(join(dir, "compose.yaml"), `services:\n  x:\n    image: fizz-test/busybox:1\n`);
  const r = fizz(dir, ["up", "-d", "--engine", "unix:///nonexistent/fizz-test.sock"]);
  expect(r.code).toBe(1);
  expect(r.err.split("\n")[0]).toMatch(/^error: .*\/nonexistent\/fizz-test.sock/);
  rmSync(dir, { recursive: true, force: true });
});
