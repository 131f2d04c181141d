/**
 * Automatic TLS for the ingress, one pass at a time (called by the ingress
 * controller after each route refresh): the certificates in the ingress
 * records (ACME-issued and user-added) are loaded into the node's CertStore,
 * so every node serves the same ones; the node that owns a host name
 * (core/ingress/acme-plan.ts) orders its certificate when it is missing or
 * due for renewal, one order at a time, publishing the HTTP-01 tokens in the
 * records so whichever node the CA asks answers; the result, or the reason
 * it failed (then retried with backoff while the route keeps serving HTTP),
 * goes into the records and the event log. Values sealed under a keyring key
 * that is no longer the primary are sealed again by the record's owner.
 */
import { createHash } from "node:crypto";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { FizzError } from "../../core/errors.ts";
import { orderOwner } from "../../core/ingress/acme-plan.ts";
import { needsReseal } from "../../core/ingress/seal.ts";
import { tlsPlan, type DomainStatus, type TlsPlan } from "../../core/ingress/tls-plan.ts";
import type { RouteTable } from "../../core/ingress/routes.ts";
import { accountKey, acmeCertKey, challengeAnswer, isDomain, orderKey, tokenKey, userCertKey, type CertRecord } from "../../core/state/index.ts";
import { createAccountKey, orderCertificate } from "../../platform/ingress/acme.ts";
import { certInfo, type CertStore } from "../../platform/ingress/certs.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import type { IngressRecords } from "./records.ts";

/** How long a published challenge token is answered (an order takes seconds; a crashed one leaves it behind). */
const TOKEN_TTL_MS = 10 * 60_000;
const USER_NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;

export interface CertView {
  readonly id: string;
  readonly source: "acme" | "user";
  readonly names: readonly string[];
  readonly not_before: string;
  readonly not_after: string;
  readonly by: string;
  readonly directory: string | null;
  readonly loaded: boolean;
  readonly problem: string | null;
}

export class TlsManager {
  private ordering: string | undefined;
  private plan: TlsPlan | undefined;
  /** What this node has loaded into the CertStore: record id → fingerprint of the record's chain+key. */
  private loaded = new Map<string, string>();
  private problems = new Map<string, string>();
  private reported = new Map<string, string>();
  private caCache: { file: string; pem: string | undefined; error: string | undefined } | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly records: IngressRecords,
    private readonly certs: CertStore,
    private readonly o: { readonly wake: () => void; readonly challengeServed?: () => void },
  ) {}

  /** HTTP-01: the key authorization for a token the cluster has pending. */
  challenge(token: string): string | undefined {
    const a = challengeAnswer(this.records.view, token, Date.now());
    if (a !== undefined) this.o.challengeServed?.();
    return a;
  }

  pass(table: RouteTable, alive: readonly string[]): void {
    const cfg = this.ctx.config.ingress.acme;
    const plan = tlsPlan({ table, records: this.records.list(), self: this.ctx.node, alive, now: Date.now(), directory: cfg.directory });
    this.plan = plan;
    // A user's certificate for a name wins over one ACME issued earlier for it.
    this.load(new Set(plan.domains.filter((d) => d.state === "user").map((d) => acmeCertKey(d.domain))));
    for (const k of plan.tidy) this.records.delete(k);
    this.reseal(alive);
    this.report(plan.domains);
    const next = plan.orders.find((o) => o.domain !== this.ordering);
    if (next && this.ordering === undefined) {
      this.ordering = next.domain;
      void this.order(next.domain, next.why).finally(() => {
        this.ordering = undefined;
        this.o.wake();
      });
    }
  }

  /** The certificates in the records, into the CertStore (only what changed), and out of it when gone. */
  private load(skip: ReadonlySet<string>): void {
    const now = Date.now();
    const want = new Set<string>();
    for (const [id, r] of this.records.list()) {
      if (r.kind !== "cert" || r.notAfter <= now || skip.has(id)) continue;
      want.add(id);
      const fp = `${r.chain.length}:${r.key.kid}:${r.key.box}`;
      if (this.loaded.get(id) === fp) continue;
      const key = this.records.open(id, r.key);
      if (!key.ok) {
        this.problems.set(id, `cannot open its private key: ${key.why}`);
        continue;
      }
      try {
        this.certs.put(id, r.chain, key.plaintext);
        this.loaded.set(id, fp);
        this.problems.delete(id);
      } catch (e) {
        this.problems.set(id, `not served: ${(e as Error).message}`);
      }
    }
    for (const id of [...this.loaded.keys()]) {
      if (want.has(id)) continue;
      this.certs.remove(id);
      this.loaded.delete(id);
    }
    for (const id of [...this.problems.keys()]) if (!want.has(id)) this.problems.delete(id);
  }

  /** After a key rotation: values sealed under a key still held but no longer primary, sealed again by their owner. */
  private reseal(alive: readonly string[]): void {
    const keys = this.records.keys();
    if (!keys) return;
    for (const [id, r] of this.records.list()) {
      if ((r.kind !== "cert" && r.kind !== "account") || !needsReseal(r.key, keys.primary, keys.held)) continue;
      if (orderOwner(id, alive) !== this.ctx.node) continue;
      const opened = this.records.open(id, r.key);
      const sealed = opened.ok ? this.records.seal(id, opened.plaintext) : undefined;
      if (sealed) this.records.put(id, { ...r, key: sealed });
    }
  }

  /** One event per domain whenever what it says changes in kind (not on every pass). */
  private report(domains: readonly DomainStatus[]): void {
    const seen = new Set<string>();
    for (const d of domains) {
      seen.add(d.domain);
      const was = this.reported.get(d.domain);
      if (was === d.state) continue;
      this.reported.set(d.domain, d.state);
      if (d.state === "no-directory" || d.state === "wildcard") {
        recordEvent(this.ctx, { type: "ingress.tls_unavailable", message: `TLS for ${d.domain}: ${d.why}; its route is served over HTTP only`, data: { domain: d.domain } });
      }
    }
    for (const k of [...this.reported.keys()]) if (!seen.has(k)) this.reported.delete(k);
  }

  private directoryCa(): string | undefined {
    const file = this.ctx.config.ingress.acme.ca_file;
    if (!file) return undefined;
    if (this.caCache?.file !== file) {
      try {
        this.caCache = { file, pem: readFileSync(file, "utf8"), error: undefined };
      } catch (e) {
        this.caCache = { file, pem: undefined, error: (e as Error).message };
      }
    }
    if (this.caCache.error) throw new Error(`ingress.acme.ca_file ${file} cannot be read: ${this.caCache.error}`);
    return this.caCache.pem;
  }

  /** The account key for the configured directory: from the records, or made (and stored) now. */
  private async accountKeyPem(directory: string): Promise<string> {
    const id = accountKey(createHash("sha256").update(directory).digest("hex").slice(0, 16));
    const cur = this.records.get(id);
    if (cur?.kind === "account") {
      const k = this.records.open(id, cur.key);
      if (k.ok) return k.plaintext;
    }
    const pem = await createAccountKey();
    const sealed = this.records.seal(id, pem);
    if (!sealed) throw new Error("this node is rejoining its cluster; ordering waits");
    const email = this.ctx.config.ingress.acme.email;
    this.records.put(id, { kind: "account", directory, key: sealed, email: email || null, by: this.ctx.node });
    return pem;
  }

  private async order(domain: string, why: string): Promise<void> {
    const cfg = this.ctx.config.ingress.acme;
    const directory = cfg.directory;
    this.ctx.logger.info({ domain, why, directory }, "ordering a certificate");
    try {
      const issued = await orderCertificate({
        directoryUrl: directory,
        accountKeyPem: await this.accountKeyPem(directory),
        domain,
        ...(cfg.email ? { email: cfg.email } : {}),
        ...(cfg.ca_file ? { directoryCa: this.directoryCa() } : {}),
        publish: async (token, keyAuthorization) => {
          this.records.put(tokenKey(token), { kind: "token", domain, keyAuthorization, expires: Date.now() + TOKEN_TTL_MS });
          // The CA may ask any node: give the token time to reach them all.
          if (this.records.clustered && cfg.token_settle > 0) await new Promise((r) => setTimeout(r, cfg.token_settle));
        },
        unpublish: async (token) => this.records.delete(tokenKey(token)),
        timeoutMs: cfg.order_timeout,
      });
      const info = certInfo(issued.certPem);
      const id = acmeCertKey(domain);
      const sealed = this.records.seal(id, issued.keyPem);
      if (!sealed) throw new Error("this node is rejoining its cluster; the certificate was issued but cannot be stored yet");
      this.records.put(id, { kind: "cert", names: info.names.filter(isDomain), chain: issued.certPem, key: sealed, notBefore: info.notBefore, notAfter: info.notAfter, by: this.ctx.node, directory });
      this.records.delete(orderKey(domain));
      recordEvent(this.ctx, { type: "ingress.cert_issued", message: `certificate for ${domain} issued by ${directory}, valid until ${new Date(info.notAfter).toISOString()}; every node serves it`, data: { domain, not_after: info.notAfter } });
    } catch (e) {
      const prev = this.records.get(orderKey(domain));
      const failures = prev?.kind === "failure" ? prev.failures + 1 : 1;
      const error = (e as Error).message.slice(0, 1900);
      this.records.put(orderKey(domain), { kind: "failure", at: Date.now(), failures, error, by: this.ctx.node });
      recordEvent(this.ctx, { type: "ingress.acme_failed", message: `no certificate for ${domain} (attempt ${failures}); its route keeps serving HTTP: ${error}`, data: { domain, failures } });
    }
  }

  // ---- user certificates (fizz cert) ---------------------------------------

  /** Adds or replaces a user's certificate: every node serves it for its names, and ACME leaves those names alone. */
  addUserCert(name: string, certPem: string, keyPem: string): CertView {
    if (!USER_NAME_RE.test(name)) throw new FizzError({ code: "ingress.bad_cert_name", status: 400, message: `'${name}' is not a certificate name`, hint: "use letters, digits, '.', '_' and '-' (at most 63)" });
    let info: ReturnType<typeof certInfo>;
    try {
      info = certInfo(certPem);
      tls.createSecureContext({ cert: certPem, key: keyPem });
    } catch (e) {
      throw new FizzError({ code: "ingress.bad_cert", status: 400, message: `the certificate and key cannot be used: ${(e as Error).message}`, hint: "give the PEM certificate (leaf first, then intermediates) and its PEM private key" });
    }
    const names = info.names.filter(isDomain);
    if (names.length === 0) throw new FizzError({ code: "ingress.bad_cert", status: 400, message: "the certificate names no DNS host (subjectAltName DNS entries)", hint: "TLS clients match the host against subjectAltName; issue it with the host names of your routes" });
    if (info.notAfter <= Date.now()) throw new FizzError({ code: "ingress.bad_cert", status: 400, message: `the certificate expired on ${new Date(info.notAfter).toISOString()}` });
    const id = userCertKey(name);
    const sealed = this.records.seal(id, keyPem);
    if (!sealed) throw new FizzError({ code: "ingress.unavailable", status: 503, message: "this node is rejoining its cluster; try again in a few seconds" });
    const rec: CertRecord = { kind: "cert", names, chain: certPem, key: sealed, notBefore: info.notBefore, notAfter: info.notAfter, by: this.ctx.node, directory: null };
    this.records.put(id, rec);
    this.o.wake();
    return this.view(id, rec);
  }

  removeUserCert(name: string): boolean {
    const id = userCertKey(name);
    if (!USER_NAME_RE.test(name) || !this.records.get(id)) return false;
    this.records.delete(id);
    this.o.wake();
    return true;
  }

  private view(id: string, r: CertRecord): CertView {
    return {
      id,
      source: id.startsWith("user/") ? "user" : "acme",
      names: r.names,
      not_before: new Date(r.notBefore).toISOString(),
      not_after: new Date(r.notAfter).toISOString(),
      by: r.by,
      directory: r.directory,
      loaded: this.loaded.has(id),
      problem: this.problems.get(id) ?? null,
    };
  }

  certificates(): CertView[] {
    const out: CertView[] = [];
    for (const [id, r] of this.records.list()) if (r.kind === "cert") out.push(this.view(id, r));
    return out;
  }

  /** For GET /v1/ingress: every TLS host, who orders it, what serves it, and why. */
  status(): { acme_directory: string | null; ordering: string | null; domains: readonly DomainStatus[]; hostless_tls_ports: readonly number[] } {
    return {
      acme_directory: this.ctx.config.ingress.acme.directory || null,
      ordering: this.ordering ?? null,
      domains: this.plan?.domains ?? [],
      hostless_tls_ports: this.plan?.hostless ?? [],
    };
  }
}
