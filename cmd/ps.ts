/** `fizz ps`: the project's containers with state, health, ports, restarts and the last failure. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { paint, type Context } from "./context.ts";
import { connect, openAgentRestarts, openLocalStore, projectOrName, requireServices, withProjectOptions } from "./project-common.ts";
import type { PsRow } from "../platform/deploy/project.ts";

/** What `ps` lists without -a, as the engine's own list does: running, paused and restarting containers. */
const LISTED = new Set(["running", "paused", "restarting", "unknown"]);

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("ps [...services]", "List the project's containers"))
    .option("-a, --all", "Include stopped containers")
    .option("-q, --quiet", "Only print container ids")
    .option("--format <format>", "table (default) or json")
    .action(
      action(async (ctx, services, options) => {
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const { project, name } = await projectOrName(options);
        // A misspelt service is an error, as in Compose (`no such service`), not an empty list.
        requireServices(project, services, { disabledToo: true });
        const { explicitAgent } = await import("./agent-mode.ts");
        if (explicitAgent(ctx)) {
          // -H: the containers of that agent's engine, through its API.
          const [{ agentClient, table: fmt }, { checkAgentEngine }] = await Promise.all([import("./agent-client.ts"), import("./engine-choice.ts")]);
          const client = await agentClient(ctx);
          await checkAgentEngine(options, client, "ps");
          const list = (await client.containers({ deployment: name })).filter(
            (c) => (options.all === true || LISTED.has(c.state)) && (!services.length || services.includes(c.service)),
          );
          if (options.quiet) ctx.out(list.map((c) => `${c.id}\n`).join(""));
          else if (format === "json") ctx.out(`${JSON.stringify(list, null, 2)}\n`);
          else if (list.some((c) => c.node !== undefined)) {
            // A cluster: every node's replicas, with where they run; a name two members share (VMs cloned from one
            // image) gets the node's short id, or every row would name the same node.
            const ids = new Map<string, Set<string>>();
            for (const c of list) if (c.node !== undefined && c.nodeId !== undefined) ids.set(c.node, (ids.get(c.node) ?? new Set()).add(c.nodeId));
            const node = (c: (typeof list)[number]) => (c.node !== undefined && c.nodeId !== undefined && ids.get(c.node)!.size > 1 ? `${c.node} (${c.nodeId.slice(0, 8)})` : (c.node ?? ""));
            ctx.out(fmt([["NAME", "SERVICE", "NODE", "IMAGE", "STATUS", "RESTARTS", "PORTS"], ...list.map((c) => [c.name, c.service, node(c), c.image, c.status, String(c.restarts), c.ports.join(", ")])]));
          } else ctx.out(fmt([["NAME", "SERVICE", "IMAGE", "STATUS", "RESTARTS", "PORTS"], ...list.map((c) => [c.name, c.service, c.image, c.status, String(c.restarts), c.ports.join(", ")])]));
          return 0;
        }
        const [engine, store, agentRestarts] = await Promise.all([connect(options, ctx), openLocalStore(), openAgentRestarts()]);
        try {
          const { psRows } = await import("../platform/deploy/project.ts");
          const rows = await psRows(engine, name, {
            all: options.all === true,
            services,
            fizzRestarts: (c, createdMs) => {
              const since = Number.isFinite(createdMs) ? createdMs : 0;
              // This CLI's restarts (attached `up`) and the local agent's, in time order.
              const h = [...(store?.restarts(c, since) ?? []), ...(agentRestarts?.restarts(c, since) ?? [])].sort((a, b) => a.at - b.at);
              const last = h.at(-1);
              return { count: h.length, ...(last ? { lastReason: last.reason } : {}) };
            },
          });
          if (!options.quiet) await addIngressPorts(ctx, name, rows);
          if (options.quiet) ctx.out(rows.map((r) => `${r.id}\n`).join(""));
          else if (format === "json") ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
          else ctx.out(table(ctx, rows));
          return 0;
        } finally {
          store?.close();
          agentRestarts?.close();
          await engine.close();
        }
      }),
    );
};

/** In a cluster, the ports the ingress serves for these replicas on every node (the engine does not bind them). */
async function addIngressPorts(ctx: Context, project: string, rows: PsRow[]): Promise<void> {
  if (!rows.length) return;
  const { ingressPortsHere } = await import("./cluster-ports.ts");
  const byName = await ingressPortsHere(ctx, project);
  for (const r of rows) {
    const add = (byName.get(r.name) ?? []).filter((p) => !r.ports.some((x) => x.hostPort === p.published && x.containerPort === p.target && x.protocol === p.protocol));
    r.ports.unshift(...add.map((p) => ({ hostIp: "0.0.0.0", hostPort: p.published, containerPort: p.target, protocol: p.protocol, ingress: true })));
  }
}

function ports(r: PsRow): string {
  return r.ports
    .map((p) => (p.hostPort ? `${p.hostIp && p.hostIp !== "0.0.0.0" ? p.hostIp : "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}` : `${p.containerPort}/${p.protocol}`))
    .filter((v, i, a) => a.indexOf(v) === i && !(v.startsWith("::") && a.includes(v.replace(/^::/, "0.0.0.0"))))
    .join(", ");
}

function status(ctx: Context, r: PsRow): string {
  const health = r.health ? ` (${r.health})` : "";
  const text = r.state === "exited" ? `exited (${r.exitCode})` : `${r.state}${health}`;
  const color = r.health === "unhealthy" || (r.state === "exited" && r.exitCode !== 0) ? "31" : r.state === "running" ? "32" : "33";
  return paint(ctx, color, text);
}

function table(ctx: Context, rows: PsRow[]): string {
  const head = ["NAME", "SERVICE", "IMAGE", "STATUS", "RESTARTS", "PORTS", "LAST FAILURE"];
  const body = rows.map((r) => [r.name, r.service, r.image, status(ctx, r), String(r.restarts), ports(r), r.lastFailure ?? ""]);
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => visible(b[i]!))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c)))).join("   ").trimEnd();
  return [line(head), ...body.map(line)].join("\n") + "\n";
}
