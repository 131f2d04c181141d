/**
 * The planner's first phases (core/reconcile/plan.ts): the networks and
 * volumes the services in scope use, created when missing (an external one
 * never: a missing external one is a warning), and each service's image,
 * pulled or built per its pull policy, once per reference.
 */
import { FizzError } from "../errors.ts";
import { imageBuildHashOf, imageIdOf, normalizeImageRef, type PlanRun } from "./plan-run.ts";
import type { Reason } from "./types.ts";

export function planResources<C>(run: PlanRun<C>): void {
  const { b, desired, actual } = run;
  const usedNetworks = new Set<string>();
  const usedVolumes = new Set<string>();
  for (const svc of run.ordered) {
    if (run.replicasOf(svc) === 0) continue;
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
    run.networkStep.set(key, id);
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
    run.volumeStep.set(key, id);
  }
}

export function planImages<C>(run: PlanRun<C>): void {
  const { b, actual, options } = run;
  for (const svc of run.ordered) {
    if (run.replicasOf(svc) === 0) continue;
    const present = imageIdOf(actual, svc.image) !== undefined;
    // A present image Fizz built with other build settings (args, target, dockerfile…) is stale: `up` builds it again.
    const builtWith = present ? imageBuildHashOf(actual, svc.image) : undefined;
    const stale = svc.buildHash !== undefined && builtWith !== undefined && builtWith !== svc.buildHash;
    const build = svc.hasBuild && options.build !== false && (options.build === true || svc.pullPolicy === "build" || !present || stale);
    if (build) {
      const reason: Reason = !present ? { code: "missing" } : stale && options.build !== true ? { code: "build-changed" } : { code: "build" };
      run.imageStep.set(svc.name, b.add({ kind: "buildImage", id: `build:${svc.name}`, after: [], image: svc.image, service: svc.name, reason }));
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
      run.imageStep.set(svc.name, id);
    } else if (!present) {
      b.warn(`service ${svc.name}: image ${svc.image} is not present and pull policy is 'never'`);
    }
  }
}
