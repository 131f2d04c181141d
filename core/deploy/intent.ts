/**
 * A deploy intent: how the latest change to a deployment's desired state is
 * to be applied, stored with the spec (locally and in the cluster state) so
 * that every node applies it the same way, once. `fizz up`'s flags (--build,
 * --pull, --force-recreate, --no-recreate, --remove-orphans) are one-shot: a
 * node applies them on its first pass after the change, with rollback of what
 * that pass created if it fails; later passes are the loop's ordinary,
 * level-triggered ones. A failed intent is reverted: the desired state goes
 * back to the spec before it (a new deployment is removed), so a failed `up`
 * changes nothing, on one node or many.
 */
import type { PlanOptions } from "../reconcile/types.ts";

export type IntentKind = "up" | "scale" | "rollback" | "revert";
export type { PullOption } from "../reconcile/types.ts";
import type { PullOption } from "../reconcile/types.ts";

export interface DeployIntent {
  /** Unique per change: `<node>:<counter>` or a random id; compared for equality only. */
  readonly id: string;
  readonly kind: IntentKind;
  readonly pull?: PullOption;
  readonly build?: boolean;
  readonly forceRecreate?: boolean;
  readonly noRecreate?: boolean;
  readonly removeOrphans?: boolean;
  /** `fizz up -d web api`: the change plans these services only (with their dependencies unless `noDeps`). */
  readonly services?: readonly string[];
  readonly noDeps?: boolean;
  /** How long a `depends_on` gate may wait on this pass (ms). */
  readonly waitTimeoutMs?: number;
  /** `fizz scale` overrides before the change (an `up` resets or sets them): a revert puts them back. */
  readonly previousScale?: Readonly<Record<string, number>>;
  /** For a revert: services the failed change added, whose containers go wherever they were created. */
  readonly dropServices?: readonly string[];
  /** For a revert: the intent that failed, where and why. */
  readonly reverts?: { readonly intent: string; readonly node: string; readonly reason: string };
  /**
   * The version of each stored secret and config the deployment uses, as the
   * node that accepted the change held them (the values its `up` uploaded):
   * a node applying the change waits for them to arrive before it brings its
   * containers' files up to date (they travel apart from the deployment).
   */
  readonly secretVersions?: Readonly<Record<string, number>>;
}

/** A fresh intent id: this node's id prefix, the time and a counter, enough to be unique cluster-wide. */
export function newIntentId(node: string, nowMs: number, counter: number): string {
  return `${node.slice(0, 8)}-${nowMs.toString(36)}-${counter.toString(36)}`;
}

/** Services a failed spec has that the spec before it did not: a revert removes their containers. */
export function addedServices(failed: { readonly services?: Readonly<Record<string, unknown>> } | undefined, previous: { readonly services?: Readonly<Record<string, unknown>> } | undefined): string[] {
  const before = new Set(Object.keys(previous?.services ?? {}));
  return Object.keys(failed?.services ?? {}).filter((s) => !before.has(s));
}

/** The loop's own passes: pull only what is missing, start only what the restart policy wants, never remove orphans. */
export const LOOP_OPTIONS: PlanOptions = { pull: "missing", startExited: "policy", removeOrphans: false };

/** Plan options for a pass: the intent's flags on its first pass here, the loop's otherwise. */
export function planOptionsFor(intent: DeployIntent | undefined): PlanOptions {
  if (!intent) return LOOP_OPTIONS;
  return {
    pull: intent.pull ?? "missing",
    startExited: "always",
    removeOrphans: intent.removeOrphans === true,
    ...(intent.build ? { build: true } : {}),
    ...(intent.forceRecreate ? { forceRecreate: true } : {}),
    ...(intent.noRecreate ? { noRecreate: true } : {}),
    ...(intent.dropServices?.length ? { removeServices: intent.dropServices } : {}),
    ...(intent.services?.length ? { services: intent.services } : {}),
    ...(intent.noDeps ? { noDeps: true } : {}),
  };
}

const FLAGS = ["pull", "build", "forceRecreate", "noRecreate", "removeOrphans", "noDeps", "waitTimeoutMs"] as const;

/** The intent as plain JSON (for the store and the cluster state). */
export function intentToJson(i: DeployIntent): Record<string, unknown> {
  const out: Record<string, unknown> = { id: i.id, kind: i.kind };
  for (const k of FLAGS) if (i[k] !== undefined) out[k] = i[k];
  if (i.previousScale) out.previousScale = { ...i.previousScale };
  if (i.dropServices) out.dropServices = [...i.dropServices];
  if (i.services) out.services = [...i.services];
  if (i.reverts) out.reverts = { ...i.reverts };
  if (i.secretVersions) out.secretVersions = { ...i.secretVersions };
  return out;
}

const KINDS: readonly IntentKind[] = ["up", "scale", "rollback", "revert"];

/** Reads an intent back; undefined for anything that is not one (an older node's record, a corrupt row). */
export function intentFromJson(v: unknown): DeployIntent | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== "string" || o.id === "" || !KINDS.includes(o.kind as IntentKind)) return undefined;
  const out: { -readonly [K in keyof DeployIntent]: DeployIntent[K] } = { id: o.id, kind: o.kind as IntentKind };
  if (o.pull === "always" || o.pull === "missing" || o.pull === "never") out.pull = o.pull;
  for (const k of ["build", "forceRecreate", "noRecreate", "removeOrphans", "noDeps"] as const) if (o[k] === true) out[k] = true;
  if (typeof o.waitTimeoutMs === "number" && Number.isFinite(o.waitTimeoutMs) && o.waitTimeoutMs >= 0) out.waitTimeoutMs = o.waitTimeoutMs;
  const ps = o.previousScale;
  if (typeof ps === "object" && ps !== null && !Array.isArray(ps)) {
    const scale: Record<string, number> = {};
    for (const [k, n] of Object.entries(ps)) if (typeof n === "number" && Number.isSafeInteger(n) && n >= 0) scale[k] = n;
    out.previousScale = scale;
  }
  if (Array.isArray(o.dropServices)) out.dropServices = o.dropServices.filter((x): x is string => typeof x === "string");
  if (Array.isArray(o.services)) out.services = o.services.filter((x): x is string => typeof x === "string");
  const r = o.reverts as Record<string, unknown> | undefined;
  if (r && typeof r.intent === "string" && typeof r.node === "string" && typeof r.reason === "string") out.reverts = { intent: r.intent, node: r.node, reason: r.reason };
  const sv = o.secretVersions;
  if (typeof sv === "object" && sv !== null && !Array.isArray(sv)) {
    const versions: Record<string, number> = {};
    for (const [k, n] of Object.entries(sv)) if (typeof n === "number" && Number.isSafeInteger(n) && n >= 1) versions[k] = n;
    out.secretVersions = versions;
  }
  return out;
}
