/**
 * The cluster runtime with real separate processes: three ClusterNodes, each
 * in its own process (two on Bun, one on Deno), form a cluster on loopback,
 * replicate a deployment, and see a `kill -9`ed member dead; the killed node
 * restarts from its persisted state file and is alive again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { FAST_SWIM } from "../platform/cluster/support.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const DENO = join(ROOT, "node_modules/.bin/deno");
const SCRIPT = join(ROOT, "test/platform/cluster/node-process.ts");
const KEY = "11".repeat(32);
const CLUSTER = "22".repeat(16);
const dir = mkdtempSync(join(tmpdir(), "fizz-cluster-e2e-"));

interface Proc {
  readonly child: ChildProcess;
  readonly address: string;
  readonly runtime: string;
  ask(cmd: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const procs = new Map<string, Proc>();

function startProc(id: string, host: string, runtime: "bun" | "deno", port = 0): Promise<Proc> {
  const opts = { id, bind: `${host}:${port}`, keyHex: KEY, clusterIdHex: CLUSTER, swim: FAST_SWIM, stateFile: join(dir, `${id}.state`) };
  const [cmd, pre] = runtime === "bun" ? [BUN, [SCRIPT]] : [DENO, ["run", "-A", SCRIPT]];
  const child = spawn(cmd, [...pre, JSON.stringify(opts)], { cwd: ROOT, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
  const waiting: ((v: Record<string, unknown>) => void)[] = [];
  let stderr = "";
  child.stderr!.on("data", (b) => (stderr += String(b)));
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id} (${runtime}) did not start in 60 s: ${stderr}`)), 60_000);
    child.on("exit", (code) => reject(new Error(`${id} exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const v = JSON.parse(line) as Record<string, unknown>;
      if (typeof v.ready === "string") {
        clearTimeout(timer);
        const p: Proc = {
          child,
          address: v.ready,
          runtime: String(v.runtime),
          ask: (c, timeoutMs = 10_000) =>
            new Promise((res, rej) => {
              const t = setTimeout(() => rej(new Error(`${id}: no answer to ${JSON.stringify(c)}`)), timeoutMs);
              waiting.push((r) => {
                clearTimeout(t);
                res(r);
              });
              child.stdin!.write(JSON.stringify(c) + "\n");
            }),
        };
        procs.set(id, p);
        resolveReady(p);
      } else waiting.shift()?.(v);
    });
  });
}

async function memberState(p: Proc, id: string): Promise<string | undefined> {
  const r = (await p.ask({ cmd: "members" })) as { members: { id: string; state: string }[] };
  return r.members.find((m) => m.id === id)?.state;
}

async function eventually(f: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!(await f())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

beforeAll(async () => {
  await Promise.all([startProc("p1", "127.0.0.1", "bun"), startProc("p2", "127.0.0.2", "bun"), startProc("p3", "127.0.0.3", existsSync(DENO) ? "deno" : "bun")]);
}, 90_000);

afterAll(() => {
  for (const p of procs.values()) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("cluster runtime across processes (Bun + Deno)", () => {
  test(
    "join, replicate, kill -9 → dead, restart from the state file → alive",
    async () => {
      const [p1, p2, p3] = ["p1", "p2", "p3"].map((id) => procs.get(id)!) as [Proc, Proc, Proc];
      expect([p1.runtime, p2.runtime, p3.runtime]).toEqual(["bun", "bun", existsSync(DENO) ? "deno" : "bun"]);
      expect((await p2.ask({ cmd: "join", seeds: [p1.address] })).via).toBe(p1.address);
      expect((await p3.ask({ cmd: "join", seeds: [p1.address] })).via).toBe(p1.address);
      await eventually(async () => (await Promise.all([p1, p2, p3].map((p) => memberState(p, "p3")))).every((s) => s === "alive"), 5000, "p3 alive everywhere");

      expect((await p1.ask({ cmd: "put", id: "web", spec: { image: "nginx" } })).ok).toBe(true);
      const conv = await eventually(async () => ((await p3.ask({ cmd: "deployments" })).ids as string[]).includes("web"), 3000, "web on p3");
      console.log(`[cluster-e2e] deployment from p1 (bun) on p3 in ≤${conv.toFixed(0)} ms (50 ms polling)`);

      const stateFile = join(dir, "p3.state");
      await eventually(async () => existsSync(stateFile) && readFileSync(stateFile, "utf8").includes('"web"'), 3000, "p3 persisted web");
      const addr3 = p3.address;
      p3.child.kill("SIGKILL");
      const dead = await eventually(async () => (await memberState(p1, "p3")) === "dead" && (await memberState(p2, "p3")) === "dead", 10_000, "p3 dead on p1 and p2");
      console.log(`[cluster-e2e] kill -9 of p3 seen as dead by p1 and p2 in ≤${dead.toFixed(0)} ms`);

      const again = await startProc("p3", "127.0.0.3", "bun", Number(addr3.split(":")[1]));
      expect(((await again.ask({ cmd: "deployments" })).ids as string[]).includes("web")).toBe(true); // from its state file
      await again.ask({ cmd: "join", seeds: [p2.address] });
      await eventually(async () => (await memberState(p1, "p3")) === "alive" && (await memberState(p2, "p3")) === "alive", 5000, "p3 alive again");
      await again.ask({ cmd: "stop" });
    },
    60_000,
  );
});
