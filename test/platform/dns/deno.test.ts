/**
 * The resolver under Deno, which has no Bun.udpSocket: the same server on
 * node:dgram, asked by dig over UDP (rotated answers, TC for an answer too
 * big) and TCP (the whole answer). The server runs in a `deno run` child
 * process (serve-once.ts); bun:test asks it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(import.meta.dir, "../../..");
const DENO = join(ROOT, "node_modules/.bin/deno");
const run = promisify(execFile);
const haveDig = spawnSync("sh", ["-c", "command -v dig"]).status === 0;
const needed = haveDig && existsSync(DENO);
if (!needed && process.env.CI === "true") throw new Error("dig and Deno are required (apt-get install dnsutils; npm ci installs deno)");

let child: ChildProcess | undefined;
let port = 0;
let impl = "";

async function dig(args: string[]): Promise<string[]> {
  const r = await run("dig", ["@127.0.0.1", "-p", String(port), "+time=3", "+tries=1", ...args], { encoding: "utf8", timeout: 10_000 });
  return [r.stdout, ...r.stdout.split("\n").filter((l) => !l.startsWith(";") && l.includes("\tA\t")).map((l) => l.split(/\s+/).pop()!)];
}

describe.skipIf(!needed)("cluster resolver under Deno (node:dgram)", () => {
  beforeAll(async () => {
    child = spawn(DENO, ["run", "-A", "test/platform/dns/serve-once.ts"], { cwd: ROOT, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }, stdio: ["pipe", "pipe", "inherit"] });
    const line = await new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error("deno: no port line within 30 s")), 30_000);
      let out = "";
      child!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /port=\d+ impl=\w+/.exec(out);
        if (m) {
          clearTimeout(t);
          ok(m[0]);
        }
      });
      child!.on("exit", (code) => fail(new Error(`deno exited (${code}) before serving`)));
    });
    port = Number(/port=(\d+)/.exec(line)![1]);
    impl = /impl=(\w+)/.exec(line)![1]!;
  }, 40_000);

  afterAll(() => {
    child?.stdin?.end();
    child?.kill("SIGKILL");
  });

  test("runs on node:dgram, answers over UDP in rotating order, TC then TCP for a big answer", async () => {
    expect(impl).toBe("node");
    const [, ...a] = await dig(["api.p"]);
    expect([...a].sort()).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    const firsts = new Set<string>();
    for (let i = 0; i < 6; i++) firsts.add((await dig(["api.p"]))[1]!);
    expect(firsts.size).toBeGreaterThan(1);
    const [udp, ...none] = await dig(["+ignore", "+noedns", "big.p"]);
    expect(udp).toMatch(/flags:[^;]*\btc\b/);
    expect(none).toEqual([]);
    const [, ...all] = await dig(["+tcp", "big.p"]);
    expect(all.length).toBe(40);
  });
});
