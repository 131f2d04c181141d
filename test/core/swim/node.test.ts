import { describe, expect, test } from "bun:test";
import { createRng } from "../../../core/random.ts";
import { bucketOf, createSwimNode, emptyMeta, encodeStream, pushPullInterval, retransmitLimit, swimConfig, type Message } from "../../../core/swim/index.ts";
import { Harness } from "./harness.ts";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);

describe("SWIM node", () => {
  test("join via any peer: everyone learns everyone through push-pull and gossip", () => {
    const h = new Harness();
    h.cluster(ids(6));
    for (const a of ids(6)) for (const b of ids(6)) expect(h.get(a).member(b)?.state).toBe("alive");
    expect(h.events.filter((e) => e.ev.type === "join").length).toBe(30);
  });

  test("healthy nodes ack probes: no suspicion, health score stays 0", () => {
    const h = new Harness();
    h.cluster(ids(4));
    h.run(20_000);
    expect(h.events.some((e) => e.ev.type === "suspect" || e.ev.type === "dead")).toBe(false);
    for (const id of ids(4)) expect(h.get(id).healthScore).toBe(0);
    expect(h.packets.some((p) => p.message.type === "ping" || (p.message.type === "compound" && p.message.parts.some((x) => x.type === "ping")))).toBe(true);
  });

  test("a crashed node is probed, indirectly probed, suspected, then declared dead by everyone", () => {
    const h = new Harness();
    h.cluster(ids(5));
    h.dead.add("n3");
    h.run(30_000);
    expect(h.packets.some((p) => p.message.type === "ping-req" || (p.message.type === "compound" && p.message.parts.some((x) => x.type === "ping-req")))).toBe(true);
    for (const id of ["n0", "n1", "n2", "n4"]) expect(h.get(id).member("n3")?.state).toBe("dead");
    expect(h.events.some((e) => e.ev.type === "suspect" && e.ev.member.id === "n3")).toBe(true);
    expect(h.events.filter((e) => e.ev.type === "dead" && e.ev.local).length).toBeGreaterThan(0);
  });

  test("a suspected node refutes with a higher incarnation and stays alive", () => {
    const h = new Harness();
    h.cluster(ids(4));
    const before = h.get("n2").incarnation;
    h.get("n0").receive("n1", { type: "suspect", node: "n2", incarnation: before, from: "n1" }, h.now);
    h.flush();
    h.run(8000);
    expect(h.get("n2").incarnation).toBeGreaterThan(before);
    for (const id of ["n0", "n1", "n3"]) expect(h.get(id).member("n2")?.state).toBe("alive");
    expect(h.events.some((e) => e.ev.type === "alive" && e.ev.member.id === "n2")).toBe(true);
  });

  test("buddy system: a ping to a suspect carries the suspicion (Lifeguard only)", () => {
    for (const lifeguard of [true, false]) {
      const h = new Harness({ lifeguard });
      h.cluster(ids(3));
      // n1 suspects n2; the only way n2 can hear of it is the buddy ping.
      h.drop = (from, to, m) => to === "n2" && !(from === "n1" && m.type === "compound" && m.parts.some((x) => x.type === "ping"));
      h.get("n1").receive("n0", { type: "suspect", node: "n2", incarnation: h.get("n2").incarnation, from: "n0" }, h.now);
      h.flush();
      h.run(4000);
      const buddy = h.packets.some(
        (p) => p.from === "n1" && p.to === "n2" && p.message.type === "compound" && p.message.parts[0]?.type === "suspect" && p.message.parts[1]?.type === "ping",
      );
      expect(buddy).toBe(lifeguard);
    }
  });

  test("local health: a node that hears nothing back raises its score with Lifeguard, not without", () => {
    for (const lifeguard of [true, false]) {
      const h = new Harness({ lifeguard });
      h.cluster(ids(5));
      h.drop = (_from, to) => to === "n0"; // n0's inbound is broken (a starved receiver)
      h.run(6000);
      if (lifeguard) expect(h.get("n0").healthScore).toBeGreaterThan(0);
      else expect(h.get("n0").healthScore).toBe(0);
    }
  });

  test("graceful leave is seen as left, not dead", () => {
    const h = new Harness();
    h.cluster(ids(4));
    h.get("n3").leave(h.now);
    h.flush();
    h.run(2000);
    h.dead.add("n3");
    h.run(20_000);
    for (const id of ["n0", "n1", "n2"]) expect(h.get(id).member("n3")?.state).toBe("left");
    expect(h.events.some((e) => e.ev.type === "dead" && e.ev.member.id === "n3")).toBe(false);
  });

  test("user payloads reach every node exactly once; oversized ones are refused", () => {
    // Dissemination is epidemic with a finite retransmit budget: with the default λ=4 an
    // 8-node cluster misses a node ~9% of the time (push-pull repairs that). λ=8 makes a miss
    // vanishingly rare, so this checks forwarding and deduplication, not luck.
    const h = new Harness({ retransmitMult: 8 });
    h.cluster(ids(8));
    expect(h.get("n0").broadcast(new Uint8Array([1, 2, 3])).ok).toBe(true);
    h.run(3000);
    const got = h.delivered.filter((d) => d.origin === "n0");
    expect(got.map((d) => d.at).sort()).toEqual(ids(8).slice(1).sort());
    const r = h.get("n0").broadcast(new Uint8Array(1400));
    expect(r.ok).toBe(false);
  });

  test("a restarted node's broadcasts are not dropped as repeats of its previous life's", () => {
    // Peers remember each (origin, seq) for userDedupMs (120 s); a new process for the same
    // node must not number its broadcasts as the old one did.
    const h = new Harness({ retransmitMult: 8 });
    h.cluster(ids(3));
    expect(h.get("n0").broadcast(new Uint8Array([1])).ok).toBe(true);
    h.run(3000);
    const restarted = createSwimNode(h.config, { id: "n0", addr: "n0", meta: emptyMeta }, createRng(4242), { incarnation: 5 });
    h.nodes.set("n0", restarted);
    restarted.join(["n1"], h.now);
    h.flush();
    h.run(3000);
    expect(restarted.broadcast(new Uint8Array([2])).ok).toBe(true);
    h.run(3000);
    const second = h.delivered.filter((d) => d.origin === "n0" && d.payload[0] === 2).map((d) => d.at);
    expect(second.sort()).toEqual(["n1", "n2"]);
  });

  test("gossipNow sends a fresh broadcast at once, on top of the rounds' transmissions", () => {
    const h = new Harness({ gossipIntervalMs: 10_000 });
    h.cluster(ids(3));
    expect(h.get("n0").broadcast(new Uint8Array([7])).ok).toBe(true);
    h.get("n0").gossipNow(h.now);
    h.flush(); // no time passes: the copies went now, not at the next round 10 s away
    expect(h.delivered.filter((d) => d.origin === "n0").map((d) => d.at).sort()).toEqual(["n1", "n2"]);
    // The early copies counted no transmission: the rounds still send it λ·ceil(log10(N+1)) times.
    const userParts = (m: Message) => (m.type === "compound" ? m.parts : [m]).filter((p) => p.type === "user" && p.origin === "n0").length;
    const before = h.packets.reduce((n, p) => n + (p.from === "n0" ? userParts(p.message) : 0), 0);
    h.run(60_000);
    const after = h.packets.reduce((n, p) => n + (p.from === "n0" ? userParts(p.message) : 0), 0);
    expect(before).toBe(2);
    expect(after - before).toBe(retransmitLimit(h.config, 3));
    // Nothing fresh: nothing sent.
    const n = h.packets.length;
    h.get("n0").gossipNow(h.now);
    h.flush();
    expect(h.packets.length).toBe(n);
  });

  test("packets never exceed the budget even with hundreds of queued updates", () => {
    const h = new Harness();
    h.cluster(ids(3));
    for (let i = 0; i < 300; i++) {
      h.get("n0").receive("n1", { type: "alive", node: `x${i}-${"p".repeat(30)}`, incarnation: 1, addr: `10.0.0.${i}:7946`, meta: { labels: { zone: "a" }, resources: { cpuMilli: 1, memoryMb: 1 }, ports: {} } }, h.now);
    }
    h.run(2000);
    expect(h.packets.length).toBeGreaterThan(0);
    for (const p of h.packets) expect(p.size).toBeLessThanOrEqual(1400);
    expect(Math.max(...h.packets.map((p) => p.size))).toBeGreaterThan(1000);
  });

  test("a falsely dead node is retried and rejoins (partition heal)", () => {
    const h = new Harness({ reconnectIntervalMs: 2000, gossipToTheDeadMs: 0 });
    h.cluster(ids(4));
    h.drop = (from, to) => (from === "n3") !== (to === "n3");
    h.run(40_000);
    expect(h.get("n0").member("n3")?.state).toBe("dead");
    expect(h.get("n3").member("n0")?.state).toBe("dead");
    h.drop = () => false;
    h.run(20_000);
    for (const a of ids(4)) for (const b of ids(4)) expect(h.get(a).member(b)?.state).toBe("alive");
  });

  test("push-pull carries user state through the digest/diff/apply hook", () => {
    const h = new Harness();
    const state = (items: string[]) => {
      const set = new Set(items);
      const enc = (xs: string[]) => new TextEncoder().encode(xs.join(","));
      const decode = (b: Uint8Array) => new TextDecoder().decode(b).split(",").filter((x) => x !== "");
      return {
        set,
        hook: {
          digest: () => enc([...set]),
          diff: (remote: Uint8Array) => {
            const r = new Set(decode(remote));
            return enc([...set].filter((x) => !r.has(x)));
          },
          apply: (d: Uint8Array) => {
            for (const x of decode(d)) set.add(x);
            return true;
          },
        },
      };
    };
    const a = state(["a1", "shared"]);
    const b = state(["b1", "shared"]);
    h.add("a", a.hook);
    h.add("b", b.hook);
    h.get("b").join(["a"], h.now);
    h.flush();
    expect([...a.set].sort()).toEqual(["a1", "b1", "shared"]);
    expect([...b.set].sort()).toEqual(["a1", "b1", "shared"]);
  });

  test("TCP fallback probe: UDP-only loss toward a node does not get it suspected", () => {
    for (const tcpFallbackProbe of [true, false]) {
      const h = new Harness({ tcpFallbackProbe });
      h.cluster(ids(4));
      // All UDP from n3 is lost; TCP (push-pull, tcp-ping) still works.
      h.drop = (from, _to, m) => from === "n3" && !/^(tcp|pp)-/.test(m.type);
      h.run(15_000);
      const suspected = h.events.some((e) => e.ev.type === "suspect" && e.ev.member.id === "n3");
      expect(suspected).toBe(!tcpFallbackProbe);
    }
  });

  test("metadata updates are gossiped with a new incarnation as 'update' events", () => {
    const h = new Harness();
    h.cluster(ids(4));
    const meta = { labels: { zone: "b" }, resources: { cpuMilli: 4000, memoryMb: 8192 }, ports: { http: 8080 } };
    h.get("n2").updateMeta(meta, h.now);
    h.run(2000);
    for (const id of ["n0", "n1", "n3"]) expect(h.get(id).member("n2")?.meta).toEqual(meta);
    expect(h.events.filter((e) => e.ev.type === "update" && e.ev.member.id === "n2").length).toBe(3);
  });

  test("push-pull sends digests first, then only the records that differ", () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ node: `m${i}`, addr: `m${i}`, incarnation: 3, state: "alive" as const, meta: emptyMeta }));
    const a = createSwimNode(swimConfig(), { id: "a", addr: "a", meta: emptyMeta }, createRng(1), { knownMembers: [...records, { node: "b", addr: "b", incarnation: 0, state: "alive", meta: emptyMeta }] });
    const bRecords = records.map((r) => (r.node === "m7" ? { ...r, incarnation: 5 } : r));
    const b = createSwimNode(swimConfig(), { id: "b", addr: "b", meta: emptyMeta }, createRng(2), { knownMembers: [...bRecords, { node: "a", addr: "a", incarnation: 0, state: "alive", meta: emptyMeta }] });
    a.join(["b"], 0);
    const req = a.drain().find((o) => o.kind === "stream");
    if (req?.kind !== "stream" || req.message.type !== "pp-request") throw new Error("expected a push-pull request");
    expect(req.message.members.length).toBe(52);
    expect("addr" in (req.message.members[0] as object)).toBe(false); // digest rows only
    const resp = b.receiveStream("a", req.message, 0);
    if (resp?.type !== "pp-response") throw new Error("expected a response");
    expect(resp.updates.map((u) => u.node)).toEqual(["m7"]);
    expect(resp.want).toEqual([]);
    const fin = a.receiveStream("b", resp, 0);
    if (fin?.type !== "pp-final") throw new Error("expected a final");
    expect(fin.updates.map((u) => u.node)).toEqual(["a"]);
    expect(a.member("m7")?.incarnation).toBe(5);
  });

  test("periodic push-pull opens with bucket hashes; only the members of differing buckets are compared", () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ node: `m${i}`, addr: `m${i}`, incarnation: 3, state: "alive" as const, meta: emptyMeta }));
    const self = (id: string) => ({ node: id, addr: id, incarnation: 0, state: "alive" as const, meta: emptyMeta });
    // No probes in this test (nobody would answer them, and a failed probe changes the table).
    const cfg = swimConfig({ pushPullBuckets: 64, probeIntervalMs: 1e12 });
    const a = createSwimNode(cfg, { id: "a", addr: "a", meta: emptyMeta }, createRng(1), { knownMembers: [...records, self("b")] });
    const bRecords = records.map((r) => (r.node === "m7" ? { ...r, incarnation: 5 } : r));
    const b = createSwimNode(cfg, { id: "b", addr: "b", meta: emptyMeta }, createRng(2), { knownMembers: [...bRecords, self("a")] });
    const syncOf = (t: number) => {
      a.tick(t);
      const o = a.drain().find((x) => x.kind === "stream" && x.message.type === "pp-sync");
      if (o?.kind !== "stream" || o.message.type !== "pp-sync") throw new Error("expected a pp-sync");
      return o.message;
    };
    a.tick(0);
    a.drain();
    const sync = syncOf(pushPullInterval(cfg, 302) + 1);
    expect(sync.buckets.length).toBe(64);
    expect(encodeStream(sync).length).toBeLessThan(300); // vs ~3 KB for a full digest of 302 members
    const req = b.receiveStream("a", sync, 0);
    if (req?.type !== "pp-request" || req.scope === undefined) throw new Error("expected a scoped pp-request");
    expect(req.scope.indices).toEqual([bucketOf("m7", 64)]);
    expect(req.members.length).toBeLessThan(30);
    expect(req.members.every((e) => bucketOf(e.node, 64) === bucketOf("m7", 64))).toBe(true);
    const resp = a.receiveStream("b", req, 0);
    if (resp?.type !== "pp-response") throw new Error("expected a response");
    expect(resp.updates).toEqual([]);
    expect(resp.want).toEqual(["m7"]);
    const fin = b.receiveStream("a", resp, 0);
    if (fin?.type !== "pp-final") throw new Error("expected a final");
    expect(fin.updates.map((u) => u.node)).toContain("m7");
    expect(a.receiveStream("b", fin, 0)).toBeUndefined();
    expect(a.member("m7")?.incarnation).toBe(5);
    // Now they agree: the next opener finds no differing bucket and nothing is listed.
    const again = b.receiveStream("a", syncOf(10 * pushPullInterval(cfg, 302)), 0);
    if (again?.type !== "pp-request") throw new Error("expected a pp-request");
    expect(again.scope?.indices).toEqual([]);
    expect(again.members).toEqual([]);
  });

  test("refuting any accusation (suspect, dead) raises the Lifeguard health score, as memberlist's refute does", () => {
    for (const lifeguard of [true, false]) {
      const a = createSwimNode(swimConfig({ lifeguard }), { id: "a", addr: "a", meta: emptyMeta }, createRng(1), { knownMembers: [{ node: "b", addr: "b", incarnation: 0, state: "alive", meta: emptyMeta }] });
      a.receive("b", { type: "dead", node: "a", incarnation: 0, from: "b" }, 0);
      expect(a.incarnation).toBe(1);
      a.receive("b", { type: "suspect", node: "a", incarnation: 1, from: "b" }, 0);
      expect(a.incarnation).toBe(2);
      expect(a.healthScore).toBe(lifeguard ? 2 : 0);
    }
  });

  test("pushPullBuckets 0 keeps memberlist's full-digest periodic push-pull", () => {
    const cfg = swimConfig({ pushPullBuckets: 0 });
    const a = createSwimNode(cfg, { id: "a", addr: "a", meta: emptyMeta }, createRng(1), { knownMembers: [{ node: "b", addr: "b", incarnation: 0, state: "alive", meta: emptyMeta }] });
    a.tick(0);
    a.drain();
    a.tick(pushPullInterval(cfg, 2) + 1);
    const o = a.drain().find((x) => x.kind === "stream");
    expect(o?.kind === "stream" && o.message.type).toBe("pp-request");
  });

  test("push-pull period grows with cluster size (memberlist's pushPullScale)", () => {
    const c = swimConfig({ pushPullIntervalMs: 30_000 });
    expect(pushPullInterval(c, 10)).toBe(30_000);
    expect(pushPullInterval(c, 64)).toBe(60_000);
    expect(pushPullInterval(c, 1000)).toBe(180_000);
  });
});
