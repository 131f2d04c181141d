/**
 * One DNS query in, one decision out: an answer (bytes, ready to send) from
 * the cluster's table, or "forward" to the node's upstream resolvers. Uses
 * the `dns-packet` codec, not a hand-written one. The rotation (which replica
 * comes first) is passed in, so this stays pure: the server increments it.
 *
 * Over UDP an answer larger than the asker's buffer (512 bytes, or its EDNS0
 * size) is sent with the TC bit and no records, so the asker retries over
 * TCP, where the full answer goes.
 */
// node:buffer is a data type, not I/O: the codec works on Buffers (and Deno has no global Buffer).
import { Buffer } from "node:buffer";
import * as dnsPacket from "dns-packet";
import { formatIp } from "./cidr.ts";
import { answerFast } from "./dns-fast.ts";
import { lookupAddress, lookupName, parseReverseName, type DnsTable, type Found } from "./dns-records.ts";

/** The bound: replicas come and go, so nobody may cache them long. */
export const DNS_TTL_SECONDS = 5;
export const UDP_DEFAULT_PAYLOAD = 512;
const MAX_UDP_PAYLOAD = 4096;
const RCODES: Readonly<Record<string, number>> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2 };

export type DnsDecision =
  | { readonly kind: "answer"; readonly bytes: Uint8Array; readonly answers: number; readonly truncated: boolean }
  | { readonly kind: "forward" }
  | { readonly kind: "drop"; readonly reason: string };

export interface DnsQueryContext {
  readonly askerIp: number | undefined;
  readonly transport: "udp" | "tcp";
  /** Rotates the order of multi-record answers. */
  readonly rotation: number;
}

type Question = dnsPacket.Question;
type Answer = dnsPacket.Answer;

function rotate<T>(xs: readonly T[], by: number): T[] {
  if (xs.length < 2) return [...xs];
  const k = ((by % xs.length) + xs.length) % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

export function answerQuery(table: DnsTable, query: Uint8Array, ctx: DnsQueryContext): DnsDecision {
  return answerFast(table, query, ctx.askerIp, ctx.transport, ctx.rotation, DNS_TTL_SECONDS) ?? answerWithCodec(table, query, ctx);
}

/** The careful path: every query shape, through dns-packet. */
export function answerWithCodec(table: DnsTable, query: Uint8Array, ctx: DnsQueryContext): DnsDecision {
  let pkt: dnsPacket.DecodedPacket;
  try {
    pkt = dnsPacket.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
  } catch (e) {
    return { kind: "drop", reason: `undecodable query: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (pkt.type !== "query") return { kind: "drop", reason: "not a query" };
  const questions = pkt.questions ?? [];
  if (questions.length !== 1) return reply(pkt, [], "FORMERR", ctx, 0);
  const q = questions[0]!;
  const answers = answersFor(table, q, ctx);
  if (answers === undefined) return { kind: "forward" };
  return reply(pkt, answers, "NOERROR", ctx, payloadLimit(pkt));
}

function answersFor(table: DnsTable, q: Question, ctx: DnsQueryContext): Answer[] | undefined {
  const name = q.name.replace(/\.$/, "");
  if (q.type === "PTR") {
    const ip = parseReverseName(name);
    if (ip === undefined) return undefined;
    const target = lookupAddress(table, ip, ctx.askerIp);
    return target === undefined ? undefined : [{ type: "PTR", name: q.name, ttl: DNS_TTL_SECONDS, class: "IN", data: target }];
  }
  const r = lookupName(table, name, ctx.askerIp);
  if (r.kind === "not-ours") return undefined;
  const recs: Found[] = rotate(r.records, ctx.rotation);
  switch (q.type) {
    case "A":
      return recs.map((x) => ({ type: "A", name: q.name, ttl: DNS_TTL_SECONDS, class: "IN", data: formatIp(x.address) }));
    case "SRV":
      return recs.map((x) => ({ type: "SRV", name: q.name, ttl: DNS_TTL_SECONDS, class: "IN", data: { priority: 0, weight: 10, port: x.port, target: x.containerName } }));
    default:
      // The name is ours but has no record of this type (AAAA, MX…): NOERROR with no answers, not a forward.
      return [];
  }
}

function payloadLimit(pkt: dnsPacket.DecodedPacket): number {
  const opt = (pkt.additionals ?? []).find((a) => a.type === "OPT") as { udpPayloadSize?: number } | undefined;
  const size = opt?.udpPayloadSize ?? UDP_DEFAULT_PAYLOAD;
  return Math.max(UDP_DEFAULT_PAYLOAD, Math.min(MAX_UDP_PAYLOAD, size));
}

function reply(pkt: dnsPacket.DecodedPacket, answers: Answer[], rcode: string, ctx: DnsQueryContext, limit: number): DnsDecision {
  const rd = ((pkt.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0;
  const base = (ans: Answer[], tc: boolean): Buffer =>
    dnsPacket.encode({
      type: "response",
      id: pkt.id ?? 0,
      // dns-packet reads the rcode from the low 4 bits of flags when encoding.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (rd ? dnsPacket.RECURSION_DESIRED : 0) | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | RCODES[rcode]!,
      questions: pkt.questions ?? [],
      answers: ans,
    } as dnsPacket.Packet);
  const full = base(answers, false);
  if (ctx.transport === "udp" && limit > 0 && full.length > limit) {
    const tc = base([], true);
    return { kind: "answer", bytes: new Uint8Array(tc), answers: 0, truncated: true };
  }
  return { kind: "answer", bytes: new Uint8Array(full), answers: answers.length, truncated: false };
}

/** SERVFAIL for a query we could not forward in time (the asker should not wait forever). */
export function servfail(query: Uint8Array): Uint8Array | undefined {
  try {
    const pkt = dnsPacket.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
    return new Uint8Array(
      dnsPacket.encode({ type: "response", id: pkt.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE | ((pkt.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | RCODES.SERVFAIL!, questions: pkt.questions ?? [] } as dnsPacket.Packet),
    );
  } catch {
    return undefined;
  }
}
