/**
 * The text `fizz why <service>` prints: one line per replica (where it runs,
 * whether it was kept or hashed, which nodes it passed over and why), then the
 * nodes excluded before hashing and, for pending replicas, why nothing fits.
 * Reasons are grouped so a 1,000-node cluster still gives a short answer.
 */
import { FizzError } from "../errors.ts";
import { suggest } from "../text/suggest.ts";
import type { NodeRejection, Placement, Rejection, ReplicaExplanation, ServiceExplanation } from "./types.ts";

export interface ExplainOptions {
  /** Restrict to one deployment when several define a service of that name. */
  readonly deploymentId?: string;
  /** Node id → hostname, shown beside ids when known. */
  readonly hostnames?: ReadonlyMap<string, string>;
  /** Node ids listed per grouped reason before "+N more" (default 5). */
  readonly maxNodesPerReason?: number;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

function cpus(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** One human sentence per named reason; the reason's kind is kept in front so it can be grepped. */
export function describeReason(r: Rejection): string {
  switch (r.kind) {
    case "NodeDown":
      return `NodeDown: node is ${r.state}`;
    case "ConstraintMismatch":
      return `ConstraintMismatch: "${r.constraint}" is not met`;
    case "InsufficientCpu":
      return `InsufficientCpu: needs ${cpus(r.need)} CPU, ${cpus(Math.max(0, r.free))} free`;
    case "InsufficientMemory":
      return `InsufficientMemory: needs ${formatBytes(r.need)}, ${formatBytes(Math.max(0, r.free))} free`;
    case "LoadBound":
      return `LoadBound: already holds ${r.cap} replicas of this service (bounded-load cap)`;
    case "SpreadLimit":
      return `SpreadLimit: ${r.label}=${r.value === "" ? "(unset)" : r.value} already has its share (${r.limit})`;
    case "MaxPerNode":
      return `MaxPerNode: max ${r.max} per node reached (max_replicas_per_node, x-fizz max_per_node, or 1 for a fixed host port)`;
    case "InvalidPlacement":
      return `InvalidPlacement: ${r.message}`;
    case "NotPreferred":
      return `NotPreferred: does not match x-fizz prefer (${r.prefer.join(", ")})`;
  }
}

function nodeName(id: string, o: ExplainOptions): string {
  const h = o.hostnames?.get(id);
  return h && h !== id ? `${id} (${h})` : id;
}

/** Groups node rejections by reason text: "reason: n nodes (a, b, c, +k more)". */
function groupReasons(rs: readonly NodeRejection[], o: ExplainOptions, indent: string): string[] {
  const max = o.maxNodesPerReason ?? 5;
  const groups = new Map<string, string[]>();
  for (const r of rs) {
    const k = describeReason(r.reason);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r.nodeId);
  }
  const out: string[] = [];
  for (const [reason, ids] of [...groups].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))) {
    const shown = ids.slice(0, max).map((id) => nodeName(id, o));
    const more = ids.length > max ? `, +${ids.length - max} more` : "";
    out.push(`${indent}${reason}: ${ids.length} node${ids.length === 1 ? "" : "s"} (${shown.join(", ")}${more})`);
  }
  return out;
}

function short(r: Rejection): string {
  switch (r.kind) {
    case "LoadBound": return `LoadBound ${r.cap}`;
    case "MaxPerNode": return `MaxPerNode ${r.max}`;
    case "SpreadLimit": return `SpreadLimit ${r.value || "(unset)"}`;
    case "InsufficientCpu": return "InsufficientCpu";
    case "InsufficientMemory": return "InsufficientMemory";
    default: return r.kind;
  }
}

function replicaRow(svc: ServiceExplanation, r: ReplicaExplanation, o: ExplainOptions): [string, string, string, string] {
  const name = `${svc.service}.${r.index + 1}`;
  const out = r.outcome;
  switch (out.kind) {
    case "kept":
      return [name, nodeName(out.nodeId, o), "kept", "already running and healthy there; kept to avoid a move"];
    case "pending":
      return [name, "-", "pending", "fits on no node (reasons below)"];
    case "placed": {
      const how = svc.mode === "global" ? "global" : `hashed, rank ${out.rank}`;
      let detail: string;
      if (svc.mode === "global") detail = "one per eligible node";
      else if (out.passedOver.length === 0) detail = "first choice on the hash ring";
      else {
        const first = out.passedOver.slice(0, 3).map((p) => `${p.nodeId} ${short(p.reason)}`);
        const more = out.passedOver.length > 3 ? `, +${out.passedOver.length - 3} more` : "";
        detail = `passed over ${first.join(", ")}${more}`;
      }
      if (out.fallback === "spread" || out.fallback === "spread+prefer") detail += "; every spread group with room was full, so placed over its share";
      if (out.fallback === "prefer" || out.fallback === "spread+prefer") detail += "; no preferred node had room";
      return [name, nodeName(out.nodeId, o), how, detail];
    }
  }
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

export function explainServiceExplanation(svc: ServiceExplanation, o: ExplainOptions = {}): string {
  const placed = svc.replicas.filter((r) => r.outcome.kind !== "pending").length;
  const pendingRs = svc.replicas.filter((r) => r.outcome.kind === "pending");
  const lines: string[] = [];
  const head = `${svc.service} (deployment ${svc.deploymentId}, ${svc.mode}): ${svc.desired} replica${svc.desired === 1 ? "" : "s"}, ${placed} placed, ${pendingRs.length} pending`;
  lines.push(head);
  const nodesSeen = svc.feasible + svc.excluded.length;
  let sub = `  ${svc.feasible} of ${nodesSeen} node${nodesSeen === 1 ? "" : "s"} eligible`;
  if (svc.mode === "replicated" && svc.feasible > 0) {
    sub += `; at most ${svc.loadCap} per node`;
    if (svc.placeCap < svc.loadCap) sub += ` (new replicas only where fewer than ${svc.placeCap} run)`;
  }
  lines.push(sub);
  if (svc.replicas.length > 0) {
    lines.push("");
    lines.push(...table([["REPLICA", "NODE", "HOW", "WHY"], ...svc.replicas.map((r) => replicaRow(svc, r, o))]).map((l) => `  ${l}`));
  }
  if (svc.excluded.length > 0) {
    lines.push("");
    lines.push("  Excluded before hashing:");
    lines.push(...groupReasons(svc.excluded, o, "    "));
  }
  if (pendingRs.length > 0) {
    lines.push("");
    const names = pendingRs.map((r) => `${svc.service}.${r.index + 1}`);
    const shown = names.length > 6 ? `${names.slice(0, 6).join(", ")}, +${names.length - 6} more` : names.join(", ");
    lines.push(`  Pending (${shown}):`);
    const first = pendingRs[0]!.outcome;
    const reasons = first.kind === "pending" ? first.reasons : [];
    if (reasons.length === 0) lines.push("    no nodes in the cluster");
    else {
      // Static exclusions were listed above; show what stopped the rest.
      const excludedIds = new Set(svc.excluded.map((e) => e.nodeId));
      const dynamic = reasons.filter((r) => !excludedIds.has(r.nodeId));
      if (dynamic.length === 0) lines.push("    every node is excluded (see above)");
      else lines.push(...groupReasons(dynamic, o, "    "));
    }
  }
  return lines.join("\n");
}

/** What `fizz why <service>` prints. Throws a FizzError naming close matches when the service is unknown. */
export function explain(placement: Placement, service: string, o: ExplainOptions = {}): string {
  const matches = placement.explanations.filter(
    (e) => e.service === service && (o.deploymentId === undefined || e.deploymentId === o.deploymentId),
  );
  if (matches.length === 0) {
    const names = [...new Set(placement.explanations.map((e) => e.service))];
    const guess = suggest(service, names);
    throw new FizzError({
      code: "scheduler.unknown_service",
      message: `no service "${service}"${o.deploymentId ? ` in deployment ${o.deploymentId}` : ""} is scheduled`,
      hint: guess ? `did you mean "${guess}"?` : names.length > 0 ? `scheduled services: ${names.sort().join(", ")}` : "nothing is deployed yet",
      exitCode: 1,
    });
  }
  return matches.map((m) => explainServiceExplanation(m, o)).join("\n\n");
}
