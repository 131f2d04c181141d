/**
 * Compose's `environment:` and `content:` secrets and configs with no agent
 * (`fizz up` on the engine directly), on Docker and Podman, through the real
 * CLI: a non-root container reads the value from the project's .env and the
 * inline content where the service asks; a new value recreates it; `down`
 * removes the files (core/deploy/local-file-objects.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineSocket, type EngineKind } from "../support/engine.ts";
import { localFilesDir } from "../../platform/deploy/local-files.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FIZZ = [process.execPath, join(ROOT, "cmd/fizz.ts")];

function fizz(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(FIZZ[0]!, [...FIZZ.slice(1), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FIZZ_NO_AGENT: "1", FIZZ_DATA_DIR: join(dir, ".fizz"), ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const STACK = (project: string) => `
name: ${project}
services:
  app:
    image: fizz-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    user: "1000"
    stop_grace_period: 1s
    secrets: [db_pw]
    configs:
      - source: app_conf
        target: /etc/app.conf
secrets:
  db_pw: {environment: DB_PW}
configs:
  app_conf:
    content: "greeting=\${GREETING:-hello}"
`;

for (const kind of ["docker", "podman"] as EngineKind[]) {
  // In CI a missing engine is an error (engineSocket throws), never a skip.
  const socket = await engineSocket(kind);
  describe.skipIf(!socket)(`environment: and content: secrets without the agent on ${kind}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `fizz-lsec-${kind}-`));
    const project = `lsec${kind}${process.pid}`;
    const engine = ["--engine", kind];
    const exec = (cmd: string) => fizz(dir, ["exec", "-T", ...engine, "app", "sh", "-c", cmd]);
    writeFileSync(join(dir, "compose.yaml"), STACK(project));
    writeFileSync(join(dir, ".env"), "DB_PW=from-dot-env\n");

    afterAll(() => {
      fizz(dir, ["down", ...engine]);
      rmSync(dir, { recursive: true, force: true });
    });

    test("commands that create or start no container write no files", () => {
      const files = localFilesDir(project, process.env);
      for (const args of [["images"], ["up", "--dry-run"], ["stop"], ["ps"], ["down"]]) {
        const r = fizz(dir, [...args, ...engine]);
        expect(`${args.join(" ")}: ${r.code} ${r.err}`).toStartWith(`${args.join(" ")}: 0`);
        expect(`${args.join(" ")}: ${existsSync(files)}`).toBe(`${args.join(" ")}: false`);
      }
    }, 120_000);

    test("the container reads them where the service asks; a new value recreates it; down removes the files", () => {
      const up = fizz(dir, ["up", "-d", ...engine]);
      expect(up.err).not.toContain("warning");
      expect(up.code).toBe(0);
      expect(exec("id -u; cat /run/secrets/db_pw; echo; cat /etc/app.conf").out).toBe("1000\nfrom-dot-env\ngreeting=hello");
      const files = localFilesDir(project, process.env);
      expect(readdirSync(files).length).toBe(2);

      const again = fizz(dir, ["up", "-d", ...engine]);
      expect(again.code).toBe(0);
      expect(again.err).not.toContain("recreated");

      const changed = fizz(dir, ["up", "-d", ...engine], { GREETING: "hi" });
      expect(changed.code).toBe(0);
      expect(changed.err).toContain("configs");
      expect(exec("cat /etc/app.conf").out).toBe("greeting=hi");

      expect(fizz(dir, ["down", ...engine]).code).toBe(0);
      expect(existsSync(files)).toBe(false);
    }, 180_000);
  });
}
