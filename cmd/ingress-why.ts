/**
 * The ingress part of `fizz why <service>`: which ports and HTTP routes lead
 * to the service, which nodes accept them, and which replicas this node
 * sends them to (here, or through another node's relay), from GET /v1/ingress.
 */
import { replicaLabel } from "../core/ingress/plan.ts";
import type { IngressStatusView } from "../platform/api/client.ts";

export interface IngressWhy {
  readonly routed_by: readonly string[];
  readonly routes: readonly {
    readonly listen: string;
    readonly match: string;
    readonly from: string;
    readonly target: number;
    readonly replicas: readonly { readonly replica: string; readonly node: string; readonly address: string; readonly via: "here" | "relay"; readonly state: string; readonly ejected: boolean }[];
  }[];
}

export function ingressWhy(st: IngressStatusView, deployment: string, service: string): IngressWhy | undefined {
  if (!st.enabled) return undefined;
  const replicasOf = (target: number) => {
    const t = st.targets.find((x) => x.key === `${deployment}/${service}:${target}`);
    return (t?.replicas ?? []).map((r) => {
      const { replica, node } = replicaLabel(r.key);
      return { replica, node, address: r.address, via: node === st.node ? ("here" as const) : ("relay" as const), state: r.state, ejected: r.ejected };
    });
  };
  const routes: IngressWhy["routes"][number][] = [];
  // The status names projects; the deployment's project is the one whose targets it owns.
  const ours = (project: string, svc: string, target: number) => svc === service && st.targets.some((t) => t.key === `${deployment}/${service}:${target}` && t.label === `${project}/${svc}:${target}`);
  for (const r of st.l4) {
    if (ours(r.project, r.service, r.target)) routes.push({ listen: `${r.port}/${r.protocol}`, match: "*", from: r.from, target: r.target, replicas: replicasOf(r.target) });
  }
  for (const h of st.http) {
    for (const r of h.routes) {
      if (ours(r.project, r.service, r.target)) routes.push({ listen: `${h.port}/${h.tls ? "https" : "http"}`, match: `${r.hosts.length ? r.hosts.join(",") : "*"}${r.path}`, from: r.from, target: r.target, replicas: replicasOf(r.target) });
    }
  }
  if (routes.length === 0) return undefined;
  return { routed_by: st.routed_by ?? [st.node], routes };
}

export function ingressWhyText(w: IngressWhy, self: string): string {
  const short = (n: string) => n.slice(0, 8);
  let out = `ingress: accepted on ${w.routed_by.length === 1 ? "node" : "every alive node:"} ${w.routed_by.map(short).join(", ")}; node ${short(self)} sends it to:\n`;
  for (const r of w.routes) {
    const to = r.replicas.length
      ? r.replicas.map((x) => `${x.replica} on ${short(x.node)} (${x.via === "here" ? x.address : `through its relay ${x.address}`})${x.state === "draining" ? " draining" : ""}${x.ejected ? " ejected" : ""}`).join(", ")
      : "no ready replica (requests wait, then 503)";
    out += `  ${r.listen} ${r.match} -> port ${r.target} (${r.from}): ${to}\n`;
  }
  return out;
}
