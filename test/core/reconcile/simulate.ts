/**
 * A tiny pure engine for tests: applies a plan's steps to an ActualState the
 * way a well-behaved engine and executor would (waitFor makes the awaited
 * condition true), so tests can check convergence: plan(applied) is empty.
 */

import type { ActualContainer, ActualState, DesiredProject, Plan, Step } from "../../../core/reconcile/types.ts";

export interface SimOptions {
  /** Project name for created networks/volumes/containers. */
  readonly project: string;
  readonly desired?: DesiredProject<unknown>;
}

type MutableContainer = { -readonly [K in keyof ActualContainer]: ActualContainer[K] };

/** Checks the DAG shape: unique ids, every `after` names an earlier step. */
export function assertWellFormed(plan: Plan<unknown>): void {
  const seen = new Set<string>();
  for (const s of plan.steps) {
    if (seen.has(s.id)) throw new Error(`duplicate step id ${s.id}`);
    for (const a of s.after) if (!seen.has(a)) throw new Error(`step ${s.id} is after ${a}, which is not earlier`);
    seen.add(s.id);
  }
}

export function applyPlanToActual(plan: Plan<unknown>, actual: ActualState, opts: SimOptions): ActualState {
  assertWellFormed(plan);
  const containers: MutableContainer[] = actual.containers.map((c) => ({ ...c }));
  const networks = [...actual.networks];
  const volumes = [...actual.volumes];
  const images = [...actual.images];
  let seq = 0;
  for (const c of containers) {
    const m = /^sim(\d+)$/.exec(c.id);
    if (m) seq = Math.max(seq, Number(m[1]));
  }
  const find = (ref: { id?: string; name: string }): MutableContainer => {
    const c = ref.id !== undefined ? containers.find((x) => x.id === ref.id) : containers.find((x) => x.name === ref.name);
    if (!c) throw new Error(`no container ${ref.id ?? ref.name}`);
    return c;
  };
  const svcOf = (name: string) => opts.desired?.services.find((s) => s.name === name);
  const imageId = (ref: string) => images.find((i) => i.ref === ref)?.id;

  for (const step of plan.steps as readonly Step<unknown>[]) {
    switch (step.kind) {
      case "createNetwork":
        if (networks.some((n) => n.name === step.network.name)) throw new Error(`network ${step.network.name} exists`);
        networks.push({ name: step.network.name, project: opts.project, key: step.network.key });
        break;
      case "removeNetwork":
        networks.splice(networks.findIndex((n) => n.name === step.name), 1);
        break;
      case "createVolume":
        if (volumes.some((v) => v.name === step.volume.name)) throw new Error(`volume ${step.volume.name} exists`);
        volumes.push({ name: step.volume.name, project: opts.project, key: step.volume.key });
        break;
      case "removeVolume":
        volumes.splice(volumes.findIndex((v) => v.name === step.name), 1);
        break;
      case "pullImage":
      case "buildImage":
        if (!images.some((i) => i.ref === step.image)) images.push({ ref: step.image, id: `img:${step.image}` });
        break;
      case "createContainer": {
        if (containers.some((c) => c.name === step.name)) throw new Error(`name conflict: ${step.name}`);
        const svc = svcOf(step.service);
        const img = svc ? imageId(svc.image) : undefined;
        containers.push({
          id: `sim${++seq}`,
          name: step.name,
          project: opts.project,
          service: step.service,
          number: step.number,
          configHash: step.configHash,
          ...(svc?.configFields ? { configFields: svc.configFields } : {}),
          ...(img !== undefined ? { imageId: img } : {}),
          state: "created",
          health: "none",
          oneoff: false,
        });
        break;
      }
      case "renameContainer": {
        const c = find(step.container);
        if (containers.some((x) => x.name === step.to)) throw new Error(`name conflict: ${step.to}`);
        c.name = step.to;
        break;
      }
      case "startContainer": {
        const c = find(step.container);
        c.state = "running";
        delete c.exitCode;
        c.health = svcOf(c.service)?.hasHealthcheck ? "starting" : "none";
        break;
      }
      case "stopContainer": {
        const c = find(step.container);
        c.state = "exited";
        c.exitCode = 0;
        c.health = "none";
        break;
      }
      case "removeContainer": {
        const c = find(step.container);
        if (c.state === "running") throw new Error(`removing running container ${c.name}`);
        containers.splice(containers.indexOf(c), 1);
        break;
      }
      case "waitFor":
        for (const c of containers) {
          if (c.service !== step.service || c.project !== opts.project || c.state !== "running") continue;
          if (step.condition === "service_healthy") c.health = "healthy";
          else {
            c.state = "exited";
            c.exitCode = 0;
            c.health = "none";
          }
        }
        break;
    }
  }
  return { containers, networks, volumes, images };
}

/** True when `to` is reachable from `from` through `after` edges (i.e. `to` runs after `from`). */
export function runsAfter(plan: Plan<unknown>, later: string, earlier: string): boolean {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const stack = [later];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const s = byId.get(id);
    if (!s) continue;
    for (const a of s.after) {
      if (a === earlier) return true;
      stack.push(a);
    }
  }
  return false;
}
