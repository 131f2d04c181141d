import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HlcClock } from "../../../core/crdt/index.ts";
import { ClusterReplica, encodeState, putDeployment, setReplicas, type ClusterDelta } from "../../../core/state/index.ts";
import { replicaHook } from "../../../platform/cluster/user-state.ts";

function side(id: string) {
  const replica = new ClusterReplica();
  const clock = new HlcClock(id);
  const applied: ClusterDelta[] = [];
  const bad: string[] = [];
  const hook = replicaHook({
    replica,
    applyRemote: (d) => {
      applied.push(replica.apply(d));
      return true;
    },
    onBadInput: (w) => bad.push(w),
  });
  let wall = 1_700_000_000_000;
  const put = (dep: string, n: number) => {
    replica.mutate((s) => putDeployment(s, clock.now(wall++), dep, dep, { n }));
    replica.mutate((s) => setReplicas(s, clock.now(wall++), dep, "svc", n));
  };
  return { replica, hook, applied, bad, put };
}

/** The order in which SwimNode calls the hook during one push-pull (initiator a, responder b). */
function exchange(a: ReturnType<typeof side>, b: ReturnType<typeof side>): void {
  const openA = a.hook.digest();
  const answerB = b.hook.diff(openA);
  const digestB = b.hook.digest();
  expect(a.hook.apply(answerB)).toBe(true);
  const backA = a.hook.diff(digestB);
  expect(b.hook.apply(backA)).toBe(true);
}

describe("replicaHook: push-pull of the cluster state through SWIM's user-state hook", () => {
  test("one exchange makes two different replicas equal, both ways", () => {
    const a = side("a");
    const b = side("b");
    a.put("web", 1);
    a.put("db", 2);
    b.put("cache", 3);
    b.put("web", 4); // later stamp than a's "web": b's wins on both sides
    exchange(a, b);
    expect(encodeState(a.replica.view)).toEqual(encodeState(b.replica.view));
    expect(Object.keys(a.replica.view.deployments).sort()).toEqual(["cache", "db", "web"]);
    expect(a.bad).toEqual([]);
    expect(b.bad).toEqual([]);
  });

  test("replicas in sync exchange nothing and apply nothing new", () => {
    const a = side("a");
    const b = side("b");
    a.put("web", 1);
    exchange(a, b);
    a.applied.length = 0;
    b.applied.length = 0;
    exchange(a, b);
    const nonEmpty = (ds: ClusterDelta[]) => ds.filter((d) => Object.values(d).some((c) => c && Object.keys(c).length > 0));
    expect(nonEmpty(a.applied)).toEqual([]);
    expect(nonEmpty(b.applied)).toEqual([]);
  });

  test("random disjoint and overlapping writes converge after one exchange", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.constantFrom("a1", "b2", "c3", "d4"), fc.nat(9)), { maxLength: 20 }), (ops) => {
        const a = side("a");
        const b = side("b");
        for (const [onA, dep, n] of ops) (onA ? a : b).put(dep, n);
        exchange(a, b);
        expect(encodeState(a.replica.view)).toEqual(encodeState(b.replica.view));
      }),
      { numRuns: 50 },
    );
  });

  test("garbage from the network is refused without throwing", () => {
    const a = side("a");
    a.put("web", 1);
    const before = encodeState(a.replica.view);
    for (const junk of [new Uint8Array([2]), new Uint8Array([2, 0, 0, 0, 9, 1]), new Uint8Array([3, 123, 34]), new Uint8Array([9, 1, 2]), new Uint8Array([1, 5, 5])]) {
      expect(() => a.hook.apply(junk)).not.toThrow();
      expect(a.hook.apply(junk)).toBe(false);
      expect(a.hook.diff(junk)).toBeInstanceOf(Uint8Array);
    }
    expect(a.hook.diff(new Uint8Array(0)).length).toBe(0);
    expect(a.hook.apply(new Uint8Array(0))).toBe(true);
    expect(encodeState(a.replica.view)).toEqual(before);
    expect(a.bad.length).toBeGreaterThan(0);
  });
});
