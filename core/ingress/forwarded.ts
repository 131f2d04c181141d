/**
 * Who the client is, for HTTP backends: the X-Forwarded-For, Forwarded
 * (RFC 7239) and X-Forwarded-Proto headers Fizz sets on every proxied
 * request. What the client sent in them is believed only when the peer is a
 * configured trusted proxy (a load balancer in front of Fizz): then Fizz
 * appends its hop; from anyone else those headers are dropped and replaced,
 * so a client cannot forge its address.
 */
import { inAnyCidr, parseIp, type Cidr } from "./address.ts";
import type { Header } from "./http-head.ts";

export interface ForwardContext {
  /** The peer's address as the socket (or a trusted PROXY header) reports it. */
  readonly peer: string;
  /** "http" or "https": the scheme this hop was received on. */
  readonly proto: "http" | "https";
  /** Ranges whose forwarding headers are believed. */
  readonly trusted: readonly Cidr[];
  /** Precomputed per connection (the peer does not change): whether it is trusted, and its Forwarded node. */
  readonly peerTrusted?: boolean;
  readonly peerNode?: string;
}

export const FORWARDING_HEADERS = new Set(["x-forwarded-for", "forwarded", "x-forwarded-proto", "x-forwarded-host"]);

/** The node in a Forwarded `for=` parameter: IPv6 quoted in brackets (RFC 7239 §6). */
export function forwardedNode(address: string): string {
  const b = parseIp(address);
  if (b && b.length === 16) return `"[${address}]"`;
  return b ? address : `"${address.replace(/["\\]/g, "")}"`;
}

export interface ForwardedHeaders {
  readonly xForwardedFor: string;
  readonly forwarded: string;
  readonly xForwardedProto: string;
  readonly xForwardedHost: string | undefined;
}

/**
 * The forwarding headers to send upstream. `headers` are the request's; only
 * the four forwarding ones are read.
 */
export function forwardingHeaders(headers: readonly Header[], host: string, ctx: ForwardContext): ForwardedHeaders {
  const trusted = ctx.peerTrusted ?? inAnyCidr(ctx.trusted, ctx.peer);
  let xff: string | undefined;
  let fwd: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  if (trusted) {
    for (const h of headers) {
      if (h.name === "x-forwarded-for") xff = xff === undefined ? h.value : `${xff}, ${h.value}`;
      else if (h.name === "forwarded") fwd = fwd === undefined ? h.value : `${fwd}, ${h.value}`;
      else if (h.name === "x-forwarded-proto") xfp ??= h.value;
      else if (h.name === "x-forwarded-host") xfh ??= h.value;
    }
  }
  const proto = xfp && /^https?$/i.test(xfp) ? xfp.toLowerCase() : ctx.proto;
  const hostParam = host ? `;host="${host.replace(/["\\]/g, "")}"` : "";
  const hop = `for=${ctx.peerNode ?? forwardedNode(ctx.peer)}${hostParam};proto=${ctx.proto}`;
  return {
    xForwardedFor: xff ? `${xff}, ${ctx.peer}` : ctx.peer,
    forwarded: fwd ? `${fwd}, ${hop}` : hop,
    xForwardedProto: proto,
    xForwardedHost: xfh ?? (host || undefined),
  };
}

/**
 * The original client, as far as the trusted chain vouches: the rightmost
 * X-Forwarded-For entry not inside a trusted range (what Fizz logs and counts).
 */
export function clientAddress(xForwardedFor: string, trusted: readonly Cidr[]): string {
  const hops = xForwardedFor.split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!inAnyCidr(trusted, hops[i]!)) return hops[i]!;
  }
  return hops[0] ?? "";
}
