/**
 * Human rendering of a plan, one line per user-visible action, in the style
 * of Compose's progress output: `Container shop-web-1  Recreate (config
 * changed: environment)`. The internal steps of a recreate (stop, rename,
 * remove of the old container) fold into its one `Recreate` line.
 */

import type { Plan, Reason, Step } from "./types.ts";

export function reasonText(r: Reason): string {
  switch (r.code) {
    case "missing":
      return "missing";
    case "config-changed":
      return r.detail ? `config changed: ${r.detail}` : "config hash changed";
    case "image-changed":
      return "image changed";
    case "force-recreate":
      return "--force-recreate";
    case "scale-up":
      return "scale up";
    case "scale-down":
      return "scale down";
    case "placed-elsewhere":
      return r.detail ? `placed on ${r.detail}` : "placed on another node";
    case "orphan":
      return "orphan";
    case "duplicate":
      return "duplicate container number";
    case "exited":
      return r.detail ? `exited, ${r.detail}` : "exited";
    case "created":
      return "created, never started";
    case "dependency-recreated":
      return r.detail ? `dependency recreated: ${r.detail}` : "dependency recreated";
    case "address-changed":
      return r.detail ? `address changed: ${r.detail}` : "address changed";
    case "dependency":
      return "dependency";
    case "build-changed":
      return "build settings changed";
    case "pull-policy":
      return "pull_policy";
    case "build":
      return "build";
    case "recreate":
      return r.detail ? `recreate: ${r.detail}` : "recreate";
    case "requested":
      return "requested";
    case "health-policy":
      return r.detail ?? "health policy";
  }
}

function line(subject: string, action: string, why?: string): string {
  return `${subject}  ${action}${why ? ` (${why})` : ""}`;
}

/** One line for a step, or undefined for the internal steps of a recreate. */
export function describeStep(step: Step<unknown>): string | undefined {
  const quiet = step.reason.code === "requested" || step.reason.code === "missing" || step.reason.code === "dependency";
  const why = quiet ? undefined : reasonText(step.reason);
  switch (step.kind) {
    case "createNetwork":
      return line(`Network ${step.network.name}`, "Create");
    case "removeNetwork":
      return line(`Network ${step.name}`, "Remove");
    case "createVolume":
      return line(`Volume ${step.volume.name}`, "Create");
    case "removeVolume":
      return line(`Volume ${step.name}`, "Remove");
    case "pullImage":
      return line(`Image ${step.image}`, "Pull", why);
    case "buildImage":
      return line(`Image ${step.image}`, "Build", why);
    case "createContainer":
      return step.replaces
        ? line(`Container ${step.name}`, "Recreate", reasonText(step.reason))
        : line(`Container ${step.name}`, "Create", why);
    case "startContainer":
      return line(`Container ${step.container.name}`, "Start", step.reason.code === "recreate" ? undefined : why);
    case "stopContainer":
      return step.reason.code === "recreate" ? undefined : line(`Container ${step.container.name}`, "Stop", why);
    case "renameContainer":
    case "barrier":
      return undefined;
    case "removeContainer":
      return step.reason.code === "recreate" ? undefined : line(`Container ${step.container.name}`, "Remove", why);
    case "waitFor":
      return line(
        `Service ${step.service}`,
        "Wait",
        `${step.condition === "service_healthy" ? "healthy" : step.condition === "service_started" ? "started" : "completed successfully"}${step.placement?.elsewhere ? " (on other nodes too)" : ""}, for ${step.dependents.join(", ")}`,
      );
  }
}

/** The plan as lines a person reads, in plan order; warnings last, prefixed `WARN`. */
export function describePlan(plan: Plan<unknown>): string[] {
  const out: string[] = [];
  for (const s of plan.steps) {
    const l = describeStep(s);
    if (l !== undefined) out.push(l);
  }
  for (const w of plan.warnings) out.push(`WARN ${w}`);
  return out;
}

/** True when the plan changes nothing (warnings do not count). */
export function isEmptyPlan(plan: Plan<unknown>): boolean {
  return plan.steps.length === 0;
}
