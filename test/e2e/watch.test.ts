/**
 * `fizz watch` on the quick start (examples/quickstart, copied to a temp
 * directory), on Docker and on Podman: an edit to a synced file is visible
 * in the running container within 2 s (the deadline; measured
 * ~0.7 s with the default 500 ms debounce), and a change under the api's
 * rebuild path rebuilds its image and recreates api only (web and the
 * finished migrate job keep their containers). Each action gets one line.
 * docker-compose 1.29 has no watch (a Compose v2 verb), so there is nothing
 * to compare with.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
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

function containerIds(socket: string, project: string): Record<string, string> {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const r = spawnSync("curl", ["-sf", "--unix-socket", socket, `http://d/v1.41/containers/json?all=1&filters=${f}`], { encoding: "utf8" });
  const list = JSON.parse(r.stdout) as { Id: string; Labels: Record<string, string> }[];
  return Object.fromEntries(list.map((c) => [c.Labels["com.docker.compose.service"]!, c.Id]));
}

function fileInContainer(socket: string, id: string, path: string): string {
  const create = spawnSync("curl", ["-sf", "--unix-socket", socket, "-H", "content-type: application/json", "-d", JSON.stringify({ Cmd: ["cat", path], AttachStdout: true }), `http://d/v1.41/containers/${id}/exec`], { encoding: "utf8" });
  const execId = (JSON.parse(create.stdout) as { Id: string }).Id;
  const start = spawnSync("curl", ["-sf", "--unix-socket", socket, "-H", "content-type: application/json", "-d", '{"Detach":false,"Tty":true}', `http://d/v1.41/exec/${execId}/start`], { encoding: "utf8" });
  return start.stdout;
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of ["docker", "podman"] as EngineKind[]) {
  const socket = await engineSocket(kind);
  describe.skipIf(!socket)(`fizz watch on the quick start (${kind})`, () => {
    const dir = mkdtempSync(join(tmpdir(), `fizz-watch-${kind}-`));
    const project = `qsw${kind.slice(0, 2)}${process.pid}`;
    let watcher: ChildProcess | undefined;
    let log = "";
    const env = { ...process.env, NO_COLOR: "1", FIZZ_NO_AGENT: "1", FIZZ_ENGINE: `unix://${socket}`, FIZZ_DATA_DIR: join(dir, ".fizz"), BASE_IMAGE: "fizz-test/busybox:1", COMPOSE_PROJECT_NAME: project };

    afterAll(() => {
      if (watcher?.pid) watcher.kill("SIGINT");
      spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "down", "-v", "-t", "1", "--rmi", "local"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
      rmSync(dir, { recursive: true, force: true });
    }, 150_000);

    test("a synced edit is in the container within 2 s; a rebuild path recreates only that service", async () => {
      cpSync(join(ROOT, "examples/quickstart"), dir, { recursive: true });
      const port = await freePort();
      watcher = spawn(FIZZ[0]!, [...FIZZ.slice(1), "watch"], { cwd: dir, env: { ...env, WEB_PORT: String(port) }, stdio: ["ignore", "ignore", "pipe"] });
      watcher.stderr!.setEncoding("utf8");
      watcher.stderr!.on("data", (d: string) => (log += d));
      await until("the stack to be up and watched", 240_000, () => (log.includes("Watching ") ? true : undefined));
      const before = containerIds(socket!, project);
      expect(Object.keys(before).sort()).toEqual(["api", "migrate", "web"]);

      const marker = `edited-${Date.now()}`;
      const t0 = Date.now();
      appendFileSync(join(dir, "web/cgi-bin/visits"), `# ${marker}\n`);
      await until("the edit inside the web container", 10_000, () => (fileInContainer(socket!, before.web!, "/www/cgi-bin/visits").includes(marker) ? true : undefined));
      const visibleMs = Date.now() - t0;
      process.stderr.write(`watch (${kind}): synced edit visible after ${visibleMs} ms\n`);
      expect(visibleMs).toBeLessThan(2000);
      await until("the sync line", 5_000, () => (/⦿ web: synced 1 file to \S+-web-1 in \d+ ms/.test(log) ? true : undefined));

      appendFileSync(join(dir, "api/cgi-bin/visits"), "# rebuild me\n");
      await until("api rebuilt and recreated", 180_000, () => (log.includes("api: rebuilt and recreated") ? true : undefined));
      const after = containerIds(socket!, project);
      expect(after.api).not.toBe(before.api);
      expect(after.web).toBe(before.web);
      expect(after.migrate).toBe(before.migrate);
      expect(log).toMatch(/⦿ api: 1 change under a rebuild path; rebuilding/);
      watcher.kill("SIGINT");
      const code = await new Promise<number | null>((r) => watcher!.once("exit", (c) => r(c)));
      expect(code).toBe(0);
      expect(log).toContain("Stopped watching");
    }, 480_000);
  });
}
