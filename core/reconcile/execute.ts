/**
 * Runs a plan's DAG with bounded parallelism through an injected `perform`
 * (the engine calls live in platform/; this file only orders them). A step
 * starts once every step in its `after` succeeded; a failed step skips
 * everything that depends on it, while independent branches carry on, so one
 * broken service does not block the rest of the stack. Whatever is left
 * undone is picked up by the next (level-triggered) plan.
 *
 * `PlanProgress` is the pure bookkeeping; `executePlan` drives it with promises.
 */

import type { Plan, Step } from "./types.ts";

export type StepOutcome =
  | { readonly status: "done" }
  | { readonly status: "failed"; readonly error: unknown }
  | { readonly status: "skipped"; readonly because: string };

export class PlanProgress<C = unknown> {
  private readonly byId: Map<string, Step<C>>;
  private readonly dependents = new Map<string, string[]>();
  private readonly outcome = new Map<string, StepOutcome>();
  private readonly running = new Set<string>();

  constructor(readonly plan: Plan<C>) {
    this.byId = new Map(plan.steps.map((s) => [s.id, s]));
    for (const s of plan.steps) {
      for (const a of s.after) {
        const l = this.dependents.get(a) ?? [];
        l.push(s.id);
        this.dependents.set(a, l);
      }
    }
  }

  /** Steps that may start now, in plan order, at most `limit` of them. */
  ready(limit = Infinity): Step<C>[] {
    const out: Step<C>[] = [];
    for (const s of this.plan.steps) {
      if (out.length >= limit) break;
      if (this.outcome.has(s.id) || this.running.has(s.id)) continue;
      if (s.after.every((a) => this.outcome.get(a)?.status === "done")) out.push(s);
    }
    return out;
  }

  start(id: string): void {
    if (!this.byId.has(id)) throw new Error(`PlanProgress: no step ${id}`);
    this.running.add(id);
  }

  done(id: string): void {
    this.running.delete(id);
    this.outcome.set(id, { status: "done" });
  }

  /** Marks `id` failed and every step that (transitively) comes after it skipped. */
  fail(id: string, error: unknown): string[] {
    this.running.delete(id);
    this.outcome.set(id, { status: "failed", error });
    const skipped: string[] = [];
    const stack = [...(this.dependents.get(id) ?? [])];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (this.outcome.has(d)) continue;
      this.outcome.set(d, { status: "skipped", because: id });
      skipped.push(d);
      stack.push(...(this.dependents.get(d) ?? []));
    }
    return skipped;
  }

  get inFlight(): number {
    return this.running.size;
  }

  finished(): boolean {
    return this.outcome.size === this.plan.steps.length;
  }

  outcomes(): ReadonlyMap<string, StepOutcome> {
    return this.outcome;
  }
}

export interface ExecuteOptions<C> {
  /** How many steps run at once (default 4). */
  readonly parallelism?: number;
  /** Progress callback, e.g. for the CLI's per-step lines. */
  readonly onEvent?: (e: { readonly step: Step<C>; readonly outcome: StepOutcome | { readonly status: "started" } }) => void;
}

export interface ExecuteResult {
  readonly ok: boolean;
  readonly outcomes: ReadonlyMap<string, StepOutcome>;
  readonly failed: readonly { readonly id: string; readonly error: unknown }[];
}

export async function executePlan<C>(
  plan: Plan<C>,
  perform: (step: Step<C>) => Promise<void>,
  options: ExecuteOptions<C> = {},
): Promise<ExecuteResult> {
  const limit = Math.max(1, options.parallelism ?? 4);
  const progress = new PlanProgress(plan);
  const inflight = new Map<string, Promise<void>>();
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const emit = options.onEvent ?? (() => {});

  while (!progress.finished()) {
    for (const step of progress.ready(limit - progress.inFlight)) {
      progress.start(step.id);
      emit({ step, outcome: { status: "started" } });
      inflight.set(
        step.id,
        (async () => {
          try {
            await perform(step);
            progress.done(step.id);
            emit({ step, outcome: { status: "done" } });
          } catch (error) {
            for (const s of progress.fail(step.id, error)) {
              emit({ step: byId.get(s)!, outcome: { status: "skipped", because: step.id } });
            }
            emit({ step, outcome: { status: "failed", error } });
          } finally {
            inflight.delete(step.id);
          }
        })(),
      );
    }
    if (inflight.size === 0) break; // nothing running and nothing ready: only skipped steps remain
    await Promise.race(inflight.values());
  }
  const failed = [...progress.outcomes()]
    .filter(([, o]) => o.status === "failed")
    .map(([id, o]) => ({ id, error: (o as { error: unknown }).error }));
  return { ok: failed.length === 0 && progress.finished(), outcomes: progress.outcomes(), failed };
}
