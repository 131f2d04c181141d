/**
 * A Fizz cluster on the harness's hosts, for the cluster tests and benches:
 * an agent on every host (each over its host's dockerd), joined into one
 * cluster through host 0, the CLI run against a host's agent, and the agents'
 * log tails for a failed run.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiClient } from "../../platform/api/client.ts";
import { agentCommand, type Cluster, type Host } from "./harness.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** The API client of a host's agent (unix socket). */
export const agentClient = (h: Host, timeoutMs = 60_000): ApiClient => new ApiClient({ address: { kind: "unix", path: h.agentSocket }, timeoutMs });

async function until(what: string, timeoutMs: number, ok: () => Promise<boolean>, detail: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts an agent on every host (extra flags appended), waits for their APIs,
 * forms one cluster through host 0 and waits until every agent sees every
 * member alive: not only host 0. A node that has not heard of a member yet
 * computes placement (and rendezvous) over fewer nodes and rightly acts on
 * it; what it placed then stays where it is (minimal movement), so a test
 * that deploys at once starts from a placement no later computation makes.
 */
export async function formFizzCluster(cluster: Cluster, extra: readonly string[] = []): Promise<void> {
  for (const h of cluster.hosts) h.startAgent(agentCommand(h, ["--engine", h.dockerHost, ...extra]));
  for (const h of cluster.hosts) {
    await until(`agent on ${h.name} did not start`, 30_000, () => agentClient(h).info().then(() => true, () => false), () => `:\n${readFileSync(h.agentLog, "utf8").slice(-3000)}`);
  }
  const [first, ...rest] = cluster.hosts;
  const init = await agentClient(first!).clusterInit();
  for (const h of rest) await agentClient(h).clusterJoin(first!.gossipAddr, init.token);
  const n = cluster.hosts.length;
  let views: { id: string; address: string; state: string; incarnation: number }[][] = [];
  const read = async () => (views = await Promise.all(cluster.hosts.map((h) => agentClient(h).clusterNodes())));
  // On failure, every host's whole view (who, where, state, incarnation): which node misses whom, and as what.
  const detail = () =>
    `: ${cluster.hosts.map((h, i) => `${h.name} sees [${(views[i] ?? []).map((m) => `${m.id.slice(0, 8)}@${m.address} ${m.state}#${m.incarnation}`).join(", ")}]`).join("; ")}`;
  // Gossip normally spreads a join in well under a second; the bound is one push-pull round (30 s by default), the
  // anti-entropy that repairs a lost piggybacked update. Wait past it, and say so when it was needed.
  const t0 = Date.now();
  let slowView = "";
  await until(
    `the ${n} agents did not all see each other alive`,
    45_000,
    async () => {
      const ok = (await read()).every((v) => v.filter((m) => m.state === "alive").length === n);
      if (!ok && !slowView && Date.now() - t0 > 5000) slowView = detail();
      return ok;
    },
    detail,
  );
  if (slowView) console.warn(`cluster formation took ${Date.now() - t0} ms; at 5 s${slowView}`);
}

/** Runs `fizz <args>` against a host's agent from `cwd`. */
export function fizzOn(h: Host, cwd: string, args: readonly string[], timeoutMs = 150_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = process.env.FIZZ_BIN ? [process.env.FIZZ_BIN] : [process.execPath, join(ROOT, "cmd", "fizz.ts")];
  return new Promise((resolve) => {
    execFile(bin[0]!, [...bin.slice(1), "-H", `unix:${h.agentSocket}`, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last lines of every host's agent log, for a failed run. */
export function agentLogTails(cluster: Cluster, lines = 20): string {
  return cluster.hosts
    .map((h) => {
      let tail = "";
      try {
        tail = readFileSync(h.agentLog, "utf8").split("\n").slice(-lines).join("\n");
      } catch {
        // no log yet
      }
      return `--- agent log ${h.name} (tail) ---\n${tail}\n`;
    })
    .join("");
}
