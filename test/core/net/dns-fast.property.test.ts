/**
 * The hand-written fast path (dns-fast.ts) and the dns-packet path must give
 * the same answer: for random names, case, EDNS sizes, askers and rotations,
 * decoding the fast bytes with dns-packet equals what the slow path encodes.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import * as dnsPacket from "dns-packet";
import { answerFast, parseFastQuestion } from "../../../core/net/dns-fast.ts";
import { answerQuery, answerWithCodec } from "../../../core/net/dns-answer.ts";
import { buildDnsTable, type DnsEndpoint } from "../../../core/net/dns-records.ts";

const eps: DnsEndpoint[] = [];
for (let s = 0; s < 6; s++)
  for (let r = 1; r <= 1 + (s % 4) * 20; r++)
    eps.push({ project: s < 4 ? "p" : "q", service: `svc${s}`, containerName: `p-svc${s}-${r}`, ready: r % 7 !== 0, port: 80, networks: [{ network: "default", address: (10 << 24) + (s << 16) + r, aliases: s === 1 ? ["alias-one"] : [] }] });
const table = buildDnsTable(eps);
const asker = (10 << 24) + (0 << 16) + 1;

function slow(q: Uint8Array, askerIp: number | undefined, transport: "udp" | "tcp", rotation: number) {
  return answerWithCodec(table, q, { askerIp, transport, rotation });
}

describe("DNS fast path", () => {
  test("decodes to the same answer dns-packet would produce", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("svc0", "SVC1", "svc2.p", "Svc3", "svc4", "alias-one", "p-svc2-3", "nothere", "svc5.q"),
        fc.option(fc.integer({ min: 512, max: 8192 }), { nil: undefined }),
        fc.boolean(),
        fc.constantFrom("udp" as const, "tcp" as const),
        fc.nat(1000),
        fc.nat(65535),
        (name, edns, fromContainer, transport, rotation, id) => {
          const q = new Uint8Array(
            dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }], ...(edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: edns }] } : {}) } as dnsPacket.Packet),
          );
          expect(parseFastQuestion(q)?.name).toBe(name.toLowerCase());
          const fast = answerFast(table, q, fromContainer ? asker : undefined, transport, rotation, 5);
          expect(fast).toBeDefined();
          // The reference answer over TCP (never truncated); dns-packet does not compress names, so its
          // UDP answers hit the size limit sooner than the fast path's, which points back at the question.
          const d = slow(q, fromContainer ? asker : undefined, "tcp", rotation);
          if (fast!.kind === "forward") return void expect(d.kind).toBe("forward");
          const p = dnsPacket.decode(Buffer.from(fast!.bytes));
          expect(p.id).toBe(id);
          expect(p.type).toBe("response");
          expect(p.questions).toEqual([{ name, type: "A", class: "IN" }]);
          const addrs = (p.answers ?? []).map((a) => (a as { data: unknown }).data as string);
          expect(d.kind).toBe("answer");
          if (d.kind !== "answer") return;
          const ps = dnsPacket.decode(Buffer.from(d.bytes));
          expect(p.flag_aa).toBe(ps.flag_aa);
          expect(p.flag_rd).toBe(ps.flag_rd);
          expect((p as { rcode?: string }).rcode).toBe((ps as { rcode?: string }).rcode);
          const want = (ps.answers ?? []).map((a) => (a as { data: unknown }).data as string);
          if (fast!.truncated) expect(transport === "udp" && d.bytes.length > (edns ?? 512)).toBe(true);
          else {
            expect(addrs).toEqual(want);
            if (transport === "udp") expect(fast!.bytes.length).toBeLessThanOrEqual(Math.min(4096, Math.max(512, edns ?? 512)));
          }
          if (fast!.truncated) {
            expect(p.flag_tc).toBe(true);
            expect(addrs).toEqual([]);
          } else {
            expect(new Set(addrs).size).toBe(addrs.length);
            for (const a of p.answers ?? []) expect((a as { ttl?: number }).ttl).toBe(5);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test("the cache keyed by question bytes and asker never mixes up names, askers, tables or case", () => {
    // Two tables (a rebuilt table must not see the old one's cache), askers in either
    // project and the host, names in random case, random labels that are not ours.
    const table2 = buildDnsTable(eps.map((e) => (e.containerName === "p-svc1-2" ? { ...e, ready: false } : e)));
    const askers = [undefined, asker, (10 << 24) + (4 << 16) + 1, (10 << 24) + (1 << 16) + 3];
    const known = ["svc0", "svc1", "svc2.p", "svc3", "svc4", "svc5.q", "alias-one", "p-svc2-3", "p-svc1-2"];
    const label = fc.stringMatching(/^[a-z0-9_-]{1,12}$/);
    const name = fc.oneof(fc.constantFrom(...known), fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join(".")));
    const cased = fc.tuple(name, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 })).map(([n, up]) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(""));
    fc.assert(
      fc.property(fc.array(fc.tuple(cased, fc.nat(askers.length - 1), fc.boolean(), fc.boolean(), fc.nat(1000)), { minLength: 1, maxLength: 30 }), (queries) => {
        for (const [n, a, second, rd, rotation] of queries) {
          const t = second ? table2 : table;
          const q = new Uint8Array(dnsPacket.encode({ type: "query", id: rotation, flags: rd ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type: "A", name: n }] } as dnsPacket.Packet));
          const fast = answerFast(t, q, askers[a], "tcp", rotation, 5);
          const ref = answerWithCodec(t, q, { askerIp: askers[a], transport: "tcp", rotation });
          expect(fast).toBeDefined();
          if (fast!.kind !== "answer" || ref.kind !== "answer") {
            expect(fast!.kind as string).toBe(ref.kind);
            continue;
          }
          const pf = dnsPacket.decode(Buffer.from(fast!.bytes));
          const pr = dnsPacket.decode(Buffer.from(ref.bytes));
          expect(pf.questions).toEqual(pr.questions);
          expect(pf.flag_rd).toBe(rd);
          expect((pf.answers ?? []).map((x) => (x as { data: string }).data)).toEqual((pr.answers ?? []).map((x) => (x as { data: string }).data));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("two names with the same hash are told apart", () => {
    // FNV-1a over the lowercased wire name, as dns-fast.ts hashes it: these two collide
    // (found by a birthday search over svc-xxxxx names).
    const fnv = (n: string) => {
      let h = 0x811c9dc5;
      for (const l of n.split(".")) {
        h = Math.imul(h ^ l.length, 0x01000193);
        for (const c of l) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
      }
      return h >>> 0;
    };
    expect(fnv("svc-guzla")).toBe(fnv("svc-52apa"));
    for (const order of [["svc-guzla.p", "svc-52apa.p"], ["svc-52apa.p", "svc-guzla.p"]]) {
      // With ".p" after them they still collide (same state after the first label, same bytes after);
      // a fresh table each time, so either name can be the one already cached.
      const fresh = buildDnsTable([{ project: "p", service: "svc-guzla", containerName: "p-svc-guzla-1", ready: true, port: 80, networks: [{ network: "default", address: (10 << 24) + 7, aliases: [] }] }]);
      const got = order.map((n) => answerFast(fresh, new Uint8Array(dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name: n }] } as dnsPacket.Packet)), undefined, "udp", 0, 5)!.kind);
      expect(got).toEqual(order.map((n) => (n === "svc-guzla.p" ? "answer" : "forward")));
    }
  });

  test("shapes it does not handle go to the careful path", () => {
    const srv = new Uint8Array(dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "SRV", name: "svc0" }] } as dnsPacket.Packet));
    expect(parseFastQuestion(srv)).toBeUndefined();
    const two = new Uint8Array(dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name: "a" }, { type: "A", name: "b" }] } as dnsPacket.Packet));
    expect(parseFastQuestion(two)).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (junk) => void answerQuery(table, junk, { askerIp: undefined, transport: "udp", rotation: 0 })));
  });

  test("a damaged query (bytes changed, cut short or lengthened) never throws; an answer to it is a well-formed response with its id", () => {
    const type = fc.constantFrom("A", "SRV", "PTR", "AAAA", "TXT") as fc.Arbitrary<"A" | "SRV" | "PTR" | "AAAA" | "TXT">;
    const name = fc.constantFrom("svc0", "svc2.p", "alias-one", "p-svc2-3", "nothere", "1.0.0.10.in-addr.arpa", "svc5.q");
    fc.assert(
      fc.property(
        type,
        name,
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }),
        fc.option(fc.nat(120), { nil: undefined }),
        fc.uint8Array({ maxLength: 20 }),
        fc.boolean(),
        fc.constantFrom("udp" as const, "tcp" as const),
        (t, n, edns, flips, cut, tail, fromContainer, transport) => {
          const valid = dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: t, name: n }], ...(edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232 }] } : {}) } as dnsPacket.Packet);
          let q = new Uint8Array([...valid, ...tail]);
          for (const [at, v] of flips) if (at >= 2 && at < q.length) q[at] = v;
          if (cut !== undefined) q = q.subarray(0, cut);
          const d = answerQuery(table, q, { askerIp: fromContainer ? asker : undefined, transport, rotation: 3 });
          if (d.kind !== "answer") return;
          const p = dnsPacket.decode(Buffer.from(d.bytes));
          expect(p.id).toBe(4242);
          expect(p.type).toBe("response");
        },
      ),
      { numRuns: 3000 },
    );
  });
});
