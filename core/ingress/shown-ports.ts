/**
 * What `fizz ps` shows in PORTS for a service's replica in a cluster, from the
 * spec alone (so every node shows the same): the ports the ingress accepts on
 * every node as `0.0.0.0:8080->80/tcp` (connect to any node's address), and
 * `mode: host` ports as `<node>:8080->80/tcp` (only that replica's node
 * accepts them; `<node>/<ip>:…` when bound to one host address).
 */
import type { Service } from "../compose/model.ts";
import { projectClaims } from "./routes.ts";
import type { Project } from "../compose/model.ts";

/** The ingress ports (published ports and x-fizz.ingress tcp entries) of one service, in file order. */
export function ingressPortsShown(deployment: string, project: Project, service: string): string[] {
  const only = project.services[service];
  if (!only) return [];
  const out: string[] = [];
  for (const c of projectClaims(deployment, { ...project, services: { [service]: only } }, true)) {
    if (c.kind === "http") continue;
    const text = `0.0.0.0:${c.port}->${c.target}/${c.kind}`;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/** The `mode: host` ports of a service as seen from elsewhere: on node `node`. */
export function hostPortsShown(svc: Service, node: string): string[] {
  const out: string[] = [];
  for (const p of svc.ports) {
    if (p.mode !== "host" || p.published === undefined) continue;
    const ip = p.host_ip && p.host_ip !== "0.0.0.0" && p.host_ip !== "::" ? `/${p.host_ip}` : "";
    const text = `${node}${ip}:${p.published}->${p.target}/${p.protocol}`;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * A replica's engine-published ports (`0.0.0.0:8080->80/tcp`, `:::8080->…`),
 * as the cluster shows them: bound on node `node` (IPv4 and IPv6 of one
 * binding shown once).
 */
export function enginePortsOnNode(ports: readonly string[], node: string): string[] {
  const out: string[] = [];
  for (const p of ports) {
    const m = /^(.*):(\d+(?:-\d+)?->.*)$/.exec(p);
    const text = !m ? p : m[1] === "0.0.0.0" || m[1] === "::" || m[1] === "" ? `${node}:${m[2]}` : `${node}/${m[1]}:${m[2]}`;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/** An ingress port as `ingressPortsShown` writes it, read back; undefined for any other text. */
export function readIngressShown(text: string): { published: number; target: number; protocol: string } | undefined {
  const m = /^0\.0\.0\.0:(\d+)->(\d+)\/(tcp|udp)$/.exec(text);
  return m ? { published: Number(m[1]), target: Number(m[2]), protocol: m[3]! } : undefined;
}
