/**
 * Accumulates plan steps with their `after` edges and emits them in a stable
 * topological order (insertion order among ready steps), so equal inputs give
 * byte-equal plans and the executor may run any step whose `after` is done.
 */

import { MinHeap } from "../heap.ts";
import { FizzError } from "../errors.ts";
import type { Plan, Step } from "./types.ts";

type Mutable<S> = { -readonly [K in keyof S]: S[K] };
type MutableStep<C> = Mutable<Step<C>> & { after: string[] };

export class PlanBuilder<C> {
  private readonly steps = new Map<string, MutableStep<C>>();
  /** Each step's `after` as a set: adding edges stays linear however many a step has. */
  private readonly afterSets = new Map<string, Set<string>>();
  readonly warnings: string[] = [];

  has(id: string): boolean {
    return this.steps.has(id);
  }

  ids(): string[] {
    return [...this.steps.keys()];
  }

  get(id: string): Step<C> | undefined {
    return this.steps.get(id);
  }

  /** Adds a step; adding an id twice merges the `after` edges of the second into the first. */
  add(step: Step<C>): string {
    const existing = this.steps.get(step.id);
    if (existing) {
      this.after(step.id, step.after);
      return step.id;
    }
    const set = new Set(step.after);
    this.steps.set(step.id, { ...step, after: [...set] } as MutableStep<C>);
    this.afterSets.set(step.id, set);
    return step.id;
  }

  /** Adds edges: `id` runs after each of `deps` (ids not in the plan are ignored at build time). */
  after(id: string, deps: readonly string[]): void {
    const s = this.steps.get(id);
    if (!s) throw new Error(`PlanBuilder.after: no step ${id}`);
    const set = this.afterSets.get(id)!;
    for (const d of deps) {
      if (d === id || set.has(d)) continue;
      set.add(d);
      s.after.push(d);
    }
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  build(): Plan<C> {
    const all = [...this.steps.values()].map((s) => ({ ...s, after: s.after.filter((d) => this.steps.has(d)) }));
    const indeg = new Map<string, number>();
    const children = new Map<string, string[]>();
    for (const s of all) {
      indeg.set(s.id, s.after.length);
      for (const d of s.after) {
        const list = children.get(d) ?? [];
        list.push(s.id);
        children.set(d, list);
      }
    }
    const position = new Map(all.map((s, i) => [s.id, i]));
    const byId = new Map(all.map((s) => [s.id, s]));
    // Ready steps leave in insertion order, which keeps the order stable (a heap: O(n log n) for big plans).
    const ready = new MinHeap<string>((a, b) => position.get(a)! < position.get(b)!);
    for (const s of all) if (s.after.length === 0) ready.push(s.id);
    const out: Step<C>[] = [];
    while (ready.size > 0) {
      const id = ready.pop()!;
      out.push(byId.get(id)! as Step<C>);
      for (const c of children.get(id) ?? []) {
        const left = indeg.get(c)! - 1;
        indeg.set(c, left);
        if (left === 0) ready.push(c);
      }
    }
    if (out.length !== all.length) {
      const placed = new Set(out.map((s) => s.id));
      const stuck = all.filter((s) => !placed.has(s.id)).map((s) => s.id);
      throw new FizzError({
        code: "reconcile.plan_cycle",
        message: `internal error: the plan has a cycle among ${stuck.join(", ")}`,
        exitCode: 70,
      });
    }
    return { steps: out, warnings: [...this.warnings] };
  }
}
