/**
 * Automatic TLS without a leader: which node orders a domain's certificate,
 * when, and when to renew. Every node computes the same owner for a domain by
 * rendezvous hashing over the alive nodes (a node joining or leaving moves
 * only the domains it wins or held). The owner orders; every node serves the
 * certificate once it is in the replicated state, and every node answers the
 * HTTP-01 challenge from the replicated pending tokens, so the CA may ask any
 * node. Failed orders back off exponentially (a CA's rate limits are strict),
 * and the reason is kept for events and `fizz why`.
 */
import { hash32 } from "../hash32.ts";

/** The alive node that orders (and renews) the certificate for `domain`, or undefined with no alive node. */
export function orderOwner(domain: string, aliveNodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const n of aliveNodes) {
    const score = hash32(`${domain}\u0000${n}`);
    if (score > bestScore || (score === bestScore && best !== undefined && n < best)) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

export interface CertValidity {
  /** ms since the epoch */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Renew once two thirds of the lifetime have passed (30 days before expiry for a 90-day certificate). */
export function renewAt(c: CertValidity): number {
  const life = Math.max(0, c.notAfter - c.notBefore);
  return c.notAfter - Math.floor(life / 3);
}

export interface OrderAttempt {
  /** When the last order failed, ms since the epoch. */
  readonly at: number;
  /** Failures in a row. */
  readonly failures: number;
  readonly error: string;
}

export const BACKOFF_BASE_MS = 60_000;
export const BACKOFF_MAX_MS = 6 * 3600_000;

export function retryAt(a: OrderAttempt): number {
  return a.at + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(0, a.failures - 1), 20));
}

export type CertAction =
  | { readonly kind: "order"; readonly why: "missing" | "renewal" | "hosts-changed" }
  | { readonly kind: "wait"; readonly until: number; readonly why: string }
  | { readonly kind: "none"; readonly why: string };

export interface DomainView {
  readonly domain: string;
  /** The certificate the cluster holds for it, if any. */
  readonly cert: CertValidity | undefined;
  /** A user-provided certificate covers it: ACME leaves it alone. */
  readonly userProvided: boolean;
  readonly lastFailure: OrderAttempt | undefined;
}

/** What `self` should do about one domain now. */
export function certAction(d: DomainView, self: string, aliveNodes: readonly string[], now: number): CertAction {
  if (d.userProvided) return { kind: "none", why: "a user-provided certificate covers it" };
  if (d.domain.startsWith("*.")) return { kind: "none", why: "wildcard names need DNS-01, which Fizz does not do; provide the certificate with fizz cert add" };
  const owner = orderOwner(d.domain, aliveNodes);
  if (owner !== self) return { kind: "none", why: owner ? `node ${owner} orders it` : "no alive node" };
  if (d.lastFailure) {
    const t = retryAt(d.lastFailure);
    if (now < t && (!d.cert || now >= renewAt(d.cert))) return { kind: "wait", until: t, why: `last order failed: ${d.lastFailure.error}` };
  }
  if (!d.cert) return { kind: "order", why: "missing" };
  const r = renewAt(d.cert);
  if (now >= r) return { kind: "order", why: "renewal" };
  return { kind: "wait", until: r, why: "valid; renews at two thirds of its lifetime" };
}

/** The names to certify: TLS routes' hosts, without wildcards, deduplicated and sorted. */
export function tlsDomains(hosts: Iterable<string>): string[] {
  return [...new Set([...hosts].map((h) => h.toLowerCase()))].sort();
}

/** Whether a certificate for `names` (SANs) covers `host` (wildcards one label deep). */
export function certCovers(names: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  return names.some((n) => {
    const p = n.toLowerCase();
    if (p === h) return true;
    if (!p.startsWith("*.")) return false;
    const dot = h.indexOf(".");
    return dot > 0 && h.slice(dot) === p.slice(1);
  });
}
