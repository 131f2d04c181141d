/**
 * The placement function: (cluster state, services) → placement.
 *
 *   1. Filter: per service, each node is excluded with a named reason (down,
 *      constraint, not even room for one replica) or becomes feasible.
 *   2. Keep: existing healthy placements stay where they are when their node
 *      still qualifies (minimal movement). Done for all services before any
 *      new placement so a new replica never takes the room of a running one.
 *      Of two copies of one replica the newer is kept, then the lower node id.
 *   3. Place: every other replica walks the hash ring from hash(service, index)
 *      to the first node under the bounded-load cap ⌈(1+ε)·replicas/feasible⌉
 *      that also fits resources, max-per-node and spread limits.
 *
 * Nodes, services and existing placements are sorted first, so the result is
 * the same on every node whatever order its state lists them in.
 */
import { isFizzError } from "../errors.ts";
import { matches, parseConstraints, parseSpreadKey, spreadValue, type Constraint } from "./constraints.ts";
import { combine32, hash32 } from "./hash.ts";
import { buildRing, firstPoint, type Ring } from "./ring.ts";
import type {
  Assignment,
  SchedulerInput,
  ExistingPlacement,
  NodeRejection,
  PendingReplica,
  Placement,
  Rejection,
  ReplicaExplanation,
  SchedNode,
  SchedService,
  ScheduleOptions,
  ServiceExplanation,
} from "./types.ts";

/** ε: 0.25 keeps the worst node within 25% of the average while a dead node's replicas still find room nearby. */
export const DEFAULT_LOAD_FACTOR = 0.25;
/** Virtual nodes per node: enough for an even ring at 1,000 nodes, cheap to build. */
export const DEFAULT_VNODES = 64;
/**
 * Extra replicas a node may hold above ⌈avg⌉. 1 bounds what a departure moves to
 * ⌈replicas/N⌉ + 1; a larger value lets more replicas sit on their first-choice
 * node at the price of a less even spread.
 */
export const DEFAULT_FAIR_SHARE_SLACK = 1;

const STATE_RANK = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;

const NANO = 1e9;
function nanoCpus(cpus: number): number {
  return Math.round(cpus * NANO);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One entry per node id, sorted by id; on duplicate ids the most alive entry wins. */
export function normaliseNodes(nodes: readonly SchedNode[]): SchedNode[] {
  const sorted = [...nodes].sort(
    (a, b) => cmp(a.id, b.id) || STATE_RANK[a.state] - STATE_RANK[b.state] || cmp(a.hostname, b.hostname),
  );
  const out: SchedNode[] = [];
  for (const n of sorted) if (out.length === 0 || out[out.length - 1]!.id !== n.id) out.push(n);
  return out;
}

export function serviceKey(deploymentId: string, service: string): string {
  return `${deploymentId}\u0000${service}`;
}

interface Prepared {
  readonly svc: SchedService;
  readonly key: string;
  readonly invalid?: string;
  readonly constraints: readonly Constraint[];
  readonly spreadLabel?: string;
  /** Group value per node index (only when spreading). */
  readonly group?: readonly string[];
  readonly spreadHard: boolean;
  /** Per node: matches the x-fizz `prefer` rules (undefined: no preferences). */
  readonly preferred: readonly boolean[] | undefined;
  readonly maxPerNode: number;
  /** Per node: static rejection, or undefined when feasible. */
  readonly staticReject: (Rejection | undefined)[];
  /** Feasible nodes (alive or suspect) by index, ascending. */
  readonly feasible: number[];
  /** The alive ones among them: only these get new replicas. */
  readonly alive: number[];
  /** Keep bound: no node ends above this. */
  readonly cap: number;
  /** New replicas go only to nodes below this (≤ cap). */
  readonly placeCap: number;
  readonly groupQuota: number;
  /** CPU reservation in nano-CPUs (as docker counts them): integers, so sums never drift. */
  readonly needCpu: number;
}

/**
 * The bounded-load cap: ⌈(1+ε)·avg⌉ (Mirrokni et al.), and never more than
 * ⌈avg⌉ + slack, so that the replicas a departing node takes with it (all that
 * ever moves when a node leaves) stay within its fair share.
 */
export function loadCap(replicas: number, feasible: number, eps: number, slack: number): number {
  if (feasible <= 0 || replicas <= 0) return 0;
  const avg = replicas / feasible;
  return Math.max(1, Math.min(Math.ceil((1 + eps) * avg - 1e-9), Math.ceil(avg - 1e-9) + slack));
}

/**
 * Constraint results per node, shared by all services of one computation:
 * services tend to repeat the same few constraints, and matching is the only
 * per-(service × node) work that is not a plain array read.
 */
class MatchCache {
  private readonly memo = new Map<string, Uint8Array>();
  constructor(private readonly nodes: readonly SchedNode[]) {}
  vector(c: Constraint): Uint8Array {
    const k = `${c.op}\u0000${c.key.kind}\u0000${"name" in c.key ? c.key.name.toLowerCase() : ""}\u0000${c.value.toLowerCase()}`;
    let v = this.memo.get(k);
    if (!v) {
      v = new Uint8Array(this.nodes.length);
      for (let i = 0; i < this.nodes.length; i++) v[i] = matches(this.nodes[i]!, c) ? 1 : 0;
      this.memo.set(k, v);
    }
    return v;
  }
}

function prepare(
  svc: SchedService,
  cache: MatchCache,
  nodes: readonly SchedNode[],
  free: Float64Array,
  freeMem: Float64Array,
  eps: number,
  options: ScheduleOptions,
): Prepared {
  const key = serviceKey(svc.deploymentId, svc.name);
  const staticReject: (Rejection | undefined)[] = new Array(nodes.length);
  let constraints: Constraint[] = [];
  let spreadKeys: ReturnType<typeof parseSpreadKey>[] = [];
  let prefer: Constraint[] = [];
  let invalid: string | undefined;
  try {
    const bare = { bareLabels: true };
    constraints = [...parseConstraints(svc.constraints), ...parseConstraints(svc.xfizz?.constraints ?? [], undefined, bare)];
    prefer = parseConstraints(svc.xfizz?.prefer ?? [], undefined, bare);
    spreadKeys = svc.preferences.map((p) => parseSpreadKey(p.spread));
    if (svc.xfizz?.spread !== undefined) spreadKeys.push(parseSpreadKey(svc.xfizz.spread, undefined, bare));
  } catch (e) {
    // Never crash the placement of everything else: this service stays pending with the reason.
    if (!isFizzError(e)) throw e;
    invalid = e.hint ? `${e.message} (${e.hint})` : e.message;
  }
  const maxPerNode = svc.xfizz?.maxPerNode !== undefined && svc.xfizz.maxPerNode > 0 ? Math.floor(svc.xfizz.maxPerNode) : Infinity;
  const feasible: number[] = [];
  const alive: number[] = [];
  const need = svc.reservations;
  const needCpu = nanoCpus(need.cpus);
  const vectors = constraints.map((c) => cache.vector(c));
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    let r: Rejection | undefined;
    if (invalid !== undefined) r = { kind: "InvalidPlacement", message: invalid };
    else if (n.state === "dead" || n.state === "left") r = { kind: "NodeDown", state: n.state };
    else {
      let c: Constraint | undefined;
      for (let k = 0; k < constraints.length; k++) {
        if (vectors[k]![i] === 0) {
          c = constraints[k];
          break;
        }
      }
      if (c) r = { kind: "ConstraintMismatch", constraint: c.source };
      else if (free[i]! < needCpu) r = { kind: "InsufficientCpu", need: need.cpus, free: free[i]! / NANO };
      else if (freeMem[i]! < need.memoryBytes) r = { kind: "InsufficientMemory", need: need.memoryBytes, free: freeMem[i]! };
    }
    staticReject[i] = r;
    if (!r) {
      feasible.push(i);
      if (n.state === "alive") alive.push(i);
    }
  }
  const loadFactor = svc.xfizz?.loadFactor ?? eps;
  const replicas = svc.mode === "global" ? feasible.length : Math.max(0, Math.floor(svc.replicas));
  const slack = options.fairShareSlack ?? DEFAULT_FAIR_SHARE_SLACK;
  const cap = loadCap(replicas, feasible.length, loadFactor, slack);
  // Place against the cap the cluster would have with one more node, so that a
  // node joining never forces running replicas off their nodes; never below
  // ⌈avg⌉, so everything still fits.
  const placeCap = feasible.length === 0 ? 0 : Math.max(Math.ceil(replicas / feasible.length - 1e-9), loadCap(replicas, feasible.length + 1, loadFactor, slack));
  let group: string[] | undefined;
  let groupQuota = Infinity;
  let spreadLabel: string | undefined;
  if (spreadKeys.length > 0 && svc.mode === "replicated") {
    // Several preferences combine into one key (the tuple of values): even across combinations.
    spreadLabel = [...svc.preferences.map((p) => p.spread), ...(svc.xfizz?.spread !== undefined ? [svc.xfizz.spread] : [])].join("+");
    group = nodes.map((n) => spreadKeys.map((k) => spreadValue(n, k)).join("\u0000"));
    const values = new Set<string>();
    for (const i of feasible) values.add(group[i]!);
    groupQuota = values.size === 0 ? 0 : Math.ceil(replicas / values.size);
  }
  return {
    svc,
    key,
    ...(invalid !== undefined ? { invalid } : {}),
    constraints,
    ...(spreadLabel !== undefined ? { spreadLabel } : {}),
    ...(group ? { group } : {}),
    spreadHard: svc.xfizz?.spreadMode === "hard",
    preferred: prefer.length === 0 ? undefined : preferredVector(prefer.map((c) => cache.vector(c)), nodes.length),
    maxPerNode,
    staticReject,
    feasible,
    alive,
    cap,
    placeCap,
    groupQuota,
    needCpu,
  };
}

/** Mutable per-service tallies during one computation. */
interface Tally {
  /** Offset of this service's per-node loads in the shared buffer. */
  readonly base: number;
  readonly groups: Map<string, number>;
  /** index → outcome, filled by the keep and place phases. */
  readonly outcomes: Map<number, ReplicaExplanation["outcome"]>;
}

export function schedule(state: SchedulerInput, services: readonly SchedService[], options: ScheduleOptions = {}): Placement {
  const eps = options.loadFactor ?? DEFAULT_LOAD_FACTOR;
  const vnodes = options.vnodes ?? DEFAULT_VNODES;
  const nodes = normaliseNodes(state.nodes);
  const nodeIds = nodes.map((n) => n.id);
  const nodeIndex = new Map<string, number>();
  nodeIds.forEach((id, i) => nodeIndex.set(id, i));
  const freeCpu = new Float64Array(nodes.length);
  const freeMem = new Float64Array(nodes.length);
  nodes.forEach((n, i) => {
    freeCpu[i] = nanoCpus(n.resources.cpus) - nanoCpus(n.allocated?.cpus ?? 0);
    freeMem[i] = n.resources.memoryBytes - (n.allocated?.memoryBytes ?? 0);
  });

  // One entry per (deployment, service); should the state hold two specs, the same one wins everywhere.
  const svcs = [...services]
    .sort((a, b) => cmp(a.deploymentId, b.deploymentId) || cmp(a.name, b.name) || cmp(a.specHash, b.specHash))
    .filter((s, i, all) => i === 0 || all[i - 1]!.deploymentId !== s.deploymentId || all[i - 1]!.name !== s.name);
  const existingBy = new Map<string, ExistingPlacement[]>();
  for (const e of state.existing) {
    if (!e.healthy) continue;
    const k = serviceKey(e.deploymentId, e.service);
    let list = existingBy.get(k);
    if (!list) existingBy.set(k, (list = []));
    list.push(e);
  }
  // Of two copies of one replica the newer goes first (its node took over while the other's was away), then the lower node id.
  for (const list of existingBy.values()) list.sort((a, b) => a.index - b.index || (b.createdAt ?? 0) - (a.createdAt ?? 0) || cmp(a.nodeId, b.nodeId));

  const cache = new MatchCache(nodes);
  const prepared = svcs.map((s) => prepare(s, cache, nodes, freeCpu, freeMem, eps, options));
  // One buffer for every service's per-node load: thousands of small typed arrays cost more than the placement.
  const loads = new Int32Array(Math.max(1, prepared.length * nodes.length));
  const tallies: Tally[] = prepared.map((_, si) => ({
    base: si * nodes.length,
    groups: new Map(),
    outcomes: new Map(),
  }));

  const fits = (i: number, p: Prepared): boolean =>
    freeCpu[i]! >= p.needCpu && freeMem[i]! >= p.svc.reservations.memoryBytes;
  const take = (i: number, p: Prepared, t: Tally): void => {
    freeCpu[i] = freeCpu[i]! - p.needCpu;
    freeMem[i] = freeMem[i]! - p.svc.reservations.memoryBytes;
    loads[t.base + i] = loads[t.base + i]! + 1;
    if (p.group) t.groups.set(p.group[i]!, (t.groups.get(p.group[i]!) ?? 0) + 1);
  };

  // Phase 2: keep existing healthy placements, all services first.
  prepared.forEach((p, si) => {
    const t = tallies[si]!;
    const list = existingBy.get(p.key);
    if (!list || p.invalid !== undefined) return;
    const global = p.svc.mode === "global";
    const replicas = global ? Infinity : Math.floor(p.svc.replicas);
    const keptNodes = new Set<number>();
    for (const e of list) {
      const i = nodeIndex.get(e.nodeId);
      if (i === undefined || p.staticReject[i] !== undefined) continue;
      if (global) {
        if (keptNodes.has(i) || !fits(i, p)) continue;
        keptNodes.add(i);
        take(i, p, t);
        t.outcomes.set(i, { kind: "kept", nodeId: e.nodeId }); // keyed by node in global mode
        continue;
      }
      if (e.index < 0 || e.index >= replicas || t.outcomes.has(e.index)) continue;
      if (loads[t.base + i]! >= p.cap || loads[t.base + i]! >= p.maxPerNode || !fits(i, p)) continue;
      if (p.group && p.spreadHard && (t.groups.get(p.group[i]!) ?? 0) >= p.groupQuota) continue;
      take(i, p, t);
      t.outcomes.set(e.index, { kind: "kept", nodeId: e.nodeId });
    }
  });

  // Phase 3: place the rest.
  const ringCache = new Map<string, Ring>();
  const stamp = new Int32Array(nodes.length);
  let epoch = 0;
  const assignments: Assignment[] = [];
  const pending: PendingReplica[] = [];
  const explanations: ServiceExplanation[] = [];

  prepared.forEach((p, si) => {
    const t = tallies[si]!;
    const svc = p.svc;
    const excluded: NodeRejection[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const r = p.staticReject[i];
      if (r) excluded.push({ nodeId: nodeIds[i]!, reason: r });
    }
    const replicasOut: ReplicaExplanation[] = [];
    const assign = (index: number, nodeId: string): void => {
      assignments.push({ deploymentId: svc.deploymentId, service: svc.name, index, nodeId });
    };
    const addPending = (index: number, reasons: readonly NodeRejection[]): void => {
      pending.push({ deploymentId: svc.deploymentId, service: svc.name, index, reasons });
    };

    if (svc.mode === "global") {
      // One replica per node that passes the filter; a node without room keeps a pending replica.
      const targets: number[] = [];
      for (let i = 0; i < nodes.length; i++) {
        const r = p.staticReject[i];
        if (!r || r.kind === "InsufficientCpu" || r.kind === "InsufficientMemory") targets.push(i);
      }
      targets.forEach((i, ordinal) => {
        const id = nodeIds[i]!;
        let outcome = t.outcomes.get(i);
        if (!outcome) {
          const r = p.staticReject[i] ?? dynamicResourceReject(i, p, freeCpu, freeMem);
          if (!r && nodes[i]!.state === "alive") {
            take(i, p, t);
            outcome = { kind: "placed", nodeId: id, rank: 0, passedOver: [] };
          } else {
            outcome = { kind: "pending", reasons: [{ nodeId: id, reason: r ?? { kind: "NodeDown", state: nodes[i]!.state } }] };
          }
        }
        if (outcome.kind === "pending") addPending(ordinal, outcome.reasons);
        else assign(ordinal, outcome.nodeId);
        replicasOut.push({ index: ordinal, outcome });
      });
      explanations.push({
        deploymentId: svc.deploymentId, service: svc.name, mode: "global", desired: targets.length,
        feasible: p.feasible.length, loadCap: 1, placeCap: 1, excluded, replicas: replicasOut,
      });
      return;
    }

    const replicas = Math.max(0, Math.floor(svc.replicas));
    // New replicas go to alive nodes only: a suspect node keeps what it runs but gets nothing new.
    const members = p.alive;
    let ring: Ring | undefined;
    if (members.length > 0) {
      const sig = members.join(",");
      ring = ringCache.get(sig);
      if (!ring) ringCache.set(sig, (ring = buildRing(nodeIds, members, vnodes)));
    }
    const loadBound: Rejection = { kind: "LoadBound", cap: p.placeCap };
    const maxReject: Rejection = { kind: "MaxPerNode", max: p.maxPerNode };
    const notPreferred: Rejection = { kind: "NotPreferred", prefer: svc.xfizz?.prefer ?? [] };
    const suspectReasons: NodeRejection[] =
      p.alive.length === p.feasible.length
        ? []
        : p.feasible
            .filter((i) => nodes[i]!.state !== "alive")
            .map((i) => ({ nodeId: nodeIds[i]!, reason: { kind: "NodeDown", state: nodes[i]!.state } }));
    const h0 = hash32(p.key);
    // Within one service the free room only shrinks, so once a replica fits nowhere none of the later ones will.
    let exhausted: readonly NodeRejection[] | undefined;

    for (let index = 0; index < replicas; index++) {
      const kept = t.outcomes.get(index);
      if (kept) {
        assign(index, kept.kind === "kept" ? kept.nodeId : "");
        replicasOut.push({ index, outcome: kept });
        continue;
      }
      if (exhausted || !ring) {
        const reasons = exhausted ?? [...excluded, ...suspectReasons];
        addPending(index, reasons);
        replicasOut.push({ index, outcome: { kind: "pending", reasons } });
        continue;
      }
      epoch++;
      // Walk the ring from the replica's hash. The first node passing every check
      // wins; nodes that only miss a soft rule (spread quota, x-fizz prefer) are
      // remembered by tier and used only if the walk finds no better one.
      const visited: NodeRejection[] = [];
      const best = [-1, -1, -1]; // position in `visited` of the first node per tier: 1 = not preferred, 2 = over spread quota
      let chosenAt = -1;
      let seen = 0;
      const n = ring.positions.length;
      let pt = firstPoint(ring, combine32(h0, index));
      for (let step = 0; step < n && seen < ring.size; step++, pt = pt + 1 === n ? 0 : pt + 1) {
        const i = ring.owners[pt]!;
        if (stamp[i] === epoch) continue;
        stamp[i] = epoch;
        seen++;
        let r: Rejection | undefined;
        if (loads[t.base + i]! >= p.placeCap) r = loadBound;
        else if (loads[t.base + i]! >= p.maxPerNode) r = maxReject;
        else r = dynamicResourceReject(i, p, freeCpu, freeMem);
        if (r) {
          visited.push({ nodeId: nodeIds[i]!, reason: r });
          continue;
        }
        let tier = 0;
        if (p.group && (t.groups.get(p.group[i]!) ?? 0) >= p.groupQuota) {
          const g = p.group[i]!;
          r = { kind: "SpreadLimit", label: p.spreadLabel ?? "", value: g.replaceAll("\u0000", "/"), limit: p.groupQuota };
          tier = p.spreadHard ? -1 : 2;
        }
        if (p.preferred && !p.preferred[i]) {
          r ??= notPreferred;
          if (tier >= 0) tier += 1;
        }
        if (tier === 0) {
          chosenAt = visited.length;
          visited.push({ nodeId: nodeIds[i]!, reason: loadBound }); // placeholder, sliced off below
          break;
        }
        if (tier > 0 && best[tier - 1]! < 0) best[tier - 1] = visited.length;
        visited.push({ nodeId: nodeIds[i]!, reason: r! });
      }
      let fallback: "spread" | "prefer" | "spread+prefer" | undefined;
      if (chosenAt < 0) {
        for (let k = 0; k < 3; k++) {
          if (best[k]! >= 0) {
            chosenAt = best[k]!;
            fallback = k === 0 ? "prefer" : k === 1 ? "spread" : "spread+prefer";
            break;
          }
        }
      }
      if (chosenAt < 0) {
        const reasons = [...excluded, ...suspectReasons, ...visited].sort((a, b) => cmp(a.nodeId, b.nodeId));
        exhausted = reasons;
        addPending(index, reasons);
        replicasOut.push({ index, outcome: { kind: "pending", reasons } });
        continue;
      }
      const nodeId = visited[chosenAt]!.nodeId;
      take(nodeIndex.get(nodeId)!, p, t);
      assign(index, nodeId);
      const passedOver = visited.slice(0, chosenAt);
      replicasOut.push({
        index,
        outcome: { kind: "placed", nodeId, rank: chosenAt, passedOver, ...(fallback ? { fallback } : {}) },
      });
    }
    explanations.push({
      deploymentId: svc.deploymentId, service: svc.name, mode: "replicated", desired: replicas,
      feasible: p.feasible.length, loadCap: p.cap, placeCap: p.placeCap, excluded, replicas: replicasOut,
    });
  });

  return { assignments, pending, explanations };
}

function preferredVector(vectors: readonly Uint8Array[], n: number): boolean[] {
  const out = new Array<boolean>(n);
  for (let i = 0; i < n; i++) out[i] = vectors.every((v) => v[i] === 1);
  return out;
}

function dynamicResourceReject(i: number, p: Prepared, freeCpu: Float64Array, freeMem: Float64Array): Rejection | undefined {
  const need = p.svc.reservations;
  if (freeCpu[i]! < p.needCpu) return { kind: "InsufficientCpu", need: need.cpus, free: freeCpu[i]! / NANO };
  if (freeMem[i]! < need.memoryBytes) return { kind: "InsufficientMemory", need: need.memoryBytes, free: freeMem[i]! };
  return undefined;
}
