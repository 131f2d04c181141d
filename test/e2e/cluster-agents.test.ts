/**
 * Issue 6 acceptance with real processes: five `fizz agent`s on 127.0.0.11–15
 * (real UDP/TCP, FIZZ_SWIM_PROFILE=test timings) form a cluster through the
 * CLI (`fizz init`, `fizz join`); `fizz nodes` on each shows five alive; a
 * deployment PUT on n1 is listed by `fizz ls` on every other node (time
 * printed); kill -9 n5 → the others mark it dead; restart n5 from its data
 * dir → same node id, alive everywhere; a sixth agent with a tampered or a
 * wrong-key token is refused by `fizz join` with the cause; `fizz leave` → left.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeJoinToken, parseJoinToken } from "../../core/cluster-crypto/index.ts";
import { ApiClient } from "../../platform/api/client.ts";
import type { DeploymentSummary } from "../../platform/api/backend.ts";
import type { ClusterNodeView } from "../../platform/api/cluster-api.ts";
import { engineSocket } from "../support/engine.ts";
import { BUN, ROOT, startAgent, type AgentProcess } from "../platform/api/agent-process.ts";

const socket = await engineSocket("docker");

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

function fizz(sock: string, ...args: string[]): Promise<Cli> {
  return new Promise((resolve) => {
    execFile(BUN, ["cmd/fizz.ts", "-H", `unix:${sock}`, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function dockerIds(project: string): Promise<string[]> {
  return new Promise((resolve) =>
    execFile("docker", ["-H", `unix://${socket}`, "ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`], (_e, out) => resolve(String(out).split("\n").filter(Boolean))),
  );
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe.skipIf(!socket)("five agents form a cluster", () => {
  const dir = mkdtempSync(join(tmpdir(), "fizz-cluster-e2e-"));
  const project = `clustere2e${process.pid}`;
  const agents = new Map<number, AgentProcess>();
  const sock = (i: number) => join(dir, `n${i}.sock`);
  const client = (i: number) => new ApiClient({ address: { kind: "unix", path: sock(i) }, timeoutMs: 30_000 });
  const start = async (i: number) => {
    mkdirSync(join(dir, `n${i}`), { recursive: true });
    const a = await startAgent({
      dataDir: join(dir, `n${i}`),
      args: ["--bind", `127.0.0.${10 + i}:7946`, "--api", `unix:${sock(i)}`, "--engine", `unix://${socket}`],
      // Five agents on one engine try the cluster protocol; each node keeps to its own share, and this is how one opts in.
      env: { FIZZ_SWIM_PROFILE: "test", FIZZ_CLUSTER_ALLOW_SHARED_ENGINE: "true" },
    });
    agents.set(i, a);
    return a;
  };
  const nodesOf = async (i: number): Promise<ClusterNodeView[]> => {
    const r = await fizz(sock(i), "nodes", "--format", "json");
    if (r.code !== 0) throw new Error(`fizz nodes on n${i}: ${r.stderr}`);
    return JSON.parse(r.stdout) as ClusterNodeView[];
  };

  afterAll(async () => {
    await client(1).down(project).catch(() => undefined);
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => undefined)));
    for (const a of agents.values()) a.cleanup();
    const left = await dockerIds(project);
    if (left.length) await new Promise<void>((r) => execFile("docker", ["-H", `unix://${socket}`, "rm", "-f", ...left], () => r()));
    // The project's network too, when the down above could not run (agents already gone).
    const nets = await new Promise<string[]>((r) =>
      execFile("docker", ["-H", `unix://${socket}`, "network", "ls", "-q", "--filter", `label=com.docker.compose.project=${project}`], (_e, out) => r(String(out).split("\n").filter(Boolean))),
    );
    if (nets.length) await new Promise<void>((r) => execFile("docker", ["-H", `unix://${socket}`, "network", "rm", ...nets], () => r()));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("init, join ×4, replicate a deployment, detect a crash, rejoin after restart, refuse bad tokens, leave", async () => {
    await Promise.all([1, 2, 3, 4, 5].map(start));
    const ids = new Map<number, string>();
    for (const i of [1, 2, 3, 4, 5]) ids.set(i, String((await client(i).info()).node));

    // Not yet a cluster: `fizz nodes` says so.
    const lonely = await fizz(sock(1), "nodes");
    expect(lonely.code).not.toBe(0);
    expect(lonely.stderr).toContain("not part of a cluster");

    const init = await fizz(sock(1), "init");
    expect(init.code).toBe(0);
    const token = init.stdout.trim();
    expect(token).toMatch(/^fizz1[02-9ac-hj-np-z]+$/);
    expect(init.stderr).toContain(`fizz join 127.0.0.11:7946 --token ${token}`);

    for (const i of [2, 3, 4, 5]) {
      const r = await fizz(sock(i), "join", "127.0.0.11:7946", "--token", token);
      expect({ i, code: r.code, stderr: r.stderr }).toEqual({ i, code: 0, stderr: expect.stringContaining("Joined cluster") });
    }
    for (const i of [1, 2, 3, 4, 5]) {
      await until(`n${i} to see 5 alive nodes`, 10_000, async () => {
        const ns = await nodesOf(i);
        return ns.length === 5 && ns.every((n) => n.state === "alive") && ns;
      });
    }
    const table = await fizz(sock(3), "nodes");
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+ADDRESS\s+STATE\s+INCARNATION\s+LABELS\s+CPU\/MEM\s+RTT\s+SECRETS$/);
    expect(table.stdout).toContain("127.0.0.15:7946");
    const keys = await fizz(sock(2), "cluster", "keys", "list");
    expect(keys.stdout).toMatch(/^ID\s+PRIMARY\n[0-9a-f]{8}\s+\*\n$/);
    const badKey = await fizz(sock(2), "cluster", "keys", "install", "not-a-key");
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toContain("a cluster key is 32 bytes");

    // A deployment created on n1 is listed on every other node.
    await client(1).up(project, {
      files: [{ name: "compose.yaml", content: 'services:\n  sleeper:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n' }],
    });
    const t0 = performance.now();
    // Replication time, polled through the API (cheap), then `fizz ls --format json` on each node.
    const seenAfter = await Promise.all(
      [2, 3, 4, 5].map(async (i) => {
        await until(`n${i} to list ${project}`, 10_000, async () => (await client(i).listDeployments()).some((d) => d.name === project), 20);
        return performance.now() - t0;
      }),
    );
    for (const i of [2, 3, 4, 5]) {
      const r = await fizz(sock(i), "ls", "--format", "json");
      const list = JSON.parse(r.stdout) as (DeploymentSummary & { origin?: string })[];
      expect(list.find((d) => d.name === project)).toMatchObject({ name: project, origin: ids.get(1), services: 1, desired: 1 });
    }
    const cliAfter = performance.now() - t0;
    console.log(`deployment created on n1 listed on n2..n5 after ${seenAfter.map((ms) => `${Math.round(ms)} ms`).join(", ")}; \`fizz ls\` on all four confirmed by ${Math.round(cliAfter)} ms`);
    expect(Math.max(...seenAfter)).toBeLessThan(2000);
    // No placement yet: only n1 created its container (all five agents share this engine, so count there).
    expect(await dockerIds(project)).toHaveLength(1);

    // kill -9 n5: the others mark it dead.
    const n5 = ids.get(5)!;
    agents.get(5)!.proc.kill("SIGKILL");
    await agents.get(5)!.stop();
    const tKill = performance.now();
    for (const i of [1, 2, 3, 4]) {
      await until(`n${i} to mark n5 dead`, 15_000, async () => (await nodesOf(i)).find((n) => n.id === n5)?.state === "dead");
    }
    console.log(`n5 marked dead on n1..n4 within ${Math.round(performance.now() - tKill)} ms of kill -9`);

    // Restart it from the same data dir: same id, rejoins on its own, alive everywhere.
    await start(5);
    expect(String((await client(5).info()).node)).toBe(n5);
    for (const i of [1, 2, 3, 4, 5]) {
      await until(`n${i} to see n5 alive again`, 15_000, async () => {
        const ns = await nodesOf(i);
        return ns.length === 5 && ns.every((n) => n.state === "alive");
      });
    }
    expect((await client(5).listDeployments()).map((d) => d.name)).toContain(project);

    // A sixth agent with a tampered or a wrong-key token is refused, with the cause.
    await start(6);
    const tampered = token.slice(0, 20) + (token[20] === "q" ? "p" : "q") + token.slice(21);
    const bad = await fizz(sock(6), "join", "127.0.0.11:7946", "--token", tampered);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("join token checksum mismatch");
    const parsed = parseJoinToken(token);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const wrongKey = encodeJoinToken({ ...parsed.token, key: new Uint8Array(32).fill(9) });
    const refused = await fizz(sock(6), "join", "127.0.0.11:7946", "--token", wrongKey);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("wrong cluster key");
    // Nothing was kept from the failed joins.
    expect((await fizz(sock(6), "nodes")).stderr).toContain("not part of a cluster");
    expect((await nodesOf(1)).length).toBe(5);

    // `fizz leave` on n4: the others see it as left.
    const n4 = ids.get(4)!;
    expect((await fizz(sock(4), "leave")).code).toBe(0);
    await until("n1 to see n4 left", 10_000, async () => (await nodesOf(1)).find((n) => n.id === n4)?.state === "left");
    expect((await fizz(sock(4), "nodes")).stderr).toContain("not part of a cluster");
  }, 90_000);
});
