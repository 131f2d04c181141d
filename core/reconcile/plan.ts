/**
 * `plan(desired, actual, options)`: the `up` planner. Diffs the desired
 * project against the labelled resources the engine reports and returns a DAG
 * of steps that converges them, Compose-style:
 *
 * - networks/volumes used by the services in scope are created when missing
 *   (external ones never: a missing external one is a warning);
 * - images are pulled/built per pull policy, once per reference;
 * - each service gets exactly `replicas` containers numbered from 1: surplus
 *   highest numbers are stopped and removed, gaps are filled from 1 (in a
 *   cluster, `numbers` names exactly the ones placed on this node);
 * - a container is recreated only when its config hash (or image id) moved,
 *   or on `forceRecreate`; recreate = stop → rename old → create → remove old
 *   → start, like Compose;
 * - a container's create comes after its networks, volumes, image and the
 *   creates of its dependencies; its start comes after the starts
 *   (`service_started`) or a `waitFor` gate (`service_healthy`,
 *   `service_completed_successfully`) of each dependency;
 * - dependents with `depends_on.restart: true` of a recreated service are
 *   stopped before it and started after it is ready again.
 *
 * Level-triggered: applying the plan and planning again yields an empty plan
 * (for pull policies other than `always`/`build`).
 */

import { FizzError } from "../errors.ts";
import { containerName, replacedContainerName } from "../labels.ts";
import { PlanBuilder } from "./dag.ts";
import {
  byNumber,
  dependencyOrder,
  depsInScope,
  isActive,
  projectContainers,
  refOf,
  serviceMap,
  upScope,
} from "./services.ts";
import type {
  ActualContainer,
  ActualState,
  ContainerRef,
  DesiredProject,
  DesiredService,
  Plan,
  PlanOptions,
  Reason,
} from "./types.ts";

/** `nginx` and `nginx:latest` name the same image; digests and explicit tags are kept. */
export function normalizeImageRef(ref: string): string {
  if (ref.includes("@")) return ref;
  const slash = ref.lastIndexOf("/");
  return ref.slice(slash + 1).includes(":") ? ref : `${ref}:latest`;
}

function imageIdOf(actual: ActualState, ref: string): string | undefined {
  const want = normalizeImageRef(ref);
  return actual.images.find((i) => normalizeImageRef(i.ref) === want)?.id;
}

/** Which fields differ between two per-field hash maps, for the recreate reason. */
export function changedFields(
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>> | undefined,
): string[] {
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
      return (c.exitCode ?? 0) !== 0;
    case "no":
      return false;
  }
}

export function plan<C>(desired: DesiredProject<C>, actual: ActualState, options: PlanOptions = {}): Plan<C> {
  const b = new PlanBuilder<C>();
  const byName = serviceMap(desired);
  const scope = upScope(desired, options.services, options.noDeps ?? false, (m) => b.warn(m));
  const ordered = dependencyOrder(desired, scope);
  for (const name of Object.keys(options.scale ?? {})) {
    if (!byName.has(name)) {
      throw new FizzError({ code: "reconcile.unknown_service", message: `cannot scale ${name}: no such service` });
    }
  }
  const mine = projectContainers(desired.name, actual.containers);

  // --force-recreate applies to the targets; dependencies only with --always-recreate-deps (as in Compose).
  const targets = new Set(options.services && options.services.length > 0 ? options.services : byName.keys());
  const forced = (service: string): boolean =>
    (options.forceRecreate === true && targets.has(service)) ||
    (options.alwaysRecreateDeps === true && !targets.has(service));

  // Services some service waits on with service_completed_successfully:
  // their containers are jobs, and an exit 0 of an unchanged one means "done".
  const jobs = new Set<string>();
  for (const s of desired.services) {
    for (const d of s.dependsOn) if (d.condition === "service_completed_successfully") jobs.add(d.service);
  }

  const replicasOf = (svc: DesiredService<C>): number => {
    if (svc.numbers) return svc.numbers.length;
    const n = options.scale?.[svc.name] ?? svc.replicas;
    if (!Number.isInteger(n) || n < 0) {
      throw new FizzError({ code: "reconcile.bad_scale", message: `service ${svc.name}: invalid replica count ${n}` });
    }
    if (svc.containerName !== undefined && n > 1) {
      throw new FizzError({
        code: "reconcile.container_name_scale",
        message: `service ${svc.name} has container_name '${svc.containerName}' and cannot be scaled to ${n}`,
        hint: "remove container_name: to run more than one replica",
      });
    }
    return n;
  };

  // ---- networks and volumes -----------------------------------------------
  const networkStep = new Map<string, string>(); // key → step id
  const volumeStep = new Map<string, string>();
  const usedNetworks = new Set<string>();
  const usedVolumes = new Set<string>();
  for (const svc of ordered) {
    if (replicasOf(svc) === 0) continue;
    for (const n of svc.networks) usedNetworks.add(n);
    for (const v of svc.volumes) usedVolumes.add(v);
  }
  for (const key of usedNetworks) {
    const net = desired.networks.find((n) => n.key === key);
    if (!net) {
      throw new FizzError({ code: "reconcile.unknown_network", message: `a service uses undefined network ${key}` });
    }
    const found = actual.networks.find((a) => a.name === net.name);
    if (found) {
      if (!net.external && found.project !== undefined && found.project !== desired.name) {
        b.warn(`network ${net.name} exists but belongs to project ${found.project}; set external: true to share it`);
      }
      continue;
    }
    if (net.external) {
      b.warn(`network ${net.name} is declared as external but does not exist; create it first`);
      continue;
    }
    const id = b.add({ kind: "createNetwork", id: `network:create:${net.name}`, after: [], network: net, reason: { code: "missing" } });
    networkStep.set(key, id);
  }
  for (const key of usedVolumes) {
    const vol = desired.volumes.find((v) => v.key === key);
    if (!vol) {
      throw new FizzError({ code: "reconcile.unknown_volume", message: `a service uses undefined volume ${key}` });
    }
    const foundVol = actual.volumes.find((a) => a.name === vol.name);
    if (foundVol) {
      if (!vol.external && foundVol.project !== undefined && foundVol.project !== desired.name) {
        b.warn(`volume ${vol.name} exists but belongs to project ${foundVol.project}; set external: true to share it`);
      }
      continue;
    }
    if (vol.external) {
      b.warn(`volume ${vol.name} is declared as external but does not exist; create it first`);
      continue;
    }
    const id = b.add({ kind: "createVolume", id: `volume:create:${vol.name}`, after: [], volume: vol, reason: { code: "missing" } });
    volumeStep.set(key, id);
  }

  // ---- images -------------------------------------------------------------
  const imageStep = new Map<string, string>(); // service → step id
  for (const svc of ordered) {
    if (replicasOf(svc) === 0) continue;
    const present = imageIdOf(actual, svc.image) !== undefined;
    const build =
      svc.hasBuild &&
      options.build !== false &&
      (options.build === true || svc.pullPolicy === "build" || !present);
    if (build) {
      const reason: Reason = present ? { code: "build" } : { code: "missing" };
      imageStep.set(svc.name, b.add({ kind: "buildImage", id: `build:${svc.name}`, after: [], image: svc.image, service: svc.name, reason }));
      continue;
    }
    const policy = options.pull ?? (svc.pullPolicy === "build" ? "missing" : svc.pullPolicy);
    if (policy === "always" || (policy === "missing" && !present)) {
      const id = `pull:${normalizeImageRef(svc.image)}`;
      const existing = b.get(id);
      if (existing && existing.kind === "pullImage") {
        (existing.services as string[]).push(svc.name);
      } else {
        const reason: Reason = present ? { code: "pull-policy" } : { code: "missing" };
        b.add({ kind: "pullImage", id, after: [], image: svc.image, services: [svc.name], reason });
      }
      imageStep.set(svc.name, id);
    } else if (!present) {
      b.warn(`service ${svc.name}: image ${svc.image} is not present and pull policy is 'never'`);
    }
  }

  // ---- containers ---------------------------------------------------------
  const creates = new Map<string, string[]>(); // service → create step ids
  const starts = new Map<string, string[]>(); // service → start step ids
  const stopsOfOld = new Map<string, string[]>(); // service → stop steps of containers being replaced
  const recreated = new Set<string>();
  const touched = new Set<string>(); // container names with a create or start in the plan
  const keptRunning = new Map<string, ActualContainer[]>(); // service → untouched active containers

  const push = (m: Map<string, string[]>, k: string, v: string): void => {
    const l = m.get(k);
    if (l) l.push(v);
    else m.set(k, [v]);
  };

  /** Gates a start of a `svc` container on its dependencies. */
  const gated: Array<[string, DesiredService<C>]> = [];
  const gatesFor = (svc: DesiredService<C>): string[] => {
    const gates: string[] = [];
    for (const dep of depsInScope(svc, byName, scope)) {
      const depSvc = byName.get(dep.service)!;
      if (replicasOf(depSvc) === 0) {
        b.warn(`service ${svc.name}: dependency ${dep.service} is scaled to 0; not waiting for it`);
        continue;
      }
      if (dep.condition === "service_started") {
        gates.push(...(starts.get(dep.service) ?? []));
        continue;
      }
      const id = `wait:${dep.service}:${dep.condition}`;
      const existing = b.get(id);
      if (existing && existing.kind === "waitFor") {
        if (!existing.dependents.includes(svc.name)) (existing.dependents as string[]).push(svc.name);
        // One required dependent makes the gate required.
        if (dep.required && !existing.required) (existing as { required: boolean }).required = true;
      } else {
        b.add({
          kind: "waitFor",
          id,
          after: starts.get(dep.service) ?? [],
          service: dep.service,
          condition: dep.condition,
          required: dep.required,
          dependents: [svc.name],
          reason: { code: "dependency" },
        });
      }
      gates.push(id);
    }
    return gates;
  };

  const createAfter = (svc: DesiredService<C>): string[] => {
    const after: string[] = [];
    for (const n of svc.networks) {
      const s = networkStep.get(n);
      if (s) after.push(s);
    }
    for (const v of svc.volumes) {
      const s = volumeStep.get(v);
      if (s) after.push(s);
    }
    const img = imageStep.get(svc.name);
    if (img) after.push(img);
    for (const dep of depsInScope(svc, byName, scope)) after.push(...(creates.get(dep.service) ?? []));
    return after;
  };

  const removeSteps = (c: ActualContainer, reason: Reason): void => {
    if (c.state === "removing") return; // the engine is already on it
    const after: string[] = [];
    if (isActive(c)) {
      after.push(b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: refOf(c), reason }));
    }
    b.add({ kind: "removeContainer", id: `remove:${c.id}`, after, container: refOf(c), volumes: false, reason });
  };

  for (const svc of ordered) {
    const want = replicasOf(svc);
    const imageNow = imageIdOf(actual, svc.image);
    const all = mine.filter((c) => c.service === svc.name).sort(byNumber);
    // A container the engine is removing is as good as gone, but its name may still be taken.
    const containers = all.filter((c) => c.state !== "removing");
    const dying = all.filter((c) => c.state === "removing");

    // One container per number; extra claimants (e.g. after an interrupted recreate) go.
    const byNum = new Map<number, ActualContainer[]>();
    for (const c of containers) {
      const l = byNum.get(c.number) ?? [];
      l.push(c);
      byNum.set(c.number, l);
    }
    const kept: ActualContainer[] = [];
    for (const [, group] of [...byNum.entries()].sort((a, b) => a[0] - b[0])) {
      const sorted = [...group].sort(
        (a, b) =>
          keepRank(a, svc.configHash) - keepRank(b, svc.configHash) ||
          (b.startedAt ?? "").localeCompare(a.startedAt ?? "") ||
          a.id.localeCompare(b.id),
      );
      kept.push(sorted[0]!);
      for (const extra of sorted.slice(1)) removeSteps(extra, { code: "duplicate" });
    }

    // Scale down: the highest numbers go (cluster placement: the numbers not placed here).
    const placed = svc.numbers ? new Set(svc.numbers) : undefined;
    const staying = placed ? kept.filter((c) => placed.has(c.number)) : kept.slice(0, want);
    for (const c of placed ? kept.filter((c) => !placed.has(c.number)) : kept.slice(want)) {
      removeSteps(c, { code: placed ? "placed-elsewhere" : "scale-down" });
    }
    const held = new Set(svc.holdConfig ?? []);

    for (const c of staying) {
      let why: Reason | undefined;
      if (forced(svc.name)) why = { code: "force-recreate" };
      else if (c.state === "dead") why = { code: "exited", detail: "dead" };
      else if (held.has(c.number)) why = undefined; // a rolling update has not reached it yet
      else if (!options.noRecreate && c.configHash !== svc.configHash) {
        const fields = changedFields(c.configFields, svc.configFields);
        why = fields.length > 0 ? { code: "config-changed", detail: fields.join(", ") } : { code: "config-changed" };
      } else if (!options.noRecreate && imageNow !== undefined && c.imageId !== undefined && c.imageId !== imageNow) {
        why = { code: "image-changed" };
      } else if (!options.noRecreate && svc.recreateWith?.some((s) => recreated.has(s))) {
        why = { code: "dependency-recreated", detail: svc.recreateWith.filter((s) => recreated.has(s)).join(", ") };
      }

      if (why) {
        const name = containerName(desired.name, svc.name, c.number, svc.containerName);
        const old: ContainerRef = refOf(c);
        const sub: Reason = { code: "recreate", ...(why.detail ? { detail: why.detail } : {}) };
        const pre: string[] = [];
        // start-first keeps the old container serving until its replacement has started.
        const startFirst = svc.updateOrder === "start-first" && isActive(c);
        if (isActive(c) && !startFirst) {
          const stop = b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: old, reason: sub });
          push(stopsOfOld, svc.name, stop);
          pre.push(stop);
        }
        const rename = b.add({
          kind: "renameContainer",
          id: `rename:${c.id}`,
          after: pre,
          container: old,
          to: replacedContainerName(c.id, c.name),
          reason: sub,
        });
        const create = b.add({
          kind: "createContainer",
          id: `create:${name}`,
          after: [rename, ...createAfter(svc)],
          service: svc.name,
          number: c.number,
          name,
          configHash: svc.configHash,
          replaces: old,
          create: svc.create,
          reason: why,
        });
        let start: string;
        if (startFirst) {
          start = b.add({ kind: "startContainer", id: `start:${name}`, after: [create, ...gatesFor(svc)], container: { name, service: svc.name, number: c.number }, reason: sub });
          const stop = b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [start], container: old, reason: sub });
          push(stopsOfOld, svc.name, stop);
          b.add({ kind: "removeContainer", id: `remove:${c.id}`, after: [stop], container: old, volumes: false, reason: sub });
        } else {
          const remove = b.add({
            kind: "removeContainer",
            id: `remove:${c.id}`,
            after: [create],
            container: old,
            volumes: false,
            reason: sub,
          });
          start = b.add({
            kind: "startContainer",
            id: `start:${name}`,
            after: [create, remove, ...gatesFor(svc)],
            container: { name, service: svc.name, number: c.number },
            reason: sub,
          });
        }
        push(creates, svc.name, create);
        push(starts, svc.name, start);
        gated.push([start, svc]);
        touched.add(name);
        recreated.add(svc.name);
        continue;
      }

      if (isActive(c)) {
        const l = keptRunning.get(svc.name) ?? [];
        l.push(c);
        keptRunning.set(svc.name, l);
        continue;
      }
      // created / exited
      if (c.state === "exited" && c.exitCode === 0 && jobs.has(svc.name)) continue; // a finished job
      if (options.startExited === "policy" && !policyWantsRunning(svc, c)) continue;
      const start = b.add({
        kind: "startContainer",
        id: `start:${c.name}`,
        after: gatesFor(svc),
        container: refOf(c),
        reason: c.state === "created" ? { code: "created" } : { code: "exited", ...(c.exitCode !== undefined ? { detail: `exit code ${c.exitCode}` } : {}) },
      });
      push(starts, svc.name, start);
      gated.push([start, svc]);
      touched.add(c.name);
    }

    // Scale up: fill the lowest free numbers (cluster placement: the placed numbers missing here).
    const used = new Set([...staying, ...dying].map((c) => c.number));
    const fill = placed ? [...placed].filter((n) => !used.has(n)).sort((a, b) => a - b) : [];
    let missing = placed ? fill.length : want - staying.length;
    for (let k = 0, n = 1; missing > 0; n++) {
      if (placed) n = fill[k++]!;
      else if (used.has(n)) continue;
      missing--;
      const name = containerName(desired.name, svc.name, n, svc.containerName);
      const reason: Reason = containers.length === 0 ? { code: "missing" } : { code: "scale-up" };
      const create = b.add({
        kind: "createContainer",
        id: `create:${name}`,
        after: createAfter(svc),
        service: svc.name,
        number: n,
        name,
        configHash: svc.configHash,
        create: svc.create,
        reason,
      });
      const start = b.add({
        kind: "startContainer",
        id: `start:${name}`,
        after: [create, ...gatesFor(svc)],
        container: { name, service: svc.name, number: n },
        reason,
      });
      push(creates, svc.name, create);
      push(starts, svc.name, start);
      gated.push([start, svc]);
      touched.add(name);
    }
  }

  // ---- depends_on.restart: restart running dependents of recreated services ----
  for (const svc of ordered) {
    const restartFor = depsInScope(svc, byName, scope).filter((d) => d.restart && recreated.has(d.service));
    if (restartFor.length === 0) continue;
    const detail = restartFor.map((d) => d.service).join(", ");
    for (const c of keptRunning.get(svc.name) ?? []) {
      const reason: Reason = { code: "dependency-recreated", detail };
      const stop = b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: refOf(c), reason });
      // Stop the dependent before its dependency goes away, as `down` would.
      for (const d of restartFor) for (const s of stopsOfOld.get(d.service) ?? []) b.after(s, [stop]);
      const start = b.add({
        kind: "startContainer",
        id: `start:${c.name}`,
        after: [stop, ...gatesFor(svc)],
        container: refOf(c),
        reason,
      });
      push(starts, svc.name, start);
      gated.push([start, svc]);
    }
  }

  // Starts added late (restarts) must still gate their dependents and waits.
  for (const [startId, svc] of gated) {
    for (const dep of depsInScope(svc, byName, scope)) {
      if (dep.condition === "service_started") b.after(startId, starts.get(dep.service) ?? []);
    }
  }
  for (const step of b.ids()) {
    const s = b.get(step)!;
    if (s.kind === "waitFor") b.after(step, starts.get(s.service) ?? []);
  }

  // ---- orphans ------------------------------------------------------------
  const dropped = new Set(options.removeServices ?? []);
  const orphans: ActualContainer[] = [];
  for (const c of mine.filter((c) => !byName.has(c.service)).sort(byNumber)) {
    if (dropped.has(c.service)) removeSteps(c, { code: "orphan" });
    else orphans.push(c);
  }
  if (orphans.length > 0) {
    if (options.removeOrphans) {
      for (const c of orphans) removeSteps(c, { code: "orphan" });
    } else {
      b.warn(
        `Found orphan containers (${orphans.map((c) => c.name).join(", ")}) for this project. ` +
          "If you removed or renamed this service in your compose file, run with --remove-orphans to clean it up.",
      );
    }
  }

  return b.build();
}
