import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ClusterReplica, admitDelta, deltaMaxTs, applyDelta, deltaIsEmpty, emptyState, encodeState, putDeployment, type ClusterState } from "../../../core/state/index.ts";
import { steps, triple, RUNS, REPLICAS } from "../crdt/harness.ts";
import { clusterSpec, ok } from "./spec.ts";
import { HlcClock, compareHlc } from "../../../core/crdt/index.ts";

const key = (s: ClusterState) => new TextDecoder().decode(encodeState(s));

describe("ClusterReplica (in-place join)", () => {
  test("applying deltas in place gives the same state as the value merge, and never touches its input", () => {
    fc.assert(
      fc.property(triple(clusterSpec), ([a, b, c]) => {
        const before = key(a);
        const rep = new ClusterReplica(a);
        rep.apply(b);
        rep.apply(c);
        expect(key(rep.view)).toBe(key(applyDelta(applyDelta(a, b), c)));
        expect(key(a)).toBe(before);
      }),
      RUNS,
    );
  });

  test("the effective delta is exactly what was new: applying it alone gives the same result; re-applying gives nothing", () => {
    fc.assert(
      fc.property(triple(clusterSpec), ([a, b]) => {
        const rep = new ClusterReplica(a);
        const eff = rep.apply(b);
        expect(key(applyDelta(a, eff))).toBe(key(rep.view));
        expect(deltaIsEmpty(rep.apply(b))).toBe(true);
        expect(deltaIsEmpty(rep.apply(eff))).toBe(true);
      }),
      RUNS,
    );
  });

  test("replicas fed the mutation deltas of a random run converge like value states", () => {
    fc.assert(
      fc.property(steps(clusterSpec.op, 40), (plan) => {
        const reps = Array.from({ length: REPLICAS }, () => new ClusterReplica());
        const sent: ClusterState[] = [];
        plan.forEach((st, i) => {
          if (st.kind !== "op") return;
          const r = reps[st.replica]!;
          const { delta } = clusterSpec.apply(r.view, st.op, st.replica, i);
          r.apply(delta);
          sent.push(delta);
        });
        for (const r of reps) for (const d of [...sent].reverse()) r.apply(d);
        const want = key(reps[0]!.view);
        for (const r of reps) expect(key(r.view)).toBe(want);
      }),
      RUNS,
    );
  });

  test("mutate applies the mutator's delta in place and returns it", () => {
    const rep = new ClusterReplica();
    const r = rep.mutate((s) => putDeployment(s, { wall: 1, logical: 0, node: "n" }, "app", "app", { x: 1 }));
    expect(r.ok).toBe(true);
    expect(rep.view.deployments["app"]?.value?.project).toBe("app");
    const bad = rep.mutate((s) => putDeployment(s, { wall: 2, logical: 0, node: "n" }, "bad id", "p", {}));
    expect(bad.ok).toBe(false);
    const snap = rep.snapshot();
    rep.mutate((s) => putDeployment(s, { wall: 3, logical: 0, node: "n" }, "other", "other", {}));
    expect(Object.keys(snap.deployments)).toEqual(["app"]);
    expect(key(emptyState())).not.toBe(key(snap));
  });
});

describe("admitDelta", () => {
  test("advances the clock past the delta, refuses deltas from the far future", () => {
    const remote = ok(putDeployment(emptyState(), { wall: 5_000, logical: 3, node: "r" }, "a", "a", {})).delta;
    const clock = new HlcClock("me", 60_000);
    expect(deltaMaxTs(remote)).toBe("000000001388-0003-r");
    expect(admitDelta(clock, remote, 1_000).ok).toBe(true);
    expect(compareHlc(clock.now(1_000), { wall: 5_000, logical: 3, node: "r" })).toBe(1);
    const future = ok(putDeployment(emptyState(), { wall: 10_000_000, logical: 0, node: "r" }, "a", "a", {})).delta;
    const r = admitDelta(clock, future, 1_000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("hlc.drift");
    expect(admitDelta(clock, {}, 1_000).ok).toBe(true);
  });
});

describe("purgeTombstones", () => {
  test("drops only old tombstones and keeps live entries and IP claims", async () => {
    const { deleteDeployment, purgeTombstones, allocateIp, releaseIp } = await import("../../../core/state/index.ts");
    let s = ok(putDeployment(emptyState(), { wall: 1, logical: 0, node: "n" }, "old", "old", {})).state;
    s = ok(putDeployment(s, { wall: 2, logical: 0, node: "n" }, "keep", "keep", {})).state;
    s = deleteDeployment(s, { wall: 3, logical: 0, node: "n" }, "old").state;
    s = ok(allocateIp(s, { wall: 4, logical: 0, node: "n" }, "10.0.0.9", "n")).state;
    s = ok(releaseIp(s, "10.0.0.9", "n")).state;
    const p = purgeTombstones(s, "000000000005-0000-");
    expect(Object.keys(p.deployments)).toEqual(["keep"]);
    expect(Object.keys(p.ips)).toEqual(["10.0.0.9"]);
    expect(Object.keys(purgeTombstones(s, "000000000002-0000-").deployments).sort()).toEqual(["keep", "old"]);
  });
});
