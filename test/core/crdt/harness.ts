/**
 * Shared property-test harness for CRDTs: a CRDT is described by its empty
 * state, how a replica applies an operation (returning state + delta), merge,
 * and a canonical equality key. Runs random operations at several replicas and
 * a lossy, duplicating, reordering network whose every message is eventually
 * delivered; all replicas must end equal, and equal to the join of all deltas.
 */
import fc from "fast-check";

export interface CrdtSpec<S, Op> {
  readonly name: string;
  empty(): S;
  /** Apply `op` at replica `r` (0-based) at logical step `step`. */
  apply(s: S, op: Op, r: number, step: number): { state: S; delta: S };
  merge(a: S, b: S): S;
  /** Canonical key: equal keys ⇔ equal states (for laws) */
  key(s: S): string;
  /** Observable value key (what users see) */
  value(s: S): string;
  op: fc.Arbitrary<Op>;
}

export const REPLICAS = 3;

export type Step<Op> =
  | { kind: "op"; replica: number; op: Op }
  | { kind: "deliver"; pick: number; dup: boolean }
  | { kind: "drop"; pick: number };

export function steps<Op>(op: fc.Arbitrary<Op>, max = 40): fc.Arbitrary<Step<Op>[]> {
  return fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("op" as const), replica: fc.nat(REPLICAS - 1), op }),
      fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat(), dup: fc.boolean() }),
      fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }),
    ),
    { maxLength: max },
  );
}

interface Msg<S> {
  to: number;
  delta: S;
}

/** Run the steps; then redeliver everything lost, in an order given by `finalOrder`. */
export function simulate<S, Op>(spec: CrdtSpec<S, Op>, plan: Step<Op>[], finalOrder: number[]): { replicas: S[]; all: S } {
  const replicas: S[] = Array.from({ length: REPLICAS }, () => spec.empty());
  let queue: Msg<S>[] = [];
  const lost: Msg<S>[] = [];
  let all = spec.empty();
  plan.forEach((st, i) => {
    if (st.kind === "op") {
      const { state, delta } = spec.apply(replicas[st.replica]!, st.op, st.replica, i);
      replicas[st.replica] = state;
      all = spec.merge(all, delta);
      for (let r = 0; r < REPLICAS; r++) if (r !== st.replica) queue.push({ to: r, delta });
    } else if (queue.length > 0) {
      const k = st.pick % queue.length;
      const m = queue[k]!;
      if (st.kind === "deliver") {
        replicas[m.to] = spec.merge(replicas[m.to]!, m.delta);
        if (!st.dup) queue = queue.filter((_, j) => j !== k);
      } else {
        lost.push(m);
        queue = queue.filter((_, j) => j !== k);
      }
    }
  });
  // Eventually delivered: the retransmits/anti-entropy bring every lost or queued message.
  const rest = [...queue, ...lost];
  const order = rest.map((_, i) => i);
  for (let i = 0; i < order.length; i++) {
    const j = i + ((finalOrder[i % Math.max(1, finalOrder.length)] ?? 0) % (order.length - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const i of order) {
    const m = rest[i]!;
    replicas[m.to] = spec.merge(replicas[m.to]!, m.delta);
  }
  return { replicas, all };
}

/** Three states from one shared history, so they are mutually consistent (unique dots, HLCs). */
export function triple<S, Op>(spec: CrdtSpec<S, Op>): fc.Arbitrary<[S, S, S]> {
  return steps(spec.op, 30).map((plan) => {
    const replicas: S[] = Array.from({ length: REPLICAS }, () => spec.empty());
    plan.forEach((st, i) => {
      if (st.kind === "op") replicas[st.replica] = spec.apply(replicas[st.replica]!, st.op, st.replica, i).state;
      else if (st.kind === "deliver") {
        const from = st.pick % REPLICAS;
        const to = (from + 1 + (st.dup ? 1 : 0)) % REPLICAS;
        if (to !== from) replicas[to] = spec.merge(replicas[to]!, replicas[from]!);
      }
    });
    return [replicas[0]!, replicas[1]!, replicas[2]!];
  });
}

export const RUNS = { numRuns: 300 };
