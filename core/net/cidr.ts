/**
 * IPv4 addresses and CIDR blocks as plain numbers (uint32), so every node
 * computes the same blocks with no library and no I/O. Parsing is strict
 * (no leading zeros, no host bits set in a block) and returns typed errors.
 */
import { FizzError } from "../errors.ts";

export interface Cidr {
  /** Network address as an unsigned 32-bit integer (host bits zero). */
  readonly base: number;
  readonly prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses "a.b.c.d"; undefined when it is not a dotted-quad IPv4 address. */
export function parseIp(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The last address of the block. */
export function last(c: Cidr): number {
  return c.base + size(c) - 1;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export type CidrResult = { readonly ok: true; readonly value: Cidr } | { readonly ok: false; readonly error: FizzError };

/** Parses "a.b.c.d/n" with no host bits set (10.1.0.0/16, not 10.1.2.3/16). */
export function parseCidr(s: string, what = "subnet"): CidrResult {
  const bad = (message: string, hint?: string): CidrResult => ({ ok: false, error: new FizzError({ code: "net.invalid_cidr", message, ...(hint ? { hint } : {}) }) });
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s);
  if (!m) return bad(`${what} ${JSON.stringify(s)} is not an IPv4 CIDR block`, "write it as address/prefix, e.g. 10.208.0.0/12");
  const ip = parseIp(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined) return bad(`${what} ${JSON.stringify(s)}: ${m[1]} is not an IPv4 address`);
  if (prefix > 32) return bad(`${what} ${JSON.stringify(s)}: prefix /${prefix} is longer than 32 bits`);
  const c = { base: ip, prefix };
  const masked = maskOf(ip, prefix);
  if (masked !== ip) return bad(`${what} ${JSON.stringify(s)} has host bits set`, `did you mean ${formatIp(masked)}/${prefix}?`);
  return { ok: true, value: c };
}

/** Like parseCidr, for values this code wrote itself (claims keys): throws on garbage. */
export function cidr(s: string): Cidr {
  const r = parseCidr(s);
  if (!r.ok) throw r.error;
  return r.value;
}

export function maskOf(ip: number, prefix: number): number {
  if (prefix === 0) return 0;
  const block = 2 ** (32 - prefix);
  return ip - (ip % block);
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && last(inner) <= last(outer);
}

export function containsIp(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip <= last(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= last(b) && b.base <= last(a);
}

/** The i-th block of length `prefix` inside `c` (0-based); undefined past the end. */
export function subBlock(c: Cidr, prefix: number, i: number): Cidr | undefined {
  if (prefix < c.prefix || prefix > 32) return undefined;
  const n = 2 ** (prefix - c.prefix);
  if (!Number.isInteger(i) || i < 0 || i >= n) return undefined;
  return { base: c.base + i * 2 ** (32 - prefix), prefix };
}

/** How many blocks of length `prefix` fit in `c`. */
export function blockCount(c: Cidr, prefix: number): number {
  return prefix < c.prefix ? 0 : 2 ** (prefix - c.prefix);
}

/** Index of the `prefix`-block of `c` that holds `ip`. */
export function blockIndex(c: Cidr, prefix: number, ip: number): number {
  return Math.floor((ip - c.base) / 2 ** (32 - prefix));
}

export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.base === b.base && a.prefix === b.prefix;
}
