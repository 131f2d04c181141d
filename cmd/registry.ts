/**
 * `fizz registry ls | gc [--dry-run] [--grace D] | login`: the node's OCI
 * registry (what it holds and where it listens; garbage collection; the
 * cluster's credentials for clients on other machines).
 */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";

const USAGE = "fizz registry ls | gc [--dry-run] [--grace <duration>] | login";

interface Status {
  enabled: boolean;
  address?: string;
  engineAddress?: string;
  peerAddress?: string;
  blobs?: number;
  bytes?: number;
  repositories?: { name: string; kind: string; manifests: number; tags: { tag: string; digest: string; size: number }[] }[];
}

interface GcReport {
  dryRun: boolean;
  removed: { blobs: number; manifests: number; tags: number; uploads: number };
  freedBytes: number;
  keptBytes: number;
  items: { kind: string; what: string; size?: number }[];
}

function human(n: number): string {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${u[i]}`;
}

function parseGrace(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw usageError(`--grace '${s}' is not a duration`, "e.g. --grace 0, 30m, 24h, 7d");
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "s") as "ms"];
  return Math.round(Number(m[1]) * mult);
}

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("registry [...args]", "The node's OCI registry: ls (images held), gc [--dry-run] (remove unused blobs), login (credentials for other machines)")
    .option("--format <format>", "table (default) or json")
    .option("--dry-run", "gc: print what would be removed, remove nothing")
    .option("--grace <duration>", "gc: keep unused content stored or pulled within this time (default registry.gc_grace, 72h; blobs no manifest references yet stay 10 minutes whatever it says: a push may be under way)")
    .example("fizz registry ls")
    .example("docker push 127.0.0.1:5050/app:1 && fizz registry ls")
    .example("fizz registry gc --dry-run")
    .example("fizz registry gc --grace 1h")
    .example("fizz registry login | docker login -u fizz --password-stdin 10.0.0.5:5050")
    .action(
      action(async (ctx, args, options) => {
        const [sub, ...rest] = args;
        if (rest.length) throw usageError(`fizz registry ${sub} takes no arguments`, USAGE);
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const client = await agentClient(ctx);
        switch (sub) {
          case "ls":
          case "list": {
            const s = await client.json<Status>("GET", "/v1/registry");
            if (format === "json") {
              ctx.out(`${JSON.stringify(s, null, 2)}\n`);
              return 0;
            }
            if (!s.enabled) {
              ctx.err("The registry is disabled on this node (registry.enabled: false).\n");
              return 0;
            }
            ctx.err(`Registry ${s.address} (engine pulls via ${s.engineAddress}${s.peerAddress ? `, peers via ${s.peerAddress}` : ""}): ${s.blobs} blobs, ${human(s.bytes ?? 0)}\n`);
            const rows: string[][] = [];
            for (const r of s.repositories ?? []) {
              if (r.tags.length === 0) rows.push([r.name, "<none>", "-", "-", r.kind === "upstream" ? "mirror" : r.kind]);
              for (const t of r.tags) rows.push([r.name, t.tag, t.digest.slice(0, 19), human(t.size), r.kind === "upstream" ? "mirror" : r.kind]);
            }
            ctx.out(table([["REPOSITORY", "TAG", "DIGEST", "SIZE", "KIND"], ...rows]));
            return 0;
          }
          case "gc": {
            const grace = optString(options, "grace");
            const r = await client.json<GcReport>("POST", "/v1/registry/gc", { dryRun: options.dryRun === true, ...(grace !== undefined ? { graceMs: parseGrace(grace) } : {}) });
            if (format === "json") {
              ctx.out(`${JSON.stringify(r, null, 2)}\n`);
              return 0;
            }
            for (const i of r.items) ctx.out(`${r.dryRun ? "would remove" : "removed"} ${i.kind} ${i.what}${i.size !== undefined ? ` (${human(i.size)})` : ""}\n`);
            ctx.err(`${r.dryRun ? "Would remove" : "Removed"} ${r.removed.blobs} blobs (${human(r.freedBytes)}), ${r.removed.manifests} manifests, ${r.removed.tags} tags; kept ${human(r.keptBytes)}\n`);
            return 0;
          }
          case "login": {
            const c = await client.json<{ username: string; password: string; address: string }>("GET", "/v1/registry/credentials");
            if (format === "json") ctx.out(`${JSON.stringify(c, null, 2)}\n`);
            else {
              ctx.out(`${c.password}\n`);
              if (process.stdout.isTTY) ctx.err(`Username: ${c.username}. Pipe it: fizz registry login | docker login -u ${c.username} --password-stdin <node>:${c.address.split(":").pop()}\n`);
            }
            return 0;
          }
          default:
            throw usageError(sub === undefined ? "fizz registry needs a subcommand" : `unknown registry subcommand '${sub}'`, USAGE);
        }
      }),
    );
};
