import { describe, expect, test } from "bun:test";
import { PlanProgress, executePlan } from "../../../core/reconcile/execute.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import type { Step } from "../../../core/reconcile/types.ts";
import { EMPTY, threeTier } from "./fixtures.ts";

/** A perform that resolves on the next microtask turns and records what overlapped. */
function recorder(failOn?: (s: Step) => boolean) {
  const order: string[] = [];
  let live = 0;
  let peak = 0;
  const perform = async (s: Step) => {
    live++;
    peak = Math.max(peak, live);
    await Promise.resolve();
    await Promise.resolve();
    live--;
    if (failOn?.(s)) throw new Error(`boom ${s.id}`);
    order.push(s.id);
  };
  return { order, perform, peak: () => peak };
}

describe("executePlan", () => {
  test("runs every step once, never before its `after`, within the bound", async () => {
    const p = plan(threeTier(), EMPTY);
    const r = recorder();
    const res = await executePlan(p, r.perform, { parallelism: 3 });
    expect(res.ok).toBe(true);
    expect([...r.order].sort()).toEqual(p.steps.map((s) => s.id).sort());
    const pos = new Map(r.order.map((id, i) => [id, i]));
    for (const s of p.steps) for (const a of s.after) expect(pos.get(a)!).toBeLessThan(pos.get(s.id)!);
    expect(r.peak()).toBeLessThanOrEqual(3);
    expect(r.peak()).toBeGreaterThan(1); // independent pulls do overlap
  });

  test("a failure skips its dependents only", async () => {
    const p = plan(threeTier(), EMPTY);
    const r = recorder((s) => s.id === "pull:img/migrate:1");
    const events: string[] = [];
    const res = await executePlan(p, r.perform, { onEvent: (e) => events.push(`${e.outcome.status} ${e.step.id}`) });
    expect(res.ok).toBe(false);
    expect(res.failed.map((f) => f.id)).toEqual(["pull:img/migrate:1"]);
    const o = res.outcomes;
    expect(o.get("create:shop-migrate-1")?.status).toBe("skipped");
    expect(o.get("start:shop-web-1")?.status).toBe("skipped"); // waits on migrate's completion
    expect(o.get("start:shop-db-1")?.status).toBe("done"); // independent branch carried on
    expect(events).toContain("failed pull:img/migrate:1");
  });

  test("PlanProgress bookkeeping", () => {
    const p = plan(threeTier(), EMPTY);
    const pr = new PlanProgress(p);
    const first = pr.ready().map((s) => s.id);
    expect(first).toContain("network:create:shop_default");
    expect(first.every((id) => p.steps.find((s) => s.id === id)!.after.length === 0)).toBe(true);
    expect(pr.ready(2)).toHaveLength(2);
    for (const s of pr.ready()) pr.start(s.id);
    expect(pr.ready()).toEqual([]);
    expect(pr.fail("network:create:shop_default", new Error("x"))).toContain("create:shop-db-1");
  });
});
