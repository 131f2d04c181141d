/**
 * The roadmap's M2 exit test, on Docker and on Podman: `fizz up -d --wait -f
 * examples/wordpress-compose.yml` (the official wordpress and mariadb images;
 * here the offline stand-ins of test/images/build-wordpress.sh, under the
 * same names), WordPress's installer answers on port 8080 (so PHP reached
 * MariaDB with the password from the compose secret), and `fizz down -v`
 * leaves no container, network or volume. Through the fizz agent, as a user
 * gets it: the CLI starts one in the background on the engine named.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "../../platform/api/client.ts";
import { ENGINE_SOCKETS, engineSocket, type EngineKind } from "../support/engine.ts";
import { BUN, ROOT } from "../platform/api/agent-process.ts";

const FILE = "examples/wordpress-compose.yml";
const PROJECT = "wordpress";
const IMAGES = ["wordpress:6", "mariadb:10.11"];

function fizz(args: string[], env: Record<string, string>) {
  const base = { ...process.env };
  for (const k of ["DOCKER_HOST", "FIZZ_ENGINE", "FIZZ_NO_AGENT", "FIZZ_HOST"]) delete base[k];
  const r = spawnSync(BUN, [join(ROOT, "cmd/fizz.ts"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...base, NO_COLOR: "1", ...env }, timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function api(kind: EngineKind, path: string): unknown {
  const r = spawnSync("curl", ["-s", "--unix-socket", ENGINE_SOCKETS[kind], `http://d/v1.41${path}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`GET ${kind} ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
const label = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`] }));
function footprint(kind: EngineKind) {
  const vols = api(kind, `/volumes?filters=${label}`) as { Volumes: unknown[] | null };
  return {
    containers: (api(kind, `/containers/json?all=1&filters=${label}`) as unknown[]).length,
    networks: (api(kind, `/networks?filters=${label}`) as unknown[]).length,
    volumes: (vols.Volumes ?? []).length,
  };
}
function hasImage(kind: EngineKind, ref: string): boolean {
  const r = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", ENGINE_SOCKETS[kind], `http://d/v1.41/images/${ref}/json`], { encoding: "utf8" });
  return r.stdout === "200";
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "0.0.0.0", () => s.close(() => resolve(true)));
  });
}

/** GET without following redirects, retried while nothing listens yet (Apache starts after WordPress is copied into its volume). */
async function get(url: string, deadlineMs = 60_000): Promise<Response> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const kind of ["docker", "podman"] as const) {
  const socket = await engineSocket(kind);
  describe.skipIf(!socket)(`WordPress on ${kind}`, () => {
    test("fizz up -d --wait, the installer on :8080, fizz down -v leaves nothing", async () => {
      const missing = IMAGES.filter((i) => !hasImage(kind, i));
      if (missing.length) throw new Error(`${kind} lacks ${missing.join(", ")}: run 'bash test/setup-engines.sh' (it builds the stand-ins with test/images/build-wordpress.sh)`);
      expect(footprint(kind)).toEqual({ containers: 0, networks: 0, volumes: 0 });
      if (!(await portFree(8080))) throw new Error("port 8080 is in use: the WordPress example publishes 8080 (stop what holds it)");

      const dir = mkdtempSync(join(tmpdir(), `fizz-wp-${kind}-`));
      dirs.push(dir);
      const sock = join(dir, "fizz.sock");
      const env = { FIZZ_HOST: `unix:${sock}`, FIZZ_DATA_DIR: join(dir, "data") };
      const agent = new ApiClient({ address: { kind: "unix", path: sock } });
      let pid = 0;
      try {
        const v = fizz(["validate", "-f", FILE], env);
        expect(v.code, v.err).toBe(0);
        expect(v.out + v.err).toContain("(2 services, 0 warnings)");

        const up = fizz(["up", "-d", "--wait", "-f", FILE, "--engine", `unix://${ENGINE_SOCKETS[kind]}`], env);
        pid = Number((await agent.info().catch(() => ({ pid: 0 }))).pid) || 0;
        expect(up.code, up.err).toBe(0);
        expect(up.err).toContain("Service db");
        expect(((await agent.info()).engine as { name: string }).name).toBe(kind);

        const root = await get("http://127.0.0.1:8080/");
        expect(root.status).toBe(302);
        expect(root.headers.get("location")).toBe("http://127.0.0.1:8080/wp-admin/install.php");
        const page = await get("http://127.0.0.1:8080/wp-admin/install.php");
        const html = await page.text();
        expect(page.status, html.slice(0, 2000)).toBe(200);
        expect(html).toContain("<title>WordPress &rsaquo; Installation</title>");
        expect(html).toContain('action="install.php?step=');

        const down = fizz(["down", "-v", "-f", FILE], env);
        expect(down.code, down.err).toBe(0);
        expect(down.err).toContain("removed by the fizz agent: 2 containers, 1 network, 2 volumes");
        expect(footprint(kind)).toEqual({ containers: 0, networks: 0, volumes: 0 });
      } finally {
        // The agent first: `down --no-agent` refuses a deployment a running agent keeps.
        if (pid) {
          process.kill(pid, "SIGTERM");
          for (let i = 0; i < 50 && (await agent.health().then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
        }
        if (footprint(kind).containers) fizz(["down", "-v", "--no-agent", "--engine", `unix://${ENGINE_SOCKETS[kind]}`, "-f", FILE], {});
        try {
          const errors = readFileSync(join(dir, "data", "agent.log"), "utf8").split("\n").filter((l) => /"level":(50|60)/.test(l));
          if (errors.length) process.stderr.write(`agent errors:\n${errors.join("\n")}\n`);
        } catch {
          /* no agent log */
        }
      }
    }, 240_000);
  });
}
