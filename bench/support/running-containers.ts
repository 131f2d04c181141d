/**
 * How many containers run on some of a harness cluster's hosts, matching
 * `docker ps` filters (`label=k=v`, `name=prefix`), asked of each host's
 * engine API over its unix socket. The same question as `docker ps -q
 * --filter …`, without a CLI process per host per poll: those cost ~12 ms of
 * CPU each, three every ~60 ms, about a third of one of this machine's two
 * cores taken from whatever a bench is timing. `cli: true` asks the CLI.
 */
import type { Cluster } from "../../test/cluster/harness.ts";

export async function runningContainers(c: Cluster, hosts: readonly number[], filter: readonly string[], o: { cli?: boolean } = {}): Promise<number> {
  const counts = await Promise.all(
    hosts.map(async (i) => {
      const h = c.hosts[i]!;
      if (o.cli) {
        const r = await h.docker(["ps", "-q", ...filter.flatMap((f) => ["--filter", f])], { timeoutMs: 10_000 });
        return r.stdout.split("\n").filter(Boolean).length;
      }
      const filters: Record<string, string[]> = {};
      for (const f of filter) {
        const eq = f.indexOf("=");
        (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
      }
      const res = await fetch(`http://engine/containers/json?filters=${encodeURIComponent(JSON.stringify(filters))}`, {
        unix: h.dockerSocket,
        signal: AbortSignal.timeout(10_000),
      } as RequestInit);
      if (!res.ok) throw new Error(`${h.name}: GET /containers/json: ${res.status} ${await res.text()}`);
      return ((await res.json()) as unknown[]).length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
