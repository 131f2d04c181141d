/**
 * Join tokens: what `fizz init` prints and `fizz join --token` reads.
 *
 *     fizz1<bech32m data>     payload (version 1):
 *       [token version u8 = 1][cluster id 16][cluster key 32][seed count u8]
 *       then per seed: [kind u8: 4 = IPv4, 6 = IPv6, 0 = hostname][addr][port u16 BE]
 *       (IPv4 addr = 4 bytes, IPv6 = 16, hostname = length u8 + ASCII)
 *
 * bech32m (BIP 350, via @scure/base): one case, no look-alike characters,
 * double-click selects it whole, and its 30-bit BCH checksum catches a
 * truncated or mistyped token before we try to use it.
 *
 * Tradeoff, decided: the token embeds the cluster key itself. That keeps join
 * a single step (a joiner proves membership by sealing its handshake with the
 * key; no extra key-delivery protocol to get wrong) and works with any node as
 * seed. The price: the token *is* the cluster's secret. Anyone holding it can
 * read and inject cluster traffic until the key is rotated, so it must be
 * handled like a password (print it once, never log it). After a rotation
 * (`install`/`use`/`remove`) old tokens stop working and a member mints a new
 * one from its current primary key; a joiner with an old token is told "wrong
 * cluster key". The alternative (Swarm-style: a separate join secret that a
 * seed checks before handing over the keyring) would allow revoking tokens
 * without rotating the data key; the version byte leaves room for it.
 *
 * Parsing never throws: it returns the token or a JoinTokenError whose
 * message says precisely what is wrong and what to do.
 */
import { bech32m } from "@scure/base";
import { formatIp, parseIpv4, parseIpv6 } from "../ip.ts";
import { FizzError } from "../errors.ts";
import { createKeyring, generateKey, KEY_BYTES, primaryEntry, type Keyring } from "./keyring.ts";
import { CLUSTER_ID_BYTES } from "./handshake.ts";

export const TOKEN_PREFIX = "fizz";
export const TOKEN_VERSION = 1;
export const MAX_SEEDS = 8;

export interface SeedAddress {
  readonly host: string;
  readonly port: number;
}

export interface JoinToken {
  readonly clusterId: Uint8Array;
  readonly key: Uint8Array;
  readonly seeds: readonly SeedAddress[];
}

export type JoinTokenErrorCode =
  | "empty"
  | "wrong-prefix"
  | "bad-character"
  | "mixed-case"
  | "checksum"
  | "unsupported-version"
  | "truncated"
  | "bad-seed"
  | "trailing-bytes";

export interface JoinTokenError {
  readonly code: JoinTokenErrorCode;
  readonly message: string;
}

export type ParseTokenResult = { readonly ok: true; readonly token: JoinToken } | { readonly ok: false; readonly error: JoinTokenError };

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const COPY_HINT = "copy the whole token from `fizz init`";

export function encodeJoinToken(t: JoinToken): string {
  if (t.clusterId.length !== CLUSTER_ID_BYTES) throw new Error(`cluster id must be ${CLUSTER_ID_BYTES} bytes`);
  if (t.key.length !== KEY_BYTES) throw new Error(`cluster key must be ${KEY_BYTES} bytes`);
  if (t.seeds.length === 0 || t.seeds.length > MAX_SEEDS) throw new Error(`a join token carries 1 to ${MAX_SEEDS} seed addresses`);
  const parts: number[] = [TOKEN_VERSION, ...t.clusterId, ...t.key, t.seeds.length];
  for (const s of t.seeds) {
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error(`bad seed port ${s.port}`);
    const v4 = parseIpv4(s.host);
    const v6 = v4 ? undefined : parseIpv6(s.host);
    if (v4) parts.push(4, ...v4);
    else if (v6) parts.push(6, ...v6);
    else {
      if (!isHostname(s.host)) throw new Error(`bad seed host ${JSON.stringify(s.host)}`);
      parts.push(0, s.host.length, ...[...s.host].map((c) => c.charCodeAt(0)));
    }
    parts.push(s.port >> 8, s.port & 0xff);
  }
  return bech32m.encode(TOKEN_PREFIX, bech32m.toWords(Uint8Array.from(parts)), false);
}

export function parseJoinToken(input: string): ParseTokenResult {
  const fail = (code: JoinTokenErrorCode, message: string): ParseTokenResult => ({ ok: false, error: { code, message } });
  const s = input.trim();
  if (s.length === 0) return fail("empty", "join token is empty: pass the token printed by `fizz init`");
  const lower = s.toLowerCase();
  if (!lower.startsWith(TOKEN_PREFIX + "1")) {
    return fail("wrong-prefix", `not a fizz join token (a join token starts with "${TOKEN_PREFIX}1"): ${COPY_HINT}`);
  }
  if (s !== lower && s !== s.toUpperCase()) return fail("mixed-case", `join token mixes upper and lower case: ${COPY_HINT}`);
  const data = lower.slice(TOKEN_PREFIX.length + 1);
  for (let i = 0; i < data.length; i++) {
    if (!CHARSET.includes(data[i]!)) {
      const pos = TOKEN_PREFIX.length + 2 + i;
      return fail("bad-character", `join token has an invalid character ${JSON.stringify(s[pos - 1])} at position ${pos}: ${COPY_HINT}`);
    }
  }
  const decoded = bech32m.decodeUnsafe(lower, false);
  if (!decoded || decoded.prefix !== TOKEN_PREFIX) return fail("checksum", `join token checksum mismatch: ${COPY_HINT}`);
  let bytes: Uint8Array;
  try {
    bytes = bech32m.fromWords(decoded.words);
  } catch {
    return fail("truncated", `join token is corrupt (bad padding): ${COPY_HINT}`);
  }
  const truncated = () => fail("truncated", `join token is truncated or corrupt: ${COPY_HINT}`);
  if (bytes.length < 1) return truncated();
  if (bytes[0] !== TOKEN_VERSION) {
    return fail(
      "unsupported-version",
      `join token version ${bytes[0]} is not supported by this fizz (it reads version ${TOKEN_VERSION}); use the same fizz version on every node`,
    );
  }
  let at = 1;
  if (bytes.length < at + CLUSTER_ID_BYTES + KEY_BYTES + 1) return truncated();
  const clusterId = bytes.slice(at, at + CLUSTER_ID_BYTES);
  at += CLUSTER_ID_BYTES;
  const key = bytes.slice(at, at + KEY_BYTES);
  at += KEY_BYTES;
  const count = bytes[at++]!;
  if (count === 0 || count > MAX_SEEDS) return fail("bad-seed", `join token lists ${count} seed addresses (1 to ${MAX_SEEDS} allowed): ${COPY_HINT}`);
  const seeds: SeedAddress[] = [];
  for (let n = 0; n < count; n++) {
    const kind = bytes[at++];
    let host: string;
    if (kind === 4) {
      if (bytes.length < at + 4) return truncated();
      host = Array.from(bytes.subarray(at, at + 4)).join(".");
      at += 4;
    } else if (kind === 6) {
      if (bytes.length < at + 16) return truncated();
      host = formatIp(bytes.subarray(at, at + 16));
      at += 16;
    } else if (kind === 0) {
      const len = bytes[at++];
      if (len === undefined || bytes.length < at + len) return truncated();
      host = String.fromCharCode(...bytes.subarray(at, at + len));
      at += len;
      if (!isHostname(host)) return fail("bad-seed", `join token seed ${n + 1} has an invalid host name: ${COPY_HINT}`);
    } else if (kind === undefined) {
      return truncated();
    } else {
      return fail("bad-seed", `join token seed ${n + 1} has unknown address kind ${kind}: ${COPY_HINT}`);
    }
    if (bytes.length < at + 2) return truncated();
    const port = (bytes[at]! << 8) | bytes[at + 1]!;
    at += 2;
    if (port === 0) return fail("bad-seed", `join token seed ${n + 1} has port 0: ${COPY_HINT}`);
    seeds.push({ host, port });
  }
  if (at !== bytes.length) return fail("trailing-bytes", `join token has ${bytes.length - at} unexpected trailing bytes: ${COPY_HINT}`);
  return { ok: true, token: { clusterId, key, seeds } };
}

export function joinTokenErrorToFizz(e: JoinTokenError): FizzError {
  return new FizzError({ code: `join_token.${e.code.replaceAll("-", "_")}`, message: e.message, exitCode: 2 });
}

/** Never print the key: for logs and `fizz status`. */
export function describeJoinToken(t: JoinToken): string {
  const id = Array.from(t.clusterId.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
  return `cluster ${id}…, seeds ${t.seeds.map(formatSeed).join(", ")}`;
}

export function formatSeed(s: SeedAddress): string {
  return s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

function isHostname(h: string): boolean {
  return h.length > 0 && h.length <= 253 && /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(h);
}

/** What `fizz init` needs: a fresh cluster id and key, the keyring, and the token to print. */
export interface NewCluster {
  readonly clusterId: Uint8Array;
  readonly keyring: Keyring;
  readonly token: string;
}

export function initCluster(randomBytes: (n: number) => Uint8Array, seeds: readonly SeedAddress[]): NewCluster {
  const clusterId = Uint8Array.from(randomBytes(CLUSTER_ID_BYTES));
  const key = generateKey(randomBytes);
  const r = createKeyring(key);
  if (!r.ok) throw new Error(r.error.message); // unreachable: generateKey returns 32 bytes
  return { clusterId, keyring: r.keyring, token: encodeJoinToken({ clusterId, key, seeds }) };
}

/** A token for the cluster as it is now (after a rotation old tokens no longer work). */
export function mintJoinToken(clusterId: Uint8Array, ring: Keyring, seeds: readonly SeedAddress[]): string {
  return encodeJoinToken({ clusterId, key: primaryEntry(ring).key, seeds });
}

/** The keyring a joiner starts with: just the token's key. */
export function keyringFromToken(t: JoinToken): Keyring {
  const r = createKeyring(t.key);
  if (!r.ok) throw new Error(r.error.message); // unreachable: parse checks the length
  return r.keyring;
}
