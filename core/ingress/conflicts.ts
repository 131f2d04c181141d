/**
 * Ingress claims that cannot both be served, with both places named: within
 * one project (for `fizz validate`, as compose diagnostics at the second
 * place) and between a project and the deployments already in the cluster
 * (for `fizz up`, refused before anything changes).
 */
import type { Project } from "../compose/model.ts";
import { buildRouteTable, placeText, type Conflict, type DeploymentInput, type Place } from "./routes.ts";

export interface ConflictReport {
  /** Where in the new project the refused claim is. */
  readonly path: Place;
  readonly message: string;
  readonly hint: string;
}

function describe(c: Conflict, sameProject: boolean): ConflictReport {
  const other = sameProject ? placeText(c.kept.place) : `${placeText(c.kept.place)} of project ${c.kept.service.project}`;
  return {
    path: c.refused.place,
    message: `${c.what} is already claimed by ${other}`,
    hint: c.what.startsWith("host and path") ? "give one of them another host or path" : "use another port for one of them",
  };
}

/**
 * Conflicts inside one project. Published port vs published port is left to
 * compose's own check (it reports those already); `clusterPorts` says whether
 * published ports are ingress ports (in a cluster) and so collide with
 * x-fizz.ingress ports.
 */
export function projectConflicts(project: Project, clusterPorts = true): ConflictReport[] {
  const t = buildRouteTable([{ id: project.name, created: "", project }], clusterPorts);
  return t.conflicts
    .filter((c) => !(c.kept.place[2] === "ports" && c.refused.place[2] === "ports"))
    .map((c) => describe(c, true));
}

/** Conflicts between a project about to be deployed and the deployments already there (other projects). */
export function deploymentConflicts(existing: readonly DeploymentInput[], id: string, project: Project, clusterPorts: boolean): ConflictReport[] {
  const others = existing.filter((d) => d.id !== id);
  // The newcomer sorts last, so it is the one refused.
  const t = buildRouteTable([...others, { id, created: "\uffff", project }], clusterPorts);
  return t.conflicts.filter((c) => c.refused.service.deployment === id && c.kept.service.deployment !== id).map((c) => describe(c, false));
}
