/**
 * One plan step's progress as data: what kind of step, on which object, why,
 * and how it ended. The agent stores these in its step events (`data.step`)
 * and the CLI renders the same value whether the step ran in the CLI or in
 * the agent, so progress is never a string parsed back.
 */
import type { Reason, ReasonCode, Step, StepKind } from "./types.ts";

export interface StepProgress {
  readonly kind: StepKind;
  readonly status: "done" | "failed";
  /** The object's name: container, network, volume, image, or service (waitFor). */
  readonly subject: string;
  readonly service?: string;
  readonly container?: string;
  readonly reason: { readonly code: ReasonCode; readonly detail?: string };
  /** A container created to replace another (a recreate). */
  readonly replaces?: string;
  /** waitFor: what it waited for. */
  readonly condition?: "service_started" | "service_healthy" | "service_completed_successfully";
  readonly error?: { readonly code: string; readonly message: string };
}

/** The kind of object a step acts on, as Compose prints it (`Container`, `Network`…). */
export const STEP_OBJECT: Readonly<Record<StepKind, string>> = {
  createNetwork: "Network",
  removeNetwork: "Network",
  createVolume: "Volume",
  removeVolume: "Volume",
  pullImage: "Image",
  buildImage: "Image",
  createContainer: "Container",
  startContainer: "Container",
  stopContainer: "Container",
  renameContainer: "Container",
  removeContainer: "Container",
  waitFor: "Service",
  barrier: "Service",
};

/** The verb for a finished step, as Compose prints it (`Started`). */
export const STEP_DONE: Readonly<Record<StepKind, string>> = {
  createNetwork: "Created",
  removeNetwork: "Removed",
  createVolume: "Created",
  removeVolume: "Removed",
  pullImage: "Pulled",
  buildImage: "Built",
  createContainer: "Created",
  startContainer: "Started",
  stopContainer: "Stopped",
  renameContainer: "Renamed",
  removeContainer: "Removed",
  waitFor: "Ready",
  barrier: "Ready",
};

export function stepSubject(step: Step<unknown>): string {
  switch (step.kind) {
    case "createNetwork":
      return step.network.name;
    case "createVolume":
      return step.volume.name;
    case "removeNetwork":
    case "removeVolume":
      return step.name;
    case "pullImage":
    case "buildImage":
      return step.image;
    case "createContainer":
      return step.name;
    case "waitFor":
    case "barrier":
      return step.service;
    default:
      return step.container.name;
  }
}

function serviceOf(step: Step<unknown>): string | undefined {
  if ("container" in step) return step.container.service;
  if (step.kind === "createContainer" || step.kind === "waitFor" || step.kind === "buildImage" || step.kind === "barrier") return step.service;
  return undefined;
}

function containerOf(step: Step<unknown>): string | undefined {
  if ("container" in step) return step.container.name;
  return step.kind === "createContainer" ? step.name : undefined;
}

export function stepProgress(step: Step<unknown>, status: "done" | "failed", error?: { code: string; message: string }): StepProgress {
  const service = serviceOf(step);
  const container = containerOf(step);
  const reason: Reason = step.reason;
  return {
    kind: step.kind,
    status,
    subject: stepSubject(step),
    ...(service ? { service } : {}),
    ...(container ? { container } : {}),
    reason: { code: reason.code, ...(reason.detail ? { detail: reason.detail } : {}) },
    ...(step.kind === "createContainer" && step.replaces ? { replaces: step.replaces.name } : {}),
    ...(step.kind === "waitFor" ? { condition: step.condition } : {}),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
}

const KINDS = new Set<string>(Object.keys(STEP_OBJECT));

/** Reads a StepProgress back from an event's data; undefined for anything else. */
export function readStepProgress(v: unknown): StepProgress | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const r = o.reason as Record<string, unknown> | undefined;
  if (typeof o.kind !== "string" || !KINDS.has(o.kind) || (o.status !== "done" && o.status !== "failed") || typeof o.subject !== "string" || !r || typeof r.code !== "string") return undefined;
  return o as unknown as StepProgress;
}
