/**
 * One service's containers in the planner (core/reconcile/plan.ts): one
 * container per number (extra claimants go), surplus numbers go (in a
 * cluster: the numbers not placed here), each staying container is kept,
 * started or recreated (`recreateReason` says why), and the missing numbers
 * are created. A recreate is stop → rename old → create → start → remove old
 * (Compose removes the old before the start: here a replacement that fails
 * to start leaves the old one for a failed change's rollback to bring back);
 * start-first starts the new one before the old one stops, unless the two
 * would share the replica's cluster address (then stop-first).
 */
import { containerName, replacedContainerName } from "../labels.ts";
import { imageIdOf, pushTo, type PlanRun } from "./plan-run.ts";
import { byNumber, isActive, refOf } from "./services.ts";
import type { ActualContainer, ContainerRef, DesiredService, Reason } from "./types.ts";

/** Which fields differ between two per-field hash maps, for the recreate reason. */
export function changedFields(before: Readonly<Record<string, string>> | undefined, after: Readonly<Record<string, string>> | undefined): string[] {
  if (!before || !after || Object.keys(before).length === 0 || Object.keys(after).length === 0) return [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).sort();
}

/** Rank for keeping one of several containers that claim the same number. */
function keepRank(c: ActualContainer, hash: string): number {
  const stateRank: Record<ActualContainer["state"], number> = {
    running: 0,
    restarting: 1,
    paused: 2,
    created: 3,
    exited: 4,
    dead: 5,
    removing: 6,
  };
  return stateRank[c.state] * 2 + (c.configHash === hash ? 0 : 1);
}

/** Does the engine's `restart:` setting mean this stopped container should be running? */
function policyWantsRunning(svc: DesiredService<unknown>, c: ActualContainer): boolean {
  if (c.state === "created") return true;
  switch (svc.restart ?? "no") {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      // With a retry limit the engine retries and then gives up, as Compose's containers do; a
      // start from here would reset its count and restart the container forever.
      return (c.exitCode ?? 0) !== 0 && svc.restartRetries === undefined;
    case "no":
      return false;
  }
}

/** Why a staying container must be recreated (undefined: it may stay). */
export function recreateReason<C>(run: PlanRun<C>, svc: DesiredService<C>, c: ActualContainer, imageNow: string | undefined, held: ReadonlySet<number>): Reason | undefined {
  const o = run.options;
  if (run.forced(svc.name)) return { code: "force-recreate" };
  if (c.state === "dead") return { code: "exited", detail: "dead" };
  // Before the rolling update's hold and --no-recreate: an address this node may no longer use must go.
  const moved = addressChange(svc.addresses?.[c.number], c.addresses);
  if (moved) return { code: "address-changed", detail: moved };
  if (held.has(c.number)) return undefined; // a rolling update has not reached it yet
  if (o.noRecreate) return undefined;
  if (c.configHash !== svc.configHash) {
    const fields = changedFields(c.configFields, svc.configFields);
    return fields.length > 0 ? { code: "config-changed", detail: fields.join(", ") } : { code: "config-changed" };
  }
  if (imageNow !== undefined && c.imageId !== undefined && c.imageId !== imageNow) return { code: "image-changed" };
  if (svc.recreateWith?.some((s) => run.recreated.has(s))) {
    return { code: "dependency-recreated", detail: svc.recreateWith.filter((s) => run.recreated.has(s)).join(", ") };
  }
  return undefined;
}

/** "network: old → new" for each cluster network whose address differs from the assigned one; undefined when none does. */
export function addressChange(want: Readonly<Record<string, string>> | undefined, have: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!want) return undefined;
  const moved = Object.entries(want)
    .filter(([net, ip]) => have?.[net] !== ip)
    .map(([net, ip]) => `${net}: ${have?.[net] ?? "none"} → ${ip}`);
  return moved.length ? moved.join(", ") : undefined;
}

/** Does the replacement's assigned address equal one the old container holds now, on the same network? */
function sharesAddress(want: Readonly<Record<string, string>> | undefined, have: Readonly<Record<string, string>> | undefined): boolean {
  return !!want && !!have && Object.entries(want).some(([net, ip]) => have[net] === ip);
}

/** One container per number: the best claimant of each stays, the others go. */
function onePerNumber<C>(run: PlanRun<C>, svc: DesiredService<C>, containers: readonly ActualContainer[]): ActualContainer[] {
  const byNum = new Map<number, ActualContainer[]>();
  for (const c of containers) {
    const l = byNum.get(c.number) ?? [];
    l.push(c);
    byNum.set(c.number, l);
  }
  const kept: ActualContainer[] = [];
  for (const [, group] of [...byNum.entries()].sort((a, b) => a[0] - b[0])) {
    const sorted = [...group].sort((a, b) => keepRank(a, svc.configHash) - keepRank(b, svc.configHash) || (b.startedAt ?? "").localeCompare(a.startedAt ?? "") || a.id.localeCompare(b.id));
    kept.push(sorted[0]!);
    for (const extra of sorted.slice(1)) run.removeSteps(extra, { code: "duplicate" });
  }
  return kept;
}

/** Replaces container `c` with a new one of the current config. */
function replace<C>(run: PlanRun<C>, svc: DesiredService<C>, c: ActualContainer, why: Reason): void {
  const b = run.b;
  const name = containerName(run.desired.name, svc.name, c.number, svc.containerName);
  const old: ContainerRef = refOf(c);
  const sub: Reason = { code: "recreate", ...(why.detail ? { detail: why.detail } : {}) };
  const pre: string[] = [];
  // start-first keeps the old container serving until its replacement has started; but a replica's cluster
  // address belongs to the replica, not to one container, so while the old one holds it the new one cannot start
  // (the engine answers "Address already in use"): that replica is replaced stop-first.
  const startFirst = svc.updateOrder === "start-first" && isActive(c) && !sharesAddress(svc.addresses?.[c.number], c.addresses);
  if (isActive(c) && !startFirst) {
    const stop = b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: old, reason: sub });
    pushTo(run.stopsOfOld, svc.name, stop);
    pre.push(stop);
  }
  const rename = b.add({ kind: "renameContainer", id: `rename:${c.id}`, after: pre, container: old, to: replacedContainerName(c.id, c.name), reason: sub });
  const create = b.add({
    kind: "createContainer",
    id: `create:${name}`,
    after: [rename, ...run.createAfter(svc)],
    service: svc.name,
    number: c.number,
    name,
    configHash: svc.configHash,
    replaces: old,
    create: svc.create,
    ...(svc.addresses?.[c.number] ? { addresses: svc.addresses[c.number] } : {}),
    reason: why,
  });
  let start: string;
  if (startFirst) {
    start = b.add({ kind: "startContainer", id: `start:${name}`, after: [create, ...run.gatesFor(svc)], container: { name, service: svc.name, number: c.number }, reason: sub });
    const stop = b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [start], container: old, reason: sub });
    pushTo(run.stopsOfOld, svc.name, stop);
    b.add({ kind: "removeContainer", id: `remove:${c.id}`, after: [stop], container: old, volumes: false, reason: sub });
  } else {
    // The old container (stopped, renamed) goes only once its replacement has started: a replacement that does not
    // start leaves it there for the rollback of a failed change to rename back and start again, so the replica
    // keeps running where it ran (in a cluster it keeps its record, and with it its node).
    start = b.add({ kind: "startContainer", id: `start:${name}`, after: [create, ...run.gatesFor(svc)], container: { name, service: svc.name, number: c.number }, reason: sub });
    b.add({ kind: "removeContainer", id: `remove:${c.id}`, after: [start], container: old, volumes: false, reason: sub });
  }
  pushTo(run.creates, svc.name, create);
  run.started(svc, start);
  run.touched.add(name);
  run.recreated.add(svc.name);
}

/** A staying container that needs no recreate: kept when active, else started (unless a finished job or its policy says no). */
function keepOrStart<C>(run: PlanRun<C>, svc: DesiredService<C>, c: ActualContainer): void {
  if (isActive(c)) {
    const l = run.keptRunning.get(svc.name) ?? [];
    l.push(c);
    run.keptRunning.set(svc.name, l);
    return;
  }
  // created / exited
  if (c.state === "exited" && c.exitCode === 0 && run.jobs.has(svc.name)) return; // a finished job
  if (run.options.startExited === "policy" && !policyWantsRunning(svc, c)) return;
  const start = run.b.add({
    kind: "startContainer",
    id: `start:${c.name}`,
    after: run.gatesFor(svc),
    container: refOf(c),
    reason: c.state === "created" ? { code: "created" } : { code: "exited", ...(c.exitCode !== undefined ? { detail: `exit code ${c.exitCode}` } : {}) },
  });
  run.started(svc, start);
  run.touched.add(c.name);
}

/** Creates and starts container number `n` of `svc`. */
function add<C>(run: PlanRun<C>, svc: DesiredService<C>, n: number, reason: Reason): void {
  const name = containerName(run.desired.name, svc.name, n, svc.containerName);
  const create = run.b.add({ kind: "createContainer", id: `create:${name}`, after: run.createAfter(svc), service: svc.name, number: n, name, configHash: svc.configHash, create: svc.create, ...(svc.addresses?.[n] ? { addresses: svc.addresses[n] } : {}), reason });
  const start = run.b.add({ kind: "startContainer", id: `start:${name}`, after: [create, ...run.gatesFor(svc)], container: { name, service: svc.name, number: n }, reason });
  pushTo(run.creates, svc.name, create);
  run.started(svc, start);
  run.touched.add(name);
}

export function planService<C>(run: PlanRun<C>, svc: DesiredService<C>): void {
  const want = run.replicasOf(svc);
  const imageNow = imageIdOf(run.actual, svc.image);
  const all = run.mine.filter((c) => c.service === svc.name).sort(byNumber);
  // A container the engine is removing is as good as gone, but its name may still be taken.
  const containers = all.filter((c) => c.state !== "removing");
  const dying = all.filter((c) => c.state === "removing");
  const kept = onePerNumber(run, svc, containers);

  // Scale down: the highest numbers go (cluster placement: the numbers not placed here).
  const placed = svc.numbers ? new Set(svc.numbers) : undefined;
  const staying = placed ? kept.filter((c) => placed.has(c.number)) : kept.slice(0, want);
  for (const c of placed ? kept.filter((c) => !placed.has(c.number)) : kept.slice(want)) {
    run.removeSteps(c, { code: placed ? "placed-elsewhere" : "scale-down" });
  }

  const held = new Set(svc.holdConfig ?? []);
  for (const c of staying) {
    const why = recreateReason(run, svc, c, imageNow, held);
    if (why) replace(run, svc, c, why);
    else keepOrStart(run, svc, c);
  }

  // Scale up: fill the lowest free numbers (cluster placement: the placed numbers missing here).
  const used = new Set([...staying, ...dying].map((c) => c.number));
  const reason: Reason = containers.length === 0 ? { code: "missing" } : { code: "scale-up" };
  if (placed) {
    for (const n of [...placed].filter((n) => !used.has(n)).sort((a, b) => a - b)) add(run, svc, n, reason);
    return;
  }
  for (let n = 1, missing = want - staying.length; missing > 0; n++) {
    if (used.has(n)) continue;
    missing--;
    add(run, svc, n, reason);
  }
}
