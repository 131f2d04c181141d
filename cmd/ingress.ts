/** `fizz ingress`: what this node's ingress serves, and to whom (issue 13). */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";
import { replicaLabel } from "../core/ingress/plan.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("ingress [port]", "Show which ports and HTTP routes this node serves and which replicas each goes to (every node serves the same routes)")
    .option("--format <format>", "table (default) or json")
    .example("fizz ingress")
    .example("fizz ingress 8080")
    .example("fizz -H unix:/run/fizz/other.sock ingress --format json")
    .action(
      action(async (ctx, args, options) => {
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const only = args[0] === undefined ? undefined : Number(args[0]);
        if (only !== undefined && (!Number.isInteger(only) || only < 1 || only > 65535)) throw usageError(`'${args[0]}' is not a port`, "give a port number, e.g. fizz ingress 8080");
        const st = await (await agentClient(ctx)).ingress();
        if (format === "json") {
          ctx.out(`${JSON.stringify(st, null, 2)}\n`);
          return 0;
        }
        if (!st.enabled) {
          ctx.out("ingress is off on this node (ingress.enabled: false)\n");
          return 0;
        }
        const replicas = (project: string, service: string, target: number) => {
          const t = st.targets.find((x) => x.label === `${project}/${service}:${target}`);
          if (!t || t.replicas.length === 0) return "(no ready replica)";
          return t.replicas.map((r) => `${replicaLabel(r.key).replica}@${replicaLabel(r.key).node.slice(0, 8)} ${r.address}${r.state === "draining" ? " draining" : ""}${r.ejected ? " ejected" : ""}`).join(", ");
        };
        const rows: string[][] = [];
        for (const r of st.l4) {
          if (only !== undefined && r.port !== only) continue;
          const note = r.protocol === "udp" ? " (backend sees the node's address)" : r.proxy_protocol ? ` (PROXY v${r.proxy_protocol})` : " (backend sees the node's address; opt in to proxy_protocol for the client's)";
          rows.push([`${r.port}/${r.protocol}`, "*", `${r.project}/${r.service}:${r.target}${note}`, replicas(r.project, r.service, r.target)]);
        }
        for (const h of st.http) {
          if (only !== undefined && h.port !== only) continue;
          for (const r of h.routes) rows.push([`${h.port}/${h.tls ? "https" : "http"}`, `${r.hosts.length ? r.hosts.join(",") : "*"}${r.path}`, `${r.project}/${r.service}:${r.target}`, replicas(r.project, r.service, r.target)]);
        }
        const by = (st.routed_by ?? [st.node]).map((n) => n.slice(0, 8)).join(", ");
        ctx.out(`node ${st.node.slice(0, 8)}${st.clustered ? `, cluster: served by ${by} (relay port ${st.relay?.port ?? "not listening"})` : ", single node"}\n`);
        ctx.out(rows.length ? table([["PORT", "HOST/PATH", "SERVICE", "REPLICAS"], ...rows]) : "no ingress routes\n");
        for (const c of st.conflicts) ctx.out(`conflict: ${c.what}: ${c.refused} is not served (${c.kept} claimed it first)\n`);
        for (const d of st.tls?.domains ?? []) ctx.out(`tls ${d.domain}: ${d.state}: ${d.why}\n`);
        for (const p of st.tls?.hostless_tls_ports ?? []) ctx.out(`tls port ${p}: a route for any host has no name to order a certificate for; it is served only to clients whose server name a certificate from fizz cert add covers\n`);
        return 0;
      }),
    );
};
