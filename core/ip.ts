/**
 * IP addresses as bytes, the one parser and formatter of address text (the
 * `host:port` layer is core/address.ts): IPv4 and IPv6 (with a trailing
 * dotted quad), formatted as RFC 5952 says (lower case, the longest run of
 * two or more zero groups as ::, IPv4-mapped IPv6 in mixed notation).
 * parseIp treats IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket
 * reports for an IPv4 peer) as the IPv4 address it carries. Used by the
 * ingress (PROXY headers, trusted-proxy lists) and join tokens (seed
 * addresses as bytes). Pure.
 */

export type IpBytes = Uint8Array; // 4 or 16 bytes

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseIpv4(s: string): IpBytes | undefined {
  if (!V4.test(s)) return undefined;
  return Uint8Array.from(s.split(".").map(Number));
}

export function parseIpv6(s: string): IpBytes | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let text = s;
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return undefined;
  if (text.includes(".", lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parseSide = (side: string): number[] | undefined => {
    if (side === "") return [];
    const out: number[] = [];
    for (const g of side.split(":")) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseSide(halves[0]!);
  if (!head) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const rest = parseSide(halves[1]!);
    if (!rest) return undefined;
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** 4 bytes for IPv4 (and IPv4-mapped IPv6), 16 for IPv6, undefined for anything else. */
export function parseIp(s: string): IpBytes | undefined {
  const v4 = parseIpv4(s);
  if (v4) return v4;
  const v6 = parseIpv6(s);
  if (!v6) return undefined;
  return isV4Mapped(v6) ? v6.slice(12) : v6;
}

function isV4Mapped(b: IpBytes): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Canonical text: dotted quad, or RFC 5952 (lower case, longest zero run of ≥ 2 groups as ::, IPv4-mapped in mixed notation). */
export function formatIp(b: IpBytes): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (isV4Mapped(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** The canonical form of an address text, or undefined when it is not an address. */
export function canonicalIp(s: string): string | undefined {
  const b = parseIp(s);
  return b ? formatIp(b) : undefined;
}
