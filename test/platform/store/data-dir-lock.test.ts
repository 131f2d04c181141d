import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockDataDir } from "../../../platform/store/data-dir-lock.ts";
import { isFizzError } from "../../../core/errors.ts";

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "fizz-lock-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Another process that takes the lock, says so, and holds it until killed. */
function holder(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const code = `const { lockDataDir } = await import(${JSON.stringify(join(import.meta.dir, "../../../platform/store/data-dir-lock.ts"))}); lockDataDir(${JSON.stringify(dir)}); console.log("held"); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout.once("data", () =>
      resolve({
        pid: child.pid!,
        kill: () => new Promise<void>((r) => (child.once("exit", () => r()), child.kill("SIGKILL"))),
      }),
    );
    child.once("exit", (c) => reject(new Error(`holder exited ${c}`)));
  });
}

describe("one agent per data directory", () => {
  test("a second agent on the same directory is refused, naming the first one's pid; the lock goes with the process, even on kill -9", async () => {
    const dir = fresh();
    const h = await holder(dir);
    let err: unknown;
    try {
      lockDataDir(dir);
    } catch (e) {
      err = e;
    }
    expect(isFizzError(err) && err.code).toBe("data_dir.in_use");
    expect((err as Error).message).toContain(`pid ${h.pid}`);
    expect((err as Error).message).toContain(dir);
    await h.kill();
    const mine = lockDataDir(dir);
    mine.release();
  });

  test("released, the directory can be taken again; another directory is independent", () => {
    const a = fresh();
    const b = fresh();
    const first = lockDataDir(a);
    const other = lockDataDir(b);
    first.release();
    first.release(); // twice is harmless
    const again = lockDataDir(a);
    again.release();
    other.release();
  });

  test("a directory that does not exist yet is made (0700) and taken; the lock and pid files are private (0600)", () => {
    const dir = join(fresh(), "new", "data");
    lockDataDir(dir).release();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "agent.lock")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "agent.pid")).mode & 0o777).toBe(0o600);
  });
});
