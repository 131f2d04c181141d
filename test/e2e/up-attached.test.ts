/**
 * Attached `fizz up` shows what the containers print from the moment it
 * attaches, as Compose does: not the history of earlier runs (a one-shot
 * started again, a service already running), not an orphan's output, and
 * still what a container prints while Ctrl-C stops it (its SIGTERM handler).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineSocket } from "../support/engine.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FIZZ = [process.execPath, join(ROOT, "cmd/fizz.ts")];
const socket = await engineSocket("docker");
const dir = mkdtempSync(join(tmpdir(), "fizz-up-attached-"));
const project = `fizz-attached-${process.pid}`;
const env = { ...process.env, NO_COLOR: "1", FIZZ_NO_AGENT: "1", FIZZ_DATA_DIR: join(dir, ".fizz") };
const fizz = (args: string[]) => spawnSync(FIZZ[0]!, [...FIZZ.slice(1), ...args, "--engine", "docker"], { cwd: dir, encoding: "utf8", env, timeout: 120_000 });

afterAll(() => {
  fizz(["down", "-v", "--remove-orphans", "-t", "1"]);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!socket)("attached fizz up on docker", () => {
  test("shows only new output, leaves orphans out, and keeps streaming while Ctrl-C stops the stack", async () => {
    const service = (name: string, cmd: string) => `  ${name}:\n    image: fizz-test/busybox:1\n    command: ["sh", "-c", "${cmd}"]\n`;
    const a = service("a", "trap 'echo a-term; exit 0' TERM; echo a-start; while true; do sleep 1; done");
    writeFileSync(join(dir, "compose.yaml"), `name: ${project}\nservices:\n${a}${service("once", "echo once-ran")}${service("old", "echo old-ran; sleep 1000")}`);
    expect(fizz(["up", "-d"]).status).toBe(0);
    // old becomes an orphan; once has exited (started again by up); a runs and is up to date.
    writeFileSync(join(dir, "compose.yaml"), `name: ${project}\nservices:\n${a}${service("once", "echo once-ran")}`);
    await new Promise((r) => setTimeout(r, 1500));
    const child = spawn(FIZZ[0]!, [...FIZZ.slice(1), "up", "--engine", "docker"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 100 && !out.includes("once-ran"); i++) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGINT");
    const code = await new Promise((r) => child.once("exit", r));
    expect({ code, err }).toMatchObject({ code: 130, err: expect.stringContaining("Gracefully stopping") });
    const lines = out.split("\n").filter(Boolean);
    // Once for this run, not again for the run `up -d` made.
    expect(lines.filter((l) => l.endsWith("| once-ran"))).toHaveLength(1);
    expect(out).not.toContain("a-start");
    expect(out).not.toContain("old-ran");
    // a's SIGTERM handler speaks while the stack stops.
    expect(lines.filter((l) => l.endsWith("| a-term"))).toHaveLength(1);
  }, 180_000);

  test("--exit-code-from tests (the CI pattern): the stack stops when tests exits, and fizz exits with its code", async () => {
    const p2 = `${project}-ci`;
    const compose = `name: ${p2}\nservices:\n  server:\n    image: fizz-test/busybox:1\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n  tests:\n    image: fizz-test/busybox:1\n    command: ["sh", "-c", "sleep 2; echo tests-ran; exit 3"]\n    depends_on: [server]\n`;
    writeFileSync(join(dir, "ci.yaml"), compose);
    try {
      const r = spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "-f", "ci.yaml", "up", "--exit-code-from", "tests", "--engine", "docker"], { cwd: dir, encoding: "utf8", env, timeout: 120_000 });
      expect({ status: r.status, err: r.stderr }).toMatchObject({ status: 3, err: expect.stringContaining("Aborting on container exit") });
      expect(r.stdout).toContain("tests-ran");
      const ps = spawnSync("docker", ["ps", "-q", "--filter", `label=com.docker.compose.project=${p2}`], { encoding: "utf8" });
      expect(ps.stdout.trim()).toBe("");
      // Without --exit-code-from, the code of the first container to exit.
      const a = spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "-f", "ci.yaml", "up", "--abort-on-container-exit", "--engine", "docker"], { cwd: dir, encoding: "utf8", env, timeout: 120_000 });
      expect(a.status).toBe(3);
      // Detached, it is refused.
      expect(spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "-f", "ci.yaml", "up", "-d", "--exit-code-from", "tests"], { cwd: dir, encoding: "utf8", env }).status).toBe(2);
    } finally {
      spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "-f", "ci.yaml", "down", "-t", "1", "--engine", "docker"], { cwd: dir, encoding: "utf8", env });
    }
  }, 180_000);
});
