import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { matches, parseConstraints } from "../../../core/scheduler/constraints.ts";
import { DEFAULT_LOAD_FACTOR, schedule } from "../../../core/scheduler/schedule.ts";
import type { ExistingPlacement, Placement, SchedNode, SchedService } from "../../../core/scheduler/types.ts";
import { arbCluster, arbServices, asExisting, GiB, loadsOf, moved, node, nodes, service } from "./fixtures.ts";

function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Checks every safety property of a placement against its inputs. */
function checkSafety(ns: readonly SchedNode[], svcs: readonly SchedService[], existing: readonly ExistingPlacement[], p: Placement): void {
  const byId = new Map(ns.map((n) => [n.id, n]));
  const usedCpu = new Map<string, number>();
  const usedMem = new Map<string, number>();
  const keptable = new Set(existing.filter((e) => e.healthy).map((e) => `${e.service}/${e.index}/${e.nodeId}`));
  for (const svc of svcs) {
    const cs = parseConstraints(svc.constraints);
    const mine = p.assignments.filter((a) => a.service === svc.name);
    const expl = p.explanations.find((e) => e.service === svc.name)!;
    const perNode = new Map<string, number>();
    for (const a of mine) {
      const n = byId.get(a.nodeId)!;
      expect(n).toBeDefined();
      // New replicas only on alive nodes; a suspect node may keep what it already runs.
      if (n.state !== "alive") {
        expect(n.state).toBe("suspect");
        expect(keptable.has(`${a.service}/${a.index}/${a.nodeId}`)).toBe(true);
      }
      for (const c of cs) expect(matches(n, c)).toBe(true);
      perNode.set(a.nodeId, (perNode.get(a.nodeId) ?? 0) + 1);
      usedCpu.set(a.nodeId, (usedCpu.get(a.nodeId) ?? 0) + svc.reservations.cpus);
      usedMem.set(a.nodeId, (usedMem.get(a.nodeId) ?? 0) + svc.reservations.memoryBytes);
    }
    const slots = new Set(mine.map((a) => a.index));
    expect(slots.size).toBe(mine.length); // one node per replica
    const pend = p.pending.filter((x) => x.service === svc.name);
    for (const x of pend) expect(slots.has(x.index)).toBe(false);
    if (svc.mode === "global") {
      for (const c of perNode.values()) expect(c).toBe(1);
    } else {
      expect(mine.length + pend.length).toBe(svc.replicas);
      for (const a of mine) expect(a.index).toBeLessThan(svc.replicas);
      const feasible = expl.feasible;
      const cap = Math.ceil(((1 + DEFAULT_LOAD_FACTOR) * svc.replicas) / Math.max(1, feasible) - 1e-9);
      for (const c of perNode.values()) {
        expect(c).toBeLessThanOrEqual(Math.max(1, cap));
        expect(c).toBeLessThanOrEqual(Math.ceil(svc.replicas / Math.max(1, feasible) - 1e-9) + 1);
        if (svc.xfizz?.maxPerNode) expect(c).toBeLessThanOrEqual(svc.xfizz.maxPerNode);
      }
    }
    for (const x of pend) expect(x.reasons.length).toBeGreaterThan(0);
    if (svc.mode === "replicated") {
      // A pending replica says why about every node; a placed one names the nodes it passed over, once each.
      for (const x of pend) expect(new Set(x.reasons.map((r) => r.nodeId))).toEqual(new Set(ns.map((n) => n.id)));
      for (const r of expl.replicas) {
        if (r.outcome.kind !== "placed") continue;
        const ids = r.outcome.passedOver.map((po) => po.nodeId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).not.toContain(r.outcome.nodeId);
        expect(r.outcome.rank).toBe(ids.length);
      }
    }
  }
  for (const [id, cpu] of usedCpu) {
    const n = byId.get(id)!;
    expect(cpu).toBeLessThanOrEqual(n.resources.cpus - (n.allocated?.cpus ?? 0) + 1e-9);
    expect(usedMem.get(id)!).toBeLessThanOrEqual(n.resources.memoryBytes - (n.allocated?.memoryBytes ?? 0) + 1e-9);
  }
}

describe("schedule: unit", () => {
  test("places every replica on feasible nodes, honouring constraints", () => {
    const ns = nodes(6, (i) => ({ labels: { zone: i < 3 ? "a" : "b" } }));
    const svc = service("web", { replicas: 5, constraints: ["node.labels.zone == b"] });
    const p = schedule({ nodes: ns, existing: [] }, [svc]);
    expect(p.pending).toEqual([]);
    expect(p.assignments.map((a) => a.index)).toEqual([0, 1, 2, 3, 4]);
    for (const a of p.assignments) expect(["node-0003", "node-0004", "node-0005"]).toContain(a.nodeId);
    const excluded = p.explanations[0]!.excluded;
    expect(excluded.map((e) => e.nodeId)).toEqual(["node-0000", "node-0001", "node-0002"]);
    expect(excluded[0]!.reason).toEqual({ kind: "ConstraintMismatch", constraint: "node.labels.zone == b" });
  });

  test("a replica that fits nowhere stays pending with per-node reasons", () => {
    const ns = [node("a", { resources: { cpus: 2, memoryBytes: 4 * GiB } }), node("b", { state: "dead" })];
    const svc = service("db", { replicas: 2, reservations: { cpus: 1, memoryBytes: 3 * GiB } });
    const p = schedule({ nodes: ns, existing: [] }, [svc]);
    expect(p.assignments).toEqual([{ deploymentId: "stack", service: "db", index: 0, nodeId: "a" }]);
    expect(p.pending.length).toBe(1);
    const reasons = p.pending[0]!.reasons;
    expect(reasons.find((r) => r.nodeId === "b")!.reason).toEqual({ kind: "NodeDown", state: "dead" });
    const ra = reasons.find((r) => r.nodeId === "a")!.reason;
    // after one replica, node a has 1 cpu left (fits) but only 1 GiB of memory, and is at its load cap (⌈1.25·2/1⌉ = 3 is not hit)
    expect(ra).toEqual({ kind: "InsufficientMemory", need: 3 * GiB, free: 1 * GiB });
  });

  test("fractional CPU reservations add up exactly (0.3 CPU holds three 0.1 CPU replicas)", () => {
    const ns = [node("a", { resources: { cpus: 0.3, memoryBytes: GiB } })];
    const p = schedule({ nodes: ns, existing: [] }, [service("w", { replicas: 4, reservations: { cpus: 0.1, memoryBytes: 0 } })]);
    expect(p.assignments.length).toBe(3);
    expect(p.pending[0]!.reasons[0]!.reason).toEqual({ kind: "InsufficientCpu", need: 0.1, free: 0 });
  });

  test("empty cluster: everything pending, no crash", () => {
    const p = schedule({ nodes: [], existing: [] }, [service("web", { replicas: 2 }), service("g", { mode: "global" })]);
    expect(p.assignments).toEqual([]);
    expect(p.pending.map((x) => x.index)).toEqual([0, 1]);
  });

  test("an invalid constraint makes the service pending with the parse error, other services still place", () => {
    const p = schedule({ nodes: nodes(3), existing: [] }, [
      service("bad", { replicas: 1, constraints: ["node.lables.zone==a"] }),
      service("good", { replicas: 2 }),
    ]);
    expect(p.assignments.filter((a) => a.service === "good").length).toBe(2);
    const pend = p.pending.find((x) => x.service === "bad")!;
    const reason = pend.reasons[0]!.reason;
    expect(reason.kind).toBe("InvalidPlacement");
    if (reason.kind === "InvalidPlacement") expect(reason.message).toContain("node.lables.zone");
  });

  test("an unknown spread key makes the service pending with the reason", () => {
    const p = schedule({ nodes: nodes(2), existing: [] }, [service("web", { replicas: 1, preferences: [{ spread: "zone" }] })]);
    const r = p.pending[0]!.reasons[0]!.reason;
    expect(r.kind).toBe("InvalidPlacement");
    if (r.kind === "InvalidPlacement") expect(r.message).toContain('placement preference "spread: zone"');
  });

  test("bounded load caps every node at ⌈(1+ε)·avg⌉", () => {
    const ns = nodes(10);
    const p = schedule({ nodes: ns, existing: [] }, [service("web", { replicas: 100 })], { loadFactor: 0.1 });
    expect(p.pending).toEqual([]);
    for (const c of loadsOf(p).values()) expect(c).toBeLessThanOrEqual(11);
    expect(p.explanations[0]!.loadCap).toBe(11);
  });

  test("global mode: one replica per feasible node, pending where there is no room", () => {
    const ns = [
      node("a"),
      node("b", { resources: { cpus: 0.5, memoryBytes: GiB } }),
      node("c", { role: "manager" }),
      node("d", { state: "left" }),
    ];
    const svc = service("agent", { mode: "global", constraints: ["node.role==worker"], reservations: { cpus: 1, memoryBytes: 0 } });
    const p = schedule({ nodes: ns, existing: [] }, [svc]);
    expect(p.assignments.map((a) => a.nodeId)).toEqual(["a"]);
    expect(p.pending.length).toBe(1);
    expect(p.pending[0]!.reasons).toEqual([{ nodeId: "b", reason: { kind: "InsufficientCpu", need: 1, free: 0.5 } }]);
    expect(p.explanations[0]!.desired).toBe(2);
  });

  test("spread preference distributes replicas evenly across label values", () => {
    // zone a has 6 nodes, zone b 2, zone c 1: plain hashing would pile into a.
    const ns = nodes(9, (i) => ({ labels: { zone: i < 6 ? "a" : i < 8 ? "b" : "c" } }));
    const svc = service("web", { replicas: 9, preferences: [{ spread: "node.labels.zone" }] });
    const p = schedule({ nodes: ns, existing: [] }, [svc]);
    const perZone = new Map<string, number>();
    const zoneOf = new Map(ns.map((n) => [n.id, n.labels.zone!]));
    for (const a of p.assignments) perZone.set(zoneOf.get(a.nodeId)!, (perZone.get(zoneOf.get(a.nodeId)!) ?? 0) + 1);
    // zone c has one node and the load cap is ⌈1.25·9/9⌉ = 2, so c can hold at most 2; the rest stays within quota 3.
    expect(perZone.get("a")).toBeLessThanOrEqual(3 + 1);
    expect(perZone.get("b")).toBe(3);
    expect(perZone.get("c")).toBe(2);
    expect(p.pending).toEqual([]);
    const fallbacks = p.explanations[0]!.replicas.filter((r) => r.outcome.kind === "placed" && r.outcome.fallback === "spread");
    expect(fallbacks.length).toBe(1); // the replica zone c could not take went over quota in a
  });

  test("hard spread leaves a replica pending where soft spread falls back", () => {
    const ns = nodes(3, (i) => ({ labels: { zone: i < 2 ? "a" : "b" } }));
    const base = { replicas: 6, preferences: [{ spread: "node.labels.zone" }] };
    // quota 3 per zone; zone b is one node and the load bound lets it take only 2.
    const hard = schedule({ nodes: ns, existing: [] }, [service("web", { ...base, xfizz: { spreadMode: "hard" } })]);
    expect(hard.assignments.length).toBe(5);
    expect(hard.pending.length).toBe(1);
    const kinds = new Set(hard.pending[0]!.reasons.map((r) => r.reason.kind));
    expect(kinds).toEqual(new Set(["SpreadLimit", "LoadBound"]));
    const soft = schedule({ nodes: ns, existing: [] }, [service("web", base)]);
    expect(soft.pending).toEqual([]);
    const last = soft.explanations[0]!.replicas.find((r) => r.outcome.kind === "placed" && r.outcome.fallback === "spread");
    expect(last).toBeDefined();
  });

  test("x-fizz constraints use bare label keys; x-fizz spread takes a label name", () => {
    const ns = nodes(6, (i) => ({ labels: { zone: i % 2 ? "a" : "b", disk: i < 4 ? "ssd" : "hdd" } }));
    const svc = service("db", { replicas: 4, xfizz: { constraints: ["disk==ssd"], spread: "zone" } });
    const p = schedule({ nodes: ns, existing: [] }, [svc]);
    const byId = new Map(ns.map((n) => [n.id, n]));
    for (const a of p.assignments) expect(byId.get(a.nodeId)!.labels.disk).toBe("ssd");
    const zones = p.assignments.map((a) => byId.get(a.nodeId)!.labels.zone!).sort();
    expect(zones).toEqual(["a", "a", "b", "b"]);
    expect(p.explanations[0]!.excluded.map((e) => e.reason)).toEqual([
      { kind: "ConstraintMismatch", constraint: "disk==ssd" },
      { kind: "ConstraintMismatch", constraint: "disk==ssd" },
    ]);
  });

  test("x-fizz prefer fills preferred nodes first and overflows only when they are full", () => {
    const ns = nodes(8, (i) => ({ labels: { tier: i < 2 ? "fast" : "slow" } }));
    const few = schedule({ nodes: ns, existing: [] }, [service("web", { replicas: 2, xfizz: { prefer: ["tier==fast"] } })]);
    for (const a of few.assignments) expect(["node-0000", "node-0001"]).toContain(a.nodeId);
    // 8 replicas on 8 nodes: cap 2 per node, so the two fast nodes take 4 and the rest overflow.
    const many = schedule({ nodes: ns, existing: [] }, [service("web", { replicas: 8, xfizz: { prefer: ["tier==fast"] } })]);
    const fast = many.assignments.filter((a) => a.nodeId === "node-0000" || a.nodeId === "node-0001").length;
    expect(fast).toBe(4);
    const over = many.explanations[0]!.replicas.filter((r) => r.outcome.kind === "placed" && r.outcome.fallback === "prefer");
    expect(over.length).toBe(4);
    for (const r of over) {
      if (r.outcome.kind !== "placed") continue;
      // everything passed over before the chosen node is either a full fast node or a slow node (not preferred)
      for (const po of r.outcome.passedOver) expect(["LoadBound", "NotPreferred"]).toContain(po.reason.kind);
    }
    expect(many.pending).toEqual([]);
  });

  test("x-fizz spread: node spreads over nodes", () => {
    // With the load bound out of the way, plain hashing puts several replicas on one node…
    const loose = { loadFactor: 100, fairShareSlack: 100 };
    const plain = schedule({ nodes: nodes(4), existing: [] }, [service("web", { replicas: 8 })], loose);
    expect(Math.max(...loadsOf(plain).values())).toBeGreaterThan(2);
    // …spreading over nodes evens them out.
    const p = schedule({ nodes: nodes(4), existing: [] }, [service("web", { replicas: 8, xfizz: { spread: "node" } })], loose);
    expect([...loadsOf(p).values()]).toEqual([2, 2, 2, 2]);
  });

  test("maxPerNode is respected and named", () => {
    const p = schedule({ nodes: nodes(2), existing: [] }, [service("web", { replicas: 3, xfizz: { maxPerNode: 1 } })]);
    expect(p.assignments.length).toBe(2);
    expect(p.pending[0]!.reasons.map((r) => r.reason)).toEqual([
      { kind: "MaxPerNode", max: 1 },
      { kind: "MaxPerNode", max: 1 },
    ]);
  });

  test("existing healthy placements are kept even where the hash would not put them", () => {
    const ns = nodes(5);
    const svc = service("web", { replicas: 3 });
    const existing: ExistingPlacement[] = [0, 1, 2].map((index) => ({
      deploymentId: "stack", service: "web", index, nodeId: `node-000${index + 2}`, healthy: true, specHash: "old",
    }));
    const p = schedule({ nodes: ns, existing }, [svc]);
    expect(p.assignments.map((a) => a.nodeId)).toEqual(["node-0002", "node-0003", "node-0004"]);
    expect(p.explanations[0]!.replicas.every((r) => r.outcome.kind === "kept")).toBe(true);
  });

  test("unhealthy or dead-node placements are not kept; suspect nodes keep theirs but get nothing new", () => {
    const ns = [node("a"), node("b", { state: "suspect" }), node("c", { state: "dead" }), node("d")];
    const existing: ExistingPlacement[] = [
      { deploymentId: "stack", service: "web", index: 0, nodeId: "b", healthy: true, specHash: "s" },
      { deploymentId: "stack", service: "web", index: 1, nodeId: "c", healthy: true, specHash: "s" },
      { deploymentId: "stack", service: "web", index: 2, nodeId: "a", healthy: false, specHash: "s" },
    ];
    const p = schedule({ nodes: ns, existing }, [service("web", { replicas: 4 })]);
    const outcomes = p.explanations[0]!.replicas.map((r) => r.outcome.kind);
    expect(outcomes[0]).toBe("kept");
    expect(p.assignments[0]!.nodeId).toBe("b");
    expect(outcomes.slice(1)).toEqual(["placed", "placed", "placed"]);
    for (const a of p.assignments.slice(1)) expect(["a", "d"]).toContain(a.nodeId);
  });

  test("existing replicas reserve their room before new replicas of other services are placed", () => {
    const ns = [node("a", { resources: { cpus: 2, memoryBytes: 4 * GiB } })];
    // "zzz" sorts after "aaa": without the keep-first phase, aaa's new replica would take zzz's cpu.
    const existing: ExistingPlacement[] = [
      { deploymentId: "stack", service: "zzz", index: 0, nodeId: "a", healthy: true, specHash: "s" },
    ];
    const p = schedule({ nodes: ns, existing }, [
      service("aaa", { replicas: 1, reservations: { cpus: 2, memoryBytes: 0 } }),
      service("zzz", { replicas: 1, reservations: { cpus: 2, memoryBytes: 0 } }),
    ]);
    expect(p.assignments).toEqual([{ deploymentId: "stack", service: "zzz", index: 0, nodeId: "a" }]);
    expect(p.pending[0]!.service).toBe("aaa");
  });

  test("scaling down drops the highest indices; scaling up keeps the others", () => {
    const ns = nodes(8);
    const p5 = schedule({ nodes: ns, existing: [] }, [service("web", { replicas: 5 })]);
    const p3 = schedule({ nodes: ns, existing: asExisting(p5) }, [service("web", { replicas: 3 })]);
    expect(p3.assignments).toEqual(p5.assignments.slice(0, 3));
    const p7 = schedule({ nodes: ns, existing: asExisting(p5) }, [service("web", { replicas: 7 })]);
    expect(p7.assignments.slice(0, 5)).toEqual([...p5.assignments]);
  });
});

describe("schedule: partitions", () => {
  test("after a partition heals, every replica runs once and every node computes the same survivors", () => {
    const all = nodes(6);
    const svc = service("web", { replicas: 12 });
    const sideA = all.map((n, i) => (i < 3 ? n : { ...n, state: "dead" as const }));
    const sideB = all.map((n, i) => (i >= 3 ? n : { ...n, state: "dead" as const }));
    const before = schedule({ nodes: all, existing: [] }, [svc]);
    // Each side keeps what it still sees and replaces what ran on the other side.
    const pa = schedule({ nodes: sideA, existing: asExisting(before) }, [svc]);
    const pb = schedule({ nodes: sideB, existing: asExisting(before) }, [svc]);
    expect(pa.pending).toEqual([]);
    expect(pb.pending).toEqual([]);
    const merged = [...asExisting(pa), ...asExisting(pb)];
    const copies = new Map<number, number>();
    for (const e of merged) copies.set(e.index, (copies.get(e.index) ?? 0) + 1);
    expect([...copies.values()].every((c) => c === 2)).toBe(true); // every replica ran on both sides
    // Healed: every node schedules from the merged state, in whatever order it holds it.
    const healed = schedule({ nodes: all, existing: merged }, [svc]);
    const healed2 = schedule({ nodes: [...all].reverse(), existing: [...merged].reverse() }, [svc]);
    expect(healed2).toEqual(healed);
    expect(healed.assignments.length).toBe(12);
    expect(new Set(healed.assignments.map((a) => a.index)).size).toBe(12);
    // Nothing new starts: each replica keeps one of its copies, the lowest node id whose node has room.
    expect(healed.explanations[0]!.replicas.every((r) => r.outcome.kind === "kept")).toBe(true);
    for (const a of healed.assignments) {
      const lower = merged.filter((e) => e.index === a.index && e.nodeId < a.nodeId);
      for (const l of lower) {
        // a lower copy lost only because its node was full
        const load = healed.assignments.filter((x) => x.nodeId === l.nodeId).length;
        expect(load).toBe(healed.explanations[0]!.loadCap);
      }
    }
    // The removed copies are the other ones.
    const keep = new Set(healed.assignments.map((a) => `${a.index}@${a.nodeId}`));
    expect(merged.filter((e) => !keep.has(`${e.index}@${e.nodeId}`)).length).toBe(12);
  });
});

describe("schedule: properties", () => {
  test("same state gives the same placement whatever the order of nodes, services and existing placements", () => {
    fc.assert(
      fc.property(arbCluster, arbServices, fc.integer(), fc.integer(), (ns, svcs, s1, s2) => {
        const first = schedule({ nodes: ns, existing: [] }, svcs);
        const existing = asExisting(first).filter((_, i) => (i * 7 + s1) % 3 !== 0);
        const a = schedule({ nodes: ns, existing }, svcs);
        const b = schedule({ nodes: shuffle(ns, s1), existing: shuffle(existing, s2) }, shuffle(svcs, s2 ^ s1));
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
      { numRuns: 150 },
    );
  });

  test("constraints, resources, max-per-node and the load bound are never violated", () => {
    fc.assert(
      fc.property(arbCluster, arbServices, (ns, svcs) => {
        const p = schedule({ nodes: ns, existing: [] }, svcs);
        checkSafety(ns, svcs, [], p);
        // …including when the previous round's placements meet a changed cluster.
        const changed = ns.map((n, i) => (i % 4 === 1 ? { ...n, state: "dead" as const } : n));
        const existing = asExisting(p);
        checkSafety(changed, svcs, existing, schedule({ nodes: changed, existing }, svcs));
      }),
      { numRuns: 200 },
    );
  });

  test("rescheduling an unchanged cluster moves nothing", () => {
    fc.assert(
      fc.property(arbCluster, arbServices, (ns, svcs) => {
        const p = schedule({ nodes: ns, existing: [] }, svcs);
        const again = schedule({ nodes: ns, existing: asExisting(p) }, svcs);
        expect(again.assignments).toEqual(p.assignments);
      }),
      { numRuns: 150 },
    );
  });

  const arbFleet = fc.record({
    n: fc.integer({ min: 2, max: 40 }),
    perNode: fc.integer({ min: 0, max: 4 }),
    extra: fc.integer({ min: 0, max: 39 }),
    victim: fc.nat(),
    name: fc.string({ minLength: 1, maxLength: 6 }),
  });

  test("a node leaving moves only its own replicas: at most ⌈replicas/N⌉ + 1", () => {
    fc.assert(
      fc.property(arbFleet, ({ n, perNode, extra, victim, name }) => {
        const replicas = perNode * n + (extra % n);
        const ns = nodes(n);
        const svc = service(name, { replicas });
        const before = schedule({ nodes: ns, existing: [] }, [svc]);
        const gone = ns[victim % n]!.id;
        const after = schedule({ nodes: ns.filter((x) => x.id !== gone), existing: asExisting(before) }, [svc]);
        const m = moved(before, after);
        expect(m).toBe(loadsOf(before).get(gone) ?? 0);
        expect(m).toBeLessThanOrEqual(Math.ceil(replicas / n) + 1);
        expect(after.pending).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test("a node joining moves at most ⌈replicas/N⌉ + 1", () => {
    fc.assert(
      fc.property(arbFleet, ({ n, perNode, extra, name }) => {
        const replicas = perNode * n + (extra % n);
        const ns = nodes(n);
        const svc = service(name, { replicas });
        const before = schedule({ nodes: ns, existing: [] }, [svc]);
        const after = schedule({ nodes: [...ns, node("zz-new")], existing: asExisting(before) }, [svc]);
        const m = moved(before, after);
        expect(m).toBeLessThanOrEqual(Math.ceil(replicas / (n + 1)) + 1);
        expect(after.pending).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test("with larger per-node averages, a departure still moves only the departed node's replicas (≤ the load cap)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 1, max: 400 }), fc.nat(), (n, replicas, victim) => {
        const ns = nodes(n);
        const svc = service("web", { replicas });
        const before = schedule({ nodes: ns, existing: [] }, [svc]);
        const gone = ns[victim % n]!.id;
        const after = schedule({ nodes: ns.map((x) => (x.id === gone ? { ...x, state: "dead" as const } : x)), existing: asExisting(before) }, [svc]);
        expect(moved(before, after)).toBe(loadsOf(before).get(gone) ?? 0);
        expect(moved(before, after)).toBeLessThanOrEqual(before.explanations[0]!.loadCap);
      }),
      { numRuns: 200 },
    );
  });
});
