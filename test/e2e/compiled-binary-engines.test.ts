/**
 * Issue-2 acceptance: the compiled single executable talks to the real Docker
 * socket and the real Podman socket through undici (`fizz doctor`), and the
 * same source runs under Deno. The executable is test/support/compiled.ts's
 * (dist/ when it is newer than every source file, else one built for the run).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compiledFizz, DENO, ROOT } from "../support/compiled.ts";
import { ENGINE_SOCKETS, engineSocket } from "../support/engine.ts";

const docker = await engineSocket("docker");
const podman = await engineSocket("podman");

let binary = "";

beforeAll(() => {
  binary = compiledFizz();
}, 120_000);

function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}) {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...env })) if (v !== undefined) merged[k] = v;
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: merged });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `--engine docker` when the test socket is the standard one, else its address. */
function engineFlag(kind: "docker" | "podman", socket: string): string {
  const standard = kind === "docker" ? "/var/run/docker.sock" : "/run/podman/podman.sock";
  return socket === standard ? kind : `unix://${socket}`;
}

interface Report {
  ok: boolean;
  engine: { name: string; version: string; apiVersion: string; address: string; source: string };
  runtime: string;
  compiled: boolean;
  checks: { name: string; ok: boolean }[];
}

function parseReport(stdout: string): Report {
  return JSON.parse(stdout) as Report;
}

describe("compiled binary talks to the real engines", () => {
  for (const [kind, socket, display] of [
    ["docker", docker, "Docker"],
    ["podman", podman, "Podman"],
  ] as const) {
    test.skipIf(!socket)(`fizz doctor --engine ${kind}`, () => {
      const r = run(binary, ["doctor", "--engine", engineFlag(kind, socket!), "--format", "json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const rep = parseReport(r.stdout);
      expect(rep.ok).toBe(true);
      expect(rep.engine.name).toBe(display);
      expect(rep.engine.address).toBe(`unix://${socket}`);
      expect(rep.engine.apiVersion).toMatch(/^1\.\d+$/);
      expect(rep.runtime).toStartWith("bun ");
      expect(rep.compiled).toBe(true);
      expect(rep.checks.find((c) => c.name === "list containers")?.ok).toBe(true);

      const text = run(binary, ["doctor", "--engine", engineFlag(kind, socket!)]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`engine:   ${display} ${rep.engine.version}`);
      expect(text.stdout).toContain(`socket:   unix://${socket}`);
    }, 60_000);
  }

  test.skipIf(!podman)("DOCKER_HOST selects the engine when --engine is absent", () => {
    const r = run(binary, ["doctor", "--format", "json"], { DOCKER_HOST: `unix://${podman ?? ENGINE_SOCKETS.podman}`, FIZZ_ENGINE: undefined });
    expect(r.code).toBe(0);
    const rep = parseReport(r.stdout);
    expect(rep.engine.name).toBe("Podman");
    expect(rep.engine.source).toBe("DOCKER_HOST");
  }, 60_000);

  test("no engine: clear error, hint, non-zero exit", () => {
    const sock = join(tmpdir(), `fizz-absent-${process.pid}.sock`);
    const r = run(binary, ["doctor", "--engine", `unix://${sock}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`error: no container engine at ${sock}`);
    expect(r.stderr).toContain("hint: ");
    const j = run(binary, ["doctor", "--engine", `unix://${sock}`, "--format", "json"]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: "engine.unreachable" } });
  }, 30_000);

  test("an unknown engine name is a usage error (exit 2)", () => {
    const r = run(binary, ["doctor", "--engine", "dockr"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown engine 'dockr'");
  }, 30_000);

  test.skipIf(!docker || !existsSync(DENO))("the same source under Deno reaches Docker through undici/index.js", () => {
    const r = run(DENO, ["run", "-A", "cmd/fizz.ts", "doctor", "--engine", engineFlag("docker", docker!), "--format", "json"]);
    expect(r.code).toBe(0);
    const rep = parseReport(r.stdout);
    expect(rep.engine.name).toBe("Docker");
    expect(rep.runtime).toStartWith("deno ");
    expect(rep.compiled).toBe(false);
  }, 60_000);

  for (const [kind, socket] of [
    ["docker", docker],
    ["podman", podman],
  ] as const) {
    test.skipIf(!socket || !existsSync(DENO))(`under Deno the client does logs, exec, stdin and events on ${kind}`, () => {
      const r = run(DENO, ["run", "-A", "test/platform/engine/deno-smoke.ts", `unix://${socket}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        engine: kind,
        logs: { stdout: "out\n", stderr: "err\n" },
        exec: { exitCode: 4, stdout: "x\n", stderr: "" },
        stdin: { stdout: "via stdin\n", stderr: "" },
        sawStart: true,
      });
    }, 60_000);
  }
});
