import { describe, expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import { describePlan } from "../../../core/reconcile/describe.ts";
import { planDown, planRestart, planRestartContainers, planStart, planStop } from "../../../core/reconcile/lifecycle.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import type { ActualState, Plan, Step } from "../../../core/reconcile/types.ts";
import { EMPTY, container, project, svc, threeTier } from "./fixtures.ts";
import { applyPlanToActual, assertWellFormed, runsAfter } from "./simulate.ts";

const ofKind = <K extends Step["kind"]>(p: Plan<unknown>, kind: K) =>
  p.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind);

function running() {
  const d = threeTier();
  const actual = applyPlanToActual(plan(d, EMPTY), EMPTY, { project: "shop", desired: d });
  const c = (name: string) => actual.containers.find((x) => x.name === name)!;
  return { d, actual, c };
}

describe("planDown", () => {
  test("removes containers dependents-first and networks, keeps volumes without -v", () => {
    const { d, actual, c } = running();
    const p = planDown(d, actual);
    assertWellFormed(p);
    expect(ofKind(p, "removeContainer")).toHaveLength(5);
    expect(ofKind(p, "removeNetwork").map((s) => s.name)).toEqual(["shop_default"]);
    expect(ofKind(p, "removeVolume")).toEqual([]);
    // proxy stops before web, web before db; migrate already exited: no stop
    expect(runsAfter(p, `stop:${c("shop-web-1").id}`, `stop:${c("shop-proxy-1").id}`)).toBe(true);
    expect(runsAfter(p, `stop:${c("shop-db-1").id}`, `stop:${c("shop-web-2").id}`)).toBe(true);
    expect(p.steps.some((s) => s.id === `stop:${c("shop-migrate-1").id}`)).toBe(false);
    // network goes after every container
    for (const r of ofKind(p, "removeContainer")) expect(runsAfter(p, "network:remove:shop_default", r.id)).toBe(true);
    const after = applyPlanToActual(p, actual, { project: "shop" });
    expect(after.containers).toEqual([]);
    expect(after.volumes.map((v) => v.name)).toEqual(["shop_data"]);
    expect(planDown(d, after).steps).toEqual([]);
  });

  test("-v removes named and anonymous volumes, never external ones", () => {
    const { d, actual } = running();
    const d2 = {
      ...d,
      volumes: [...d.volumes, { key: "ext", name: "corp", external: true }],
      networks: [...d.networks, { key: "outside", name: "outside", external: true }],
    };
    const a: ActualState = {
      ...actual,
      volumes: [...actual.volumes, { name: "corp", project: "shop" }],
      networks: [...actual.networks, { name: "outside", project: "shop" }],
    };
    const p = planDown(d2, a, { volumes: true });
    expect(ofKind(p, "removeVolume").map((s) => s.name)).toEqual(["shop_data"]);
    expect(ofKind(p, "removeNetwork").map((s) => s.name)).toEqual(["shop_default"]);
    expect(ofKind(p, "removeContainer").every((s) => s.volumes)).toBe(true);
  });

  test("orphans: warned about, removed with removeOrphans; by project name everything goes", () => {
    const { d, actual } = running();
    const orphan = container("shop", "legacy", 1);
    const other = container("other", "x", 1);
    const a: ActualState = { ...actual, containers: [...actual.containers, orphan, other] };
    const keep = planDown(d, a);
    expect(keep.steps.some((s) => s.id === `remove:${orphan.id}`)).toBe(false);
    expect(keep.warnings.join()).toContain("shop-legacy-1");
    const rm = planDown(d, a, { removeOrphans: true });
    expect(rm.steps.find((s) => s.id === `remove:${orphan.id}`)?.reason.code).toBe("orphan");
    const byName = planDown("shop", a);
    expect(ofKind(byName, "removeContainer")).toHaveLength(6);
    expect(byName.steps.some((s) => "container" in s && s.container.name === other.name)).toBe(false);
  });

  test("by project name, stop order comes from the depends_on labels", () => {
    const db = container("p", "db", 1);
    const web = container("p", "web", 1, { labels: { [LABEL.dependsOn]: "db:service_healthy:false" } });
    const p = planDown("p", { ...EMPTY, containers: [db, web] });
    expect(runsAfter(p, `stop:${db.id}`, `stop:${web.id}`)).toBe(true);
  });
});

describe("planStop / planStart / planRestart", () => {
  test("stop: dependents first; only the named services", () => {
    const { d, actual, c } = running();
    const all = planStop(d, actual);
    expect(runsAfter(all, `stop:${c("shop-db-1").id}`, `stop:${c("shop-web-1").id}`)).toBe(true);
    const one = planStop(d, actual, ["web"]);
    expect(ofKind(one, "stopContainer").map((s) => s.container.name)).toEqual(["shop-web-1", "shop-web-2"]);
    expect(() => planStop(d, actual, ["nope"])).toThrow("no such service");
  });

  test("start: starts stopped containers behind their conditions", () => {
    const { d, actual, c } = running();
    const stopped = applyPlanToActual(planStop(d, actual), actual, { project: "shop", desired: d });
    const p = planStart(d, stopped);
    assertWellFormed(p);
    expect(ofKind(p, "startContainer")).toHaveLength(5);
    expect(runsAfter(p, "start:shop-web-1", "wait:db:service_healthy")).toBe(true);
    expect(runsAfter(p, "wait:db:service_healthy", "start:shop-db-1")).toBe(true);
    expect(runsAfter(p, "start:shop-proxy-1", "start:shop-web-2")).toBe(true);
    expect(c("shop-db-1").state).toBe("running");
    expect(planStart(d, actual).steps.filter((s) => s.kind === "startContainer").map((s) => s.id)).toEqual([
      "start:shop-migrate-1",
    ]);
  });

  test("restart: includes restart:true dependents unless noDeps", () => {
    const { d, actual, c } = running();
    const p = planRestart(d, actual, ["web"]);
    assertWellFormed(p);
    expect(ofKind(p, "startContainer").map((s) => s.container.name).sort()).toEqual([
      "shop-proxy-1",
      "shop-web-1",
      "shop-web-2",
    ]);
    expect(runsAfter(p, `stop:${c("shop-web-1").id}`, `stop:${c("shop-proxy-1").id}`)).toBe(true);
    expect(runsAfter(p, "start:shop-proxy-1", "start:shop-web-1")).toBe(true);
    expect(runsAfter(p, "start:shop-web-1", `stop:${c("shop-web-1").id}`)).toBe(true);
    const noDeps = planRestart(d, actual, ["web"], { noDeps: true });
    expect(ofKind(noDeps, "startContainer").map((s) => s.container.name)).toEqual(["shop-web-1", "shop-web-2"]);
  });
});

describe("describePlan", () => {
  test("renders recreates as one line with the reason", () => {
    const { d, actual } = running();
    const d2 = {
      ...d,
      services: d.services.map((s) =>
        s.name === "db" ? { ...s, configHash: "new", configFields: { image: "aaaa", environment: "zzzz" } } : s,
      ),
    };
    const lines = describePlan(plan(d2, { ...actual, containers: [...actual.containers, container("shop", "old", 1)] }));
    expect(lines).toContain("Container shop-db-1  Recreate (config changed: environment)");
    expect(lines).toContain("Container shop-db-1  Start");
    expect(lines.filter((l) => l.startsWith("Container shop-db-1"))).toHaveLength(2);
    // nothing starts after db (web keeps running, migrate is a finished job), so no gate
    expect(lines.some((l) => l.startsWith("Service db  Wait"))).toBe(false);
    expect(lines.at(-1)).toStartWith("WARN Found orphan containers (shop-old-1)");
  });

  test("fresh up lines", () => {
    const lines = describePlan(plan(threeTier(), EMPTY));
    expect(lines.slice(0, 2)).toEqual(["Network shop_default  Create", "Volume shop_data  Create"]);
    expect(lines).toContain("Image img/db:1  Pull");
    expect(lines).toContain("Container shop-web-2  Create");
    expect(lines).toContain("Service migrate  Wait (completed successfully, for web)");
  });
});

describe("planRestartContainers", () => {
  test("stop+start per container, independent of each other", () => {
    const { actual, c } = running();
    const a = c("shop-web-1");
    const b = c("shop-web-2");
    const p = planRestartContainers(actual, [a.id, b.id, "nope"], { code: "health-policy", detail: "unhealthy; restart 1/3" });
    expect(p.steps.map((s) => s.id)).toEqual([`stop:${a.id}`, `start:${a.name}`, `stop:${b.id}`, `start:${b.name}`]);
    expect(runsAfter(p, `start:${b.name}`, `stop:${a.id}`)).toBe(false);
    expect(describePlan(p)).toContain("Container shop-web-1  Start (unhealthy; restart 1/3)");
  });
});
