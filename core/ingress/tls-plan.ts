/**
 * What a node does about TLS certificates in one pass, from the route table
 * and the ingress records (pure): for every host of a TLS route, whether a
 * certificate covers it (a user's or one ACME issued), which node orders it
 * (acme-plan.ts), whether this node orders it now, and a line saying why for
 * `fizz ingress` and the events. Also what to tidy: expired challenge tokens,
 * failure notes and expired certificates of hosts no route names any more.
 */
import type { CertRecord, IngressRecord, OrderFailureRecord } from "../state/ingress.ts";
import { certAction, certCovers, type CertAction } from "./acme-plan.ts";
import type { RouteTable } from "./routes.ts";

export interface TlsInput {
  readonly table: RouteTable;
  /** The ingress collection's records (key, record). */
  readonly records: readonly (readonly [string, IngressRecord])[];
  readonly self: string;
  readonly alive: readonly string[];
  /** ms since the epoch */
  readonly now: number;
  /** The ACME directory URL, or "" when ordering is off. */
  readonly directory: string;
}

export type DomainState = "valid" | "user" | "ordering" | "waiting" | "failed" | "no-directory" | "wildcard" | "elsewhere";

export interface DomainStatus {
  readonly domain: string;
  readonly state: DomainState;
  /** The node that orders it (ACME), if any. */
  readonly owner: string | undefined;
  /** Which record serves it now, if any (acme/<domain> or user/<name>). */
  readonly servedBy: string | undefined;
  /** ms since the epoch */
  readonly notAfter: number | undefined;
  readonly why: string;
}

export interface TlsPlan {
  readonly domains: readonly DomainStatus[];
  /** Domains this node orders now. */
  readonly orders: readonly { readonly domain: string; readonly why: string }[];
  /** Record keys to delete. */
  readonly tidy: readonly string[];
  /** TLS routes with no host: no name to certify (served only with a user certificate that matches the client's SNI). */
  readonly hostless: readonly number[];
}

/** The hosts of TLS routes, lower case, sorted. */
export function tlsHosts(table: RouteTable): { hosts: string[]; hostless: number[] } {
  const hosts = new Set<string>();
  const hostless = new Set<number>();
  for (const l of table.http) {
    if (!l.tls) continue;
    for (const r of l.routes) {
      if (r.hosts.length === 0) hostless.add(l.port);
      for (const h of r.hosts) hosts.add(h.toLowerCase());
    }
  }
  return { hosts: [...hosts].sort(), hostless: [...hostless].sort((a, b) => a - b) };
}

function bestCover(certs: readonly (readonly [string, CertRecord])[], host: string, now: number): readonly [string, CertRecord] | undefined {
  let best: readonly [string, CertRecord] | undefined;
  for (const c of certs) {
    if (c[1].notAfter <= now || !certCovers(c[1].names, host)) continue;
    if (!best || c[1].notAfter > best[1].notAfter) best = c;
  }
  return best;
}

export function tlsPlan(i: TlsInput): TlsPlan {
  const { hosts, hostless } = tlsHosts(i.table);
  const user: (readonly [string, CertRecord])[] = [];
  const acme = new Map<string, CertRecord>();
  const failures = new Map<string, OrderFailureRecord>();
  const tidy: string[] = [];
  for (const [k, r] of i.records) {
    if (r.kind === "cert" && k.startsWith("user/")) user.push([k, r]);
    else if (r.kind === "cert" && k.startsWith("acme/")) acme.set(k.slice(5), r);
    else if (r.kind === "failure" && k.startsWith("order/")) failures.set(k.slice(6), r);
    else if (r.kind === "token" && r.expires <= i.now) tidy.push(k);
  }
  const routed = new Set(hosts);
  for (const [d, c] of acme) if (!routed.has(d) && c.notAfter <= i.now) tidy.push(`acme/${d}`);
  for (const [d, f] of failures) if (!routed.has(d) && f.by === i.self) tidy.push(`order/${d}`);

  const domains: DomainStatus[] = [];
  const orders: { domain: string; why: string }[] = [];
  for (const domain of hosts) {
    const byUser = bestCover(user, domain, i.now);
    if (byUser) {
      domains.push({ domain, state: "user", owner: undefined, servedBy: byUser[0], notAfter: byUser[1].notAfter, why: `the certificate ${byUser[0].slice(5)} (added by a user) covers it` });
      continue;
    }
    const cert = acme.get(domain);
    const live = cert && cert.notAfter > i.now ? cert : undefined;
    const servedBy = live ? `acme/${domain}` : undefined;
    if (domain.startsWith("*.")) {
      domains.push({ domain, state: "wildcard", owner: undefined, servedBy, notAfter: live?.notAfter, why: "a wildcard name needs DNS-01, which Fizz does not do: add the certificate with fizz cert add" });
      continue;
    }
    if (i.directory === "") {
      domains.push({
        domain,
        state: live ? "valid" : "no-directory",
        owner: undefined,
        servedBy,
        notAfter: live?.notAfter,
        why: live ? "issued earlier; no ACME directory is configured to renew it (ingress.acme.directory)" : "no certificate: no ACME directory is configured (ingress.acme.directory), and no certificate added with fizz cert add covers it",
      });
      continue;
    }
    const f = failures.get(domain);
    const a: CertAction = certAction(
      { domain, cert: live ? { notBefore: live.notBefore, notAfter: live.notAfter } : undefined, userProvided: false, lastFailure: f ? { at: f.at, failures: f.failures, error: f.error } : undefined },
      i.self,
      i.alive,
      i.now,
    );
    const owner = a.kind === "none" && !a.why.startsWith("node ") ? undefined : a.kind === "none" ? a.why.slice(5, a.why.indexOf(" ", 5)) : i.self;
    if (a.kind === "order") {
      orders.push({ domain, why: a.why });
      domains.push({ domain, state: "ordering", owner, servedBy, notAfter: live?.notAfter, why: a.why === "missing" ? "ordering a certificate" : a.why === "renewal" ? "renewing (two thirds of its lifetime passed)" : "ordering again (names changed)" });
    } else if (a.kind === "wait") {
      const failed = f !== undefined && a.why.startsWith("last order failed");
      domains.push({ domain, state: failed ? "failed" : live ? "valid" : "waiting", owner, servedBy, notAfter: live?.notAfter, why: failed ? `${a.why}; next try at ${new Date(a.until).toISOString()}` : `valid until ${new Date(live!.notAfter).toISOString()}; renews at ${new Date(a.until).toISOString()}` });
    } else {
      const failedElsewhere = f !== undefined && !live;
      domains.push({
        domain,
        state: live ? "valid" : failedElsewhere ? "failed" : "elsewhere",
        owner,
        servedBy,
        notAfter: live?.notAfter,
        why: live ? `valid until ${new Date(live.notAfter).toISOString()}; ${a.why}` : failedElsewhere ? `${a.why}; its last order failed: ${f.error}` : `${a.why}; no certificate yet`,
      });
    }
  }
  return { domains, orders, tidy, hostless };
}
