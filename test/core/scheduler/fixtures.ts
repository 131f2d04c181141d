import fc from "fast-check";
import type { ExistingPlacement, Placement, SchedNode, SchedService } from "../../../core/scheduler/types.ts";

export const GiB = 1024 ** 3;

export function node(id: string, extra: Partial<SchedNode> = {}): SchedNode {
  return {
    id,
    hostname: `host-${id}`,
    role: "worker",
    labels: {},
    engineLabels: {},
    state: "alive",
    resources: { cpus: 8, memoryBytes: 16 * GiB },
    ...extra,
  };
}

export function nodes(n: number, extra: (i: number) => Partial<SchedNode> = () => ({})): SchedNode[] {
  return Array.from({ length: n }, (_, i) => node(`node-${String(i).padStart(4, "0")}`, extra(i)));
}

export function service(name: string, extra: Partial<SchedService> = {}): SchedService {
  return {
    deploymentId: "stack",
    name,
    mode: "replicated",
    replicas: 3,
    constraints: [],
    preferences: [],
    reservations: { cpus: 0, memoryBytes: 0 },
    specHash: "spec-1",
    ...extra,
  };
}

/** Turns a placement into the existing placements the next round would observe (all healthy). */
export function asExisting(p: Placement, specHash = "spec-1"): ExistingPlacement[] {
  return p.assignments.map((a) => ({ ...a, healthy: true, specHash }));
}

export function loadsOf(p: Placement, svc?: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of p.assignments) if (!svc || a.service === svc) m.set(a.nodeId, (m.get(a.nodeId) ?? 0) + 1);
  return m;
}

export function slotMap(p: Placement): Map<string, string> {
  return new Map(p.assignments.map((a) => [`${a.deploymentId}/${a.service}/${a.index}`, a.nodeId]));
}

/** Replicas whose node changed between two placements (slots absent in `after` count as moved). */
export function moved(before: Placement, after: Placement): number {
  const b = slotMap(before);
  const a = slotMap(after);
  let n = 0;
  for (const [k, v] of b) if (a.get(k) !== v) n++;
  return n;
}

const zones = ["a", "b", "c"];

/** A random cluster: heterogeneous sizes, some labels, some down nodes. */
export const arbCluster = fc
  .record({
    count: fc.integer({ min: 1, max: 24 }),
    seed: fc.array(
      fc.record({
        zone: fc.integer({ min: 0, max: 3 }),
        cpus: fc.integer({ min: 1, max: 8 }),
        mem: fc.integer({ min: 1, max: 16 }),
        state: fc.constantFrom("alive", "alive", "alive", "alive", "suspect", "dead", "left") as fc.Arbitrary<SchedNode["state"]>,
        role: fc.constantFrom("worker", "manager"),
        usedCpu: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: 24, maxLength: 24 },
    ),
  })
  .map(({ count, seed }) =>
    seed.slice(0, count).map((s, i) =>
      node(`n${String(i).padStart(2, "0")}`, {
        labels: s.zone < 3 ? { zone: zones[s.zone]! } : {},
        state: s.state,
        role: s.role,
        resources: { cpus: s.cpus, memoryBytes: s.mem * GiB },
        allocated: { cpus: Math.min(s.usedCpu, s.cpus), memoryBytes: 0 },
      }),
    ),
  );

export const arbServices = fc
  .array(
    fc.record({
      replicas: fc.integer({ min: 0, max: 30 }),
      cpu: fc.constantFrom(0, 0.25, 0.5, 1, 2),
      memGiB: fc.constantFrom(0, 0.5, 1, 4),
      constraint: fc.constantFrom([], ["node.labels.zone==a"], ["node.labels.zone != b"], ["node.role==worker"]),
      spread: fc.boolean(),
      maxPerNode: fc.constantFrom(undefined, 1, 2),
      global: fc.integer({ min: 0, max: 5 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((list) =>
    list.map((s, i) =>
      service(`svc${i}`, {
        mode: s.global === 0 ? "global" : "replicated",
        replicas: s.replicas,
        reservations: { cpus: s.cpu, memoryBytes: s.memGiB * GiB },
        constraints: s.constraint,
        preferences: s.spread ? [{ spread: "node.labels.zone" }] : [],
        ...(s.maxPerNode !== undefined ? { xfizz: { maxPerNode: s.maxPerNode } } : {}),
      }),
    ),
  );
