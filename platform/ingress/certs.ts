/**
 * The certificates a node serves over TLS, by name: each certificate is
 * indexed by its DNS subject alternative names (exact, then one-label
 * wildcards), and the TLS listener picks one per connection by SNI. Filled
 * from the replicated state (ACME-issued and user-provided certificates), so
 * every node serves the same ones.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import tls from "node:tls";

export interface CertInfo {
  readonly names: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly fingerprint: string;
}

/** SANs and validity of a PEM certificate (the first in a chain). */
export function certInfo(certPem: string): CertInfo {
  const x = new X509Certificate(certPem);
  const names = (x.subjectAltName ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4).toLowerCase());
  return { names, notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), fingerprint: x.fingerprint256 };
}

interface Entry {
  readonly ctx: tls.SecureContext;
  readonly info: CertInfo;
  readonly id: string;
}

export class CertStore {
  private byName = new Map<string, Entry>();
  private byId = new Map<string, Entry>();

  /** Adds or replaces the certificate `id` (a domain, or a user certificate's name). Throws on a bad pair. */
  put(id: string, certPem: string, keyPem: string): CertInfo {
    createPrivateKey(keyPem); // a clear error for a bad key, before TLS sees it
    const info = certInfo(certPem);
    const ctx = tls.createSecureContext({ cert: certPem, key: keyPem });
    this.remove(id);
    const e: Entry = { ctx, info, id };
    this.byId.set(id, e);
    for (const n of info.names) {
      const cur = this.byName.get(n);
      // Of two certificates for a name, the one valid longer wins.
      if (!cur || cur.info.notAfter < info.notAfter) this.byName.set(n, e);
    }
    return info;
  }

  remove(id: string): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.byId.delete(id);
    for (const [n, x] of this.byName) if (x === e) this.byName.delete(n);
    for (const other of this.byId.values()) for (const n of other.info.names) if (!this.byName.has(n)) this.byName.set(n, other);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  info(id: string): CertInfo | undefined {
    return this.byId.get(id)?.info;
  }

  /** The context for a server name, or undefined. */
  lookup(servername: string): tls.SecureContext | undefined {
    const n = servername.toLowerCase();
    const exact = this.byName.get(n);
    if (exact) return exact.ctx;
    const dot = n.indexOf(".");
    return dot > 0 ? this.byName.get(`*${n.slice(dot)}`)?.ctx : undefined;
  }

  /** Whether some certificate covers the name. */
  covers(servername: string): boolean {
    return this.lookup(servername) !== undefined;
  }

  sniCallback(): (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void {
    return (servername, cb) => {
      const ctx = this.lookup(servername);
      if (ctx) cb(null, ctx);
      else cb(new Error(`no certificate for ${servername}`));
    };
  }
}
