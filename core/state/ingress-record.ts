/**
 * The `ingress` collection's records and keys (what ingress.ts writes), apart
 * from the mutators so the state's schema can name the record type without
 * importing them (the same split as registry-record.ts).
 */
import { at, fail, field, readArray, readInt, readRecord, readString } from "../crdt/index.ts";
import { parseContainerKey } from "./schema.ts";


/** Bytes encrypted under a keyring key: which key (its id) and base64(nonce ‖ ciphertext ‖ tag). */
export type Sealed = { readonly kid: string; readonly box: string };

export type DrainRecord = {
  readonly kind: "drain";
  /** The engine container the mark is for (a replica restarted under the same number is not draining). */
  readonly container: string;
  /** ms since the epoch */
  readonly since: number;
};

export type AccountRecord = {
  readonly kind: "account";
  readonly directory: string;
  /** PEM private key, sealed */
  readonly key: Sealed;
  readonly email: string | null;
  readonly by: string;
};

export type CertRecord = {
  readonly kind: "cert";
  /** DNS names (SANs) it covers, lower case */
  readonly names: readonly string[];
  /** PEM chain, leaf first */
  readonly chain: string;
  /** PEM private key, sealed */
  readonly key: Sealed;
  /** ms since the epoch */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly by: string;
  /** The ACME directory that issued it; null for a user's certificate. */
  readonly directory: string | null;
};

export type TokenRecord = {
  readonly kind: "token";
  readonly domain: string;
  readonly keyAuthorization: string;
  /** ms since the epoch; a token left behind by a crashed order is ignored after this */
  readonly expires: number;
};

export type OrderFailureRecord = {
  readonly kind: "failure";
  readonly at: number;
  readonly failures: number;
  readonly error: string;
  readonly by: string;
};

export type IngressRecord = DrainRecord | AccountRecord | CertRecord | TokenRecord | OrderFailureRecord;

/** Host names as x-fizz.ingress accepts them (lower case, no wildcard here: wildcards cannot be ordered). */
const DOMAIN_RE = /^(?=.{1,253}$)(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const TOKEN_RE = /^[A-Za-z0-9_-]{1,256}$/;
const NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;
const HEX16_RE = /^[0-9a-f]{16}$/;
const KID_RE = /^[0-9a-z:]{1,40}$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** A PEM chain (a few certificates) fits easily; bounded so one record cannot bloat the state. */
const MAX_CHAIN = 64 * 1024;
const MAX_BOX = 16 * 1024;

export function isDomain(s: string): boolean {
  return DOMAIN_RE.test(s);
}

export function drainKey(deployment: string, service: string, index: number, node: string): string {
  return `drain/${deployment}/${service}/${index}/${node}`;
}
export const accountKey = (id: string) => `account/${id}`;
export const acmeCertKey = (domain: string) => `acme/${domain}`;
export const userCertKey = (name: string) => `user/${name}`;
export const tokenKey = (token: string) => `token/${token}`;
export const orderKey = (domain: string) => `order/${domain}`;

type ParsedKey =
  | { kind: "drain"; deployment: string; service: string; index: number; node: string }
  | { kind: "account"; id: string }
  | { kind: "acme"; domain: string }
  | { kind: "user"; name: string }
  | { kind: "token"; token: string }
  | { kind: "order"; domain: string };

export function parseIngressKey(k: string): ParsedKey | undefined {
  const slash = k.indexOf("/");
  if (slash < 0) return undefined;
  const head = k.slice(0, slash);
  const rest = k.slice(slash + 1);
  switch (head) {
    case "drain": {
      const c = parseContainerKey(rest);
      return c ? { kind: "drain", deployment: c.deploymentId, service: c.service, index: c.index, node: c.nodeId } : undefined;
    }
    case "account":
      return HEX16_RE.test(rest) ? { kind: "account", id: rest } : undefined;
    case "acme":
      return isDomain(rest) && !rest.startsWith("*.") ? { kind: "acme", domain: rest } : undefined;
    case "user":
      return NAME_RE.test(rest) ? { kind: "user", name: rest } : undefined;
    case "token":
      return TOKEN_RE.test(rest) ? { kind: "token", token: rest } : undefined;
    case "order":
      return isDomain(rest) && !rest.startsWith("*.") ? { kind: "order", domain: rest } : undefined;
    default:
      return undefined;
  }
}

export function checkIngressKey(k: string, p: string): void {
  if (parseIngressKey(k) === undefined) fail(p, "invalid ingress key");
}

function readSealed(v: unknown, path: string): Sealed {
  const o = readRecord(v, path, ["kid", "box"]);
  const kid = readString(o.kid, at(path, "kid"), 40);
  if (!KID_RE.test(kid)) fail(at(path, "kid"), "expected a key id");
  const box = readString(o.box, at(path, "box"), MAX_BOX);
  if (!B64_RE.test(box)) fail(at(path, "box"), "expected base64");
  return { kid, box };
}

function readNullableString(v: unknown, path: string, max: number): string | null {
  return v === null ? null : readString(v, path, max);
}

export function readIngressRecord(v: unknown, path: string): IngressRecord {
  const kind = field(v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {}, "kind");
  switch (kind) {
    case "drain": {
      const o = readRecord(v, path, ["kind", "container", "since"]);
      return { kind, container: readString(o.container, at(path, "container"), 256), since: readInt(o.since, at(path, "since")) };
    }
    case "account": {
      const o = readRecord(v, path, ["kind", "directory", "key", "email", "by"]);
      return {
        kind,
        directory: readString(o.directory, at(path, "directory"), 2048),
        key: readSealed(o.key, at(path, "key")),
        email: readNullableString(o.email, at(path, "email"), 320),
        by: readString(o.by, at(path, "by"), 64),
      };
    }
    case "cert": {
      const o = readRecord(v, path, ["kind", "names", "chain", "key", "notBefore", "notAfter", "by", "directory"]);
      const names = readArray(
        o.names,
        at(path, "names"),
        (x, p) => {
          const n = readString(x, p, 253);
          if (!isDomain(n)) fail(p, "expected a DNS name");
          return n;
        },
        100,
      );
      return {
        kind,
        names,
        chain: readString(o.chain, at(path, "chain"), MAX_CHAIN),
        key: readSealed(o.key, at(path, "key")),
        notBefore: readInt(o.notBefore, at(path, "notBefore")),
        notAfter: readInt(o.notAfter, at(path, "notAfter")),
        by: readString(o.by, at(path, "by"), 64),
        directory: readNullableString(o.directory, at(path, "directory"), 2048),
      };
    }
    case "token": {
      const o = readRecord(v, path, ["kind", "domain", "keyAuthorization", "expires"]);
      const domain = readString(o.domain, at(path, "domain"), 253);
      if (!isDomain(domain)) fail(at(path, "domain"), "expected a DNS name");
      return { kind, domain, keyAuthorization: readString(o.keyAuthorization, at(path, "keyAuthorization"), 1024), expires: readInt(o.expires, at(path, "expires")) };
    }
    case "failure": {
      const o = readRecord(v, path, ["kind", "at", "failures", "error", "by"]);
      return { kind, at: readInt(o.at, at(path, "at")), failures: readInt(o.failures, at(path, "failures"), 1, 1_000_000), error: readString(o.error, at(path, "error"), 2000), by: readString(o.by, at(path, "by"), 64) };
    }
    default:
      fail(at(path, "kind"), "expected drain, account, cert, token or failure");
  }
}

const KIND_OF: Record<ParsedKey["kind"], IngressRecord["kind"]> = { drain: "drain", account: "account", acme: "cert", user: "cert", token: "token", order: "failure" };

/** A record under a key of another kind is forged or corrupt. */
export function checkIngressEntry(k: string, rec: IngressRecord, path: string): void {
  const p = parseIngressKey(k);
  if (!p || KIND_OF[p.kind] !== rec.kind) fail(at(path, k), "ingress record does not match its key");
}
