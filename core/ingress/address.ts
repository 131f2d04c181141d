/**
 * CIDR membership for PROXY protocol headers and trusted-proxy lists; the
 * address parsing and formatting it builds on is core/ip.ts (re-exported here
 * for the ingress's callers).
 */
import { formatIp, parseIp, parseIpv4, type IpBytes } from "../ip.ts";

export { canonicalIp, formatIp, parseIp, parseIpv4, parseIpv6, type IpBytes } from "../ip.ts";

export interface Cidr {
  readonly bytes: IpBytes;
  readonly bits: number;
}

/** "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf("/");
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.length * 8;
  if (slash < 0) return { bytes: addr, bits: max };
  const bitsText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  // An IPv4-mapped prefix (::ffff:10.0.0.0/104) counts its bits from the IPv4 part.
  let bits = Number(bitsText);
  if (addr.length === 4 && parseIpv4(s.slice(0, slash)) === undefined) bits -= 96;
  if (bits < 0 || bits > max) return undefined;
  return { bytes: addr, bits };
}

export function cidrContains(c: Cidr, ip: IpBytes): boolean {
  if (c.bytes.length !== ip.length) return false;
  let bits = c.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.bytes[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}

/** True when the address text falls in any of the ranges. */
export function inAnyCidr(ranges: readonly Cidr[], address: string): boolean {
  if (ranges.length === 0) return false;
  const ip = parseIp(address);
  return ip !== undefined && ranges.some((c) => cidrContains(c, ip));
}
