import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { clusterPlacement, type PlacementNode, type ReplicaRecord } from "../../../core/placement/cluster-placement.ts";
import { decideRollout, DEFAULT_ROLLOUT, type RolloutReplica } from "../../../core/placement/rollout.ts";
import { rollbackService } from "../../../core/placement/rollback.ts";
import { rolloutConfigOf, schedServices } from "../../../core/placement/service-spec.ts";
import { desiredProject } from "../../../core/deploy/index.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import { container, EMPTY, project, svc } from "../reconcile/fixtures.ts";

function load(yaml: string, name = "shop"): Project {
  const r = loadProject({ cwd: `/p/${name}`, env: {}, reader: { read: (p) => (p === `/p/${name}/compose.yaml` ? yaml : undefined) } });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  return r.project!;
}

const GiB = 1024 ** 3;
function nodes(n: number, over: (i: number) => Partial<PlacementNode> = () => ({})): PlacementNode[] {
  return Array.from({ length: n }, (_, i) => ({ id: `n${i}`, name: `host${i}`, state: "alive", labels: {}, resources: { cpuMillis: 4000, memoryBytes: 8 * GiB }, ...over(i) }));
}

const WEB6 = `
services:
  web:
    image: fizz-test/busybox:1
    deploy:
      replicas: 6
      placement:
        constraints: ["node.labels.tier != db"]
      resources:
        reservations: {cpus: "0.5", memory: 64M}
      update_config: {parallelism: 2, delay: 1s, monitor: 3s, failure_action: pause}
    x-fizz:
      spread: zone
  db:
    image: fizz-test/busybox:1
    deploy:
      placement:
        constraints: ["node.labels.tier == db"]
`;

describe("compose service → scheduler input", () => {
  test("replicas, constraints, reservations, x-fizz spread and overrides", () => {
    const p = load(WEB6);
    const [db, web] = schedServices("shop", p, new Map([["db", 2]])).sort((a, b) => a.name.localeCompare(b.name));
    expect(web!.replicas).toBe(6);
    expect(web!.constraints).toEqual(["node.labels.tier != db"]);
    expect(web!.reservations).toEqual({ cpus: 0.5, memoryBytes: 64 * 1024 * 1024 });
    expect(web!.xfizz?.spread).toBe("zone");
    expect(db!.replicas).toBe(2);
    expect(web!.specHash).not.toBe(db!.specHash);
  });
  test("update_config maps onto the rollout; failure_action defaults to rollback", () => {
    const p = load(WEB6);
    expect(rolloutConfigOf(p, p.services.web!)).toEqual({ parallelism: 2, delayMs: 1000, monitorMs: 3000, failureAction: "pause", order: "stop-first" });
    expect(rolloutConfigOf(p, p.services.db!)).toEqual(DEFAULT_ROLLOUT);
  });
});

describe("cluster placement", () => {
  const p = load(WEB6);
  const cluster = nodes(4, (i): Partial<PlacementNode> => ({ labels: i === 3 ? { tier: "db", zone: "a" } : { zone: ["a", "b", "c"][i]! } }));
  test("constraints decide who gets what; the share is container numbers", () => {
    const cp = clusterPlacement(cluster, [{ id: "shop", project: p, replicas: new Map() }], []);
    expect(cp.share("shop", "n3")).toEqual({ db: [1], web: [] });
    const webNumbers = ["n0", "n1", "n2"].flatMap((n) => cp.share("shop", n).web!);
    expect(webNumbers.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const n of ["n0", "n1", "n2"]) expect(cp.share("shop", n).web!.length).toBe(2);
  });
  test("the same on every node whatever the order of its lists", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 0, maxLength: 8 }), (seed) => {
        const shuffled = [...cluster].sort((a, b) => (seed[Number(a.id.slice(1))] ?? 0) - (seed[Number(b.id.slice(1))] ?? 0));
        const a = clusterPlacement(cluster, [{ id: "shop", project: p, replicas: new Map() }], []);
        const b = clusterPlacement(shuffled, [{ id: "shop", project: p, replicas: new Map() }], []);
        expect(b.placement.assignments).toEqual(a.placement.assignments);
      }),
      { numRuns: 50 },
    );
  });
  test("a dead node's replicas move to the live ones; the others stay", () => {
    const first = clusterPlacement(cluster, [{ id: "shop", project: p, replicas: new Map() }], []);
    const records: ReplicaRecord[] = first.placement.assignments.map((a) => ({ deploymentId: a.deploymentId, service: a.service, index: a.index, nodeId: a.nodeId, status: "running" }));
    const dead = cluster.map((n) => (n.id === "n1" ? { ...n, state: "dead" as const } : n));
    const after = clusterPlacement(dead, [{ id: "shop", project: p, replicas: new Map() }], records);
    expect(after.share("shop", "n1").web).toEqual([]);
    const moved = after.placement.assignments.filter((a) => {
      const before = first.placement.assignments.find((b) => b.service === a.service && b.index === a.index);
      return before?.nodeId !== a.nodeId;
    });
    expect(moved.every((m) => first.placement.assignments.find((b) => b.service === m.service && b.index === m.index)!.nodeId === "n1")).toBe(true);
    expect(after.placement.assignments.filter((a) => a.service === "web")).toHaveLength(6);
  });
  test("after a partition heals, one copy per replica stays: the lowest node id within the load cap", () => {
    const three = nodes(3);
    const one = load(`services:\n  web:\n    image: x\n    deploy: {replicas: 6}\n`);
    // n2 ran all six alone; n0 and n1 ran three each.
    const recs: ReplicaRecord[] = [];
    for (let i = 0; i < 6; i++) recs.push({ deploymentId: "shop", service: "web", index: i, nodeId: "n2", status: "running" });
    for (let i = 0; i < 6; i++) recs.push({ deploymentId: "shop", service: "web", index: i, nodeId: i % 2 ? "n1" : "n0", status: "running" });
    const cp = clusterPlacement(three, [{ id: "shop", project: one, replicas: new Map() }], recs);
    const web = cp.placement.assignments.filter((a) => a.service === "web");
    expect(web).toHaveLength(6);
    expect(new Set(web.map((a) => a.index)).size).toBe(6);
    const total = ["n0", "n1", "n2"].reduce((n, id) => n + cp.share("shop", id).web!.length, 0);
    expect(total).toBe(6);
  });
  test("a failed replica is not held on to; an unhealthy one is (the health monitor owns it)", () => {
    const two = nodes(2);
    const one = load(`services:\n  web:\n    image: x\n`);
    const failed = clusterPlacement(two, [{ id: "shop", project: one, replicas: new Map() }], [{ deploymentId: "shop", service: "web", index: 0, nodeId: "n1", status: "failed" }]);
    expect(failed.placement.explanations[0]!.replicas[0]!.outcome.kind).toBe("placed");
    const sick = clusterPlacement(two, [{ id: "shop", project: one, replicas: new Map() }], [{ deploymentId: "shop", service: "web", index: 0, nodeId: "n1", status: "unhealthy" }]);
    expect(sick.placement.explanations[0]!.replicas[0]!.outcome).toEqual({ kind: "kept", nodeId: "n1" });
  });
  test("global services: number 1 on every eligible node", () => {
    const g = load(`services:\n  agent:\n    image: x\n    deploy: {mode: global, placement: {constraints: ["node.labels.tier != db"]}}\n`);
    const cp = clusterPlacement(cluster, [{ id: "g", project: g, replicas: new Map() }], []);
    expect(cluster.map((n) => cp.share("g", n.id).agent)).toEqual([[1], [1], [1], []]);
  });
  test("a replica that fits nowhere stays pending with its reason", () => {
    const big = load(`services:\n  big:\n    image: x\n    deploy: {resources: {reservations: {memory: 64G}}}\n`);
    const cp = clusterPlacement(nodes(2), [{ id: "b", project: big, replicas: new Map() }], []);
    expect(cp.placement.pending).toHaveLength(1);
    expect(cp.placement.pending[0]!.reasons.map((r) => r.reason.kind)).toEqual(["InsufficientMemory", "InsufficientMemory"]);
  });
});

describe("rolling update rule", () => {
  const cfg = { ...DEFAULT_ROLLOUT, parallelism: 2, monitorMs: 1000 };
  const old = (index: number, status: "running" | "healthy" | "failed" = "healthy"): RolloutReplica => ({ index, record: { status, specHash: "old", startedAt: 0 } });
  const neu = (index: number, status: "pending" | "healthy" | "unhealthy" | "failed", startedAt = 0): RolloutReplica => ({ index, record: { status, specHash: "new", startedAt } });

  test("the first batch is the lowest p indices; the rest hold", () => {
    const d = decideRollout({ target: "new", replicas: [0, 1, 2, 3, 4].map((i) => old(i)), config: cfg, now: 10_000 });
    expect(d.phase).toBe("updating");
    expect([...d.hold].sort()).toEqual([2, 3, 4]);
  });
  test("replicas in flight use up the batch; done ones free it after monitor", () => {
    const inflight = decideRollout({ target: "new", replicas: [neu(0, "pending"), neu(1, "healthy", 9_500), old(2), old(3)], config: cfg, now: 10_000 });
    expect([...inflight.hold].sort()).toEqual([2, 3]);
    const next = decideRollout({ target: "new", replicas: [neu(0, "healthy", 5_000), neu(1, "healthy", 5_000), old(2), old(3)], config: cfg, now: 10_000 });
    expect([...next.hold]).toEqual([]);
  });
  test("a failure stops the rollout: rollback by default, pause when asked, continue goes on", () => {
    const reps = [neu(0, "unhealthy"), old(1), old(2)];
    expect(decideRollout({ target: "new", replicas: reps, config: cfg, now: 1 }).phase).toBe("rollback");
    const paused = decideRollout({ target: "new", replicas: reps, config: { ...cfg, failureAction: "pause" }, now: 1 });
    expect(paused.phase).toBe("paused");
    expect([...paused.hold].sort()).toEqual([1, 2]);
    const cont = decideRollout({ target: "new", replicas: reps, config: { ...cfg, failureAction: "continue" }, now: 1 });
    expect(cont.phase).toBe("updating");
    expect(cont.hold.size).toBe(0);
  });
  test("the last batch failing fails the update while it is under way; on a settled spec a failure is the health monitor's", () => {
    // A one-replica service: its only batch is its last. It used to pause (with no reason), never roll back.
    const last = [neu(0, "unhealthy", 0)];
    const d = decideRollout({ target: "new", replicas: last, config: cfg, now: 10_000, underway: true });
    expect(d.phase).toBe("rollback");
    expect(d.reason).toBe("replica 1 failed on the new spec; rolling back");
    expect(decideRollout({ target: "new", replicas: last, config: { ...cfg, failureAction: "pause" }, now: 10_000, underway: true }).phase).toBe("paused");
    expect(decideRollout({ target: "new", replicas: last, config: { ...cfg, failureAction: "continue" }, now: 10_000, underway: true }).phase).toBe("settled");
    // No update under way: nothing to roll back or pause (it said "update paused" with no update).
    expect(decideRollout({ target: "new", replicas: last, config: cfg, now: 10_000 }).phase).toBe("settled");
  });
  test("replicas that serve nothing are replaced at once", () => {
    const d = decideRollout({ target: "new", replicas: [neu(0, "pending"), neu(1, "pending"), old(2, "failed"), old(3)], config: cfg, now: 1 });
    expect([...d.hold]).toEqual([3]);
  });
  test("delay holds the next batch", () => {
    const d = decideRollout({ target: "new", replicas: [neu(0, "healthy", 0), old(1)], config: { ...cfg, parallelism: 1, delayMs: 5000 }, now: 2000 });
    expect([...d.hold]).toEqual([1]);
    expect(d.reason).toContain("delay");
    expect(decideRollout({ target: "new", replicas: [neu(0, "healthy", 0), old(1)], config: { ...cfg, parallelism: 1, delayMs: 5000 }, now: 7000 }).hold.size).toBe(0);
  });
  test("property: never more than p healthy replicas are given up at once, whatever the mix", () => {
    const status = fc.constantFrom("pending", "running", "healthy", "unhealthy", "failed", "stopped") as fc.Arbitrary<"pending" | "running" | "healthy" | "unhealthy" | "failed" | "stopped">;
    fc.assert(
      fc.property(fc.array(fc.record({ status, onNew: fc.boolean(), missing: fc.boolean() }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 4 }), (reps, p) => {
        const replicas: RolloutReplica[] = reps.map((r, index) => (r.missing ? { index } : { index, record: { status: r.status, specHash: r.onNew ? "new" : "old", startedAt: 0 } }));
        const d = decideRollout({ target: "new", replicas, config: { ...cfg, parallelism: p, failureAction: "continue" }, now: 0 });
        const serving = (s: string) => s === "healthy" || s === "running";
        const released = replicas.filter((r) => r.record && r.record.specHash === "old" && serving(r.record.status) && !d.hold.has(r.index)).length;
        const inFlight = replicas.filter((r) => !r.record || (r.record.specHash === "new" && !["unhealthy", "failed"].includes(r.record.status) && !(serving(r.record.status)))).length;
        expect(released + inFlight).toBeLessThanOrEqual(Math.max(p, inFlight));
      }),
      { numRuns: 300 },
    );
  });
});

describe("rollback", () => {
  const before = load(`services:\n  web:\n    image: fizz-test/busybox:1\n  db:\n    image: x\n`);
  const after = load(`services:\n  web:\n    image: fizz-test/busybox:2\n  db:\n    image: y\n`);
  test("only the service goes back", () => {
    const r = rollbackService(after, before, "web");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.services.web!.image).toBe("fizz-test/busybox:1");
    expect(r.spec.services.db!.image).toBe("y");
  });
  test("nothing to return to is a reason, not a crash", () => {
    expect(rollbackService(after, undefined, "web")).toEqual({ ok: false, reason: "there is no previous spec of 'web' to roll back to" });
    expect(rollbackService(after, after, "web").ok).toBe(false);
    expect(rollbackService(after, before, "nope").ok).toBe(false);
  });
});

describe("planner with a cluster share", () => {
  test("exactly the placed numbers run here; others are removed as placed elsewhere", () => {
    const d = project("shop", [svc("web", { replicas: 6, numbers: [2, 5] })]);
    const actual = { ...EMPTY, containers: [container("shop", "web", 1), container("shop", "web", 2)] };
    const p = plan(d, actual);
    const creates = p.steps.filter((s) => s.kind === "createContainer").map((s) => (s as { number: number }).number);
    expect(creates).toEqual([5]);
    const removed = p.steps.filter((s) => s.kind === "removeContainer");
    expect(removed).toHaveLength(1);
    expect(removed[0]!.reason.code).toBe("placed-elsewhere");
  });
  test("holdConfig keeps an old container through a config change; the others are recreated", () => {
    const d = project("shop", [svc("web", { replicas: 2, numbers: [1, 2], holdConfig: [2], configHash: "h-new" })]);
    const actual = { ...EMPTY, containers: [container("shop", "web", 1), container("shop", "web", 2)] };
    const p = plan(d, actual);
    const creates = p.steps.filter((s) => s.kind === "createContainer").map((s) => (s as { number: number }).number);
    expect(creates).toEqual([1]);
  });
  test("desiredProject: services not in the share get no containers", () => {
    const pr = load(`services:\n  web:\n    image: x\n    deploy: {replicas: 3}\n  db:\n    image: y\n`);
    const { desired } = desiredProject(pr, { share: { web: { numbers: [3] } } });
    expect(desired.services.find((s) => s.name === "web")!.numbers).toEqual([3]);
    expect(desired.services.find((s) => s.name === "db")!.numbers).toEqual([]);
    expect(plan(desired, EMPTY).steps.filter((s) => s.kind === "createContainer")).toHaveLength(1);
  });
});

describe("update order", () => {
  test("start-first: the new container starts before the old one stops; stop-first the reverse", () => {
    const run = (order: "stop-first" | "start-first") => {
      const d = project("shop", [svc("web", { configHash: "h-new", updateOrder: order })]);
      const old = container("shop", "web", 1);
      const p = plan(d, { ...EMPTY, containers: [old] });
      const at = (id: string) => p.steps.findIndex((s) => s.id === id);
      const deps = (id: string) => p.steps.find((s) => s.id === id)!.after;
      return { start: `start:shop-web-1`, stop: `stop:${old.id}`, deps, at };
    };
    const sf = run("start-first");
    expect(sf.deps(sf.stop)).toContain(sf.start);
    const st = run("stop-first");
    expect(st.deps(st.start).length).toBeGreaterThan(0);
    expect(st.deps(st.stop)).not.toContain(st.start);
  });
  test("update_config.order reaches the planner from the compose file", () => {
    const pr = load(`services:\n  web:\n    image: x\n    deploy: {update_config: {order: start-first}}\n  db:\n    image: y\n`);
    const { desired } = desiredProject(pr);
    expect(desired.services.find((s) => s.name === "web")!.updateOrder).toBe("start-first");
    expect(desired.services.find((s) => s.name === "db")!.updateOrder).toBeUndefined();
  });
});

describe("fixed host ports", () => {
  test("a service publishing a fixed host port in mode: host runs at most one replica per node; the rest are pending with the reason", () => {
    const p = load(`services:\n  web:\n    image: x\n    ports: [{target: 80, published: "8080", mode: host}]\n    deploy: {replicas: 3}\n  api:\n    image: x\n    ports: ["80", "9000-9005:80"]\n    deploy: {replicas: 3}\n`);
    const cp = clusterPlacement(nodes(2), [{ id: "shop", project: p, replicas: new Map() }], []);
    expect(["n0", "n1"].map((n) => cp.share("shop", n).web!.length)).toEqual([1, 1]);
    expect(cp.placement.pending.map((x) => x.service)).toEqual(["web"]);
    expect(cp.placement.pending[0]!.reasons.map((r) => r.reason.kind)).toEqual(["MaxPerNode", "MaxPerNode"]);
    expect(["n0", "n1"].reduce((n, id) => n + cp.share("shop", id).api!.length, 0)).toBe(3);
  });
  test("an ingress-mode published port (the default) does not limit replicas per node: every node's ingress serves it", () => {
    const p = load(`services:\n  web:\n    image: x\n    ports: ["8080:80"]\n    deploy: {replicas: 4}\n`);
    const cp = clusterPlacement(nodes(2), [{ id: "shop", project: p, replicas: new Map() }], []);
    expect(cp.placement.pending).toEqual([]);
    expect(["n0", "n1"].map((n) => cp.share("shop", n).web!.length)).toEqual([2, 2]);
  });
});
