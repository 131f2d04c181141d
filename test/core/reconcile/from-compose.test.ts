import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { desiredFromCompose, restartPolicyOf } from "../../../core/reconcile/from-compose.ts";
import { describePlan } from "../../../core/reconcile/describe.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import { EMPTY } from "./fixtures.ts";
import { applyPlanToActual } from "./simulate.ts";

function load(text: string): Project {
  const r = loadProject({
    cwd: "/p",
    projectName: "shop",
    env: {},
    reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) },
  });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.project || errors.length > 0) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

const STACK = `
services:
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data]
    healthcheck: { test: ["CMD", "pg_isready"], interval: 1s }
    environment: { POSTGRES_PASSWORD: x }
    deploy: { restart_policy: { condition: on-failure, delay: 5s, max_attempts: 3, window: 2m } }
  web:
    build: ./web
    deploy: { replicas: 2 }
    depends_on:
      db: { condition: service_healthy, restart: true }
    environment: { DB: db }
  tool:
    image: busybox
    profiles: [tools]
    network_mode: none
volumes:
  data: {}
`;

describe("desiredFromCompose", () => {
  test("maps a compose project onto the planner's input", () => {
    const project = load(STACK);
    const d = desiredFromCompose(project, { create: (s) => ({ image: s.image ?? null }) });
    expect(d.name).toBe("shop");
    expect(d.networks.map((n) => n.name)).toEqual(["shop_default"]);
    expect(d.volumes.map((v) => v.name)).toEqual(["shop_data"]);
    const web = d.services.find((s) => s.name === "web")!;
    expect(web).toMatchObject({
      replicas: 2,
      image: "shop-web",
      hasBuild: true,
      networks: ["default"],
      dependsOn: [{ service: "db", condition: "service_healthy", required: true, restart: true }],
    });
    const db = d.services.find((s) => s.name === "db")!;
    expect(db).toMatchObject({ volumes: ["data"], hasHealthcheck: true, create: { image: "postgres:16" } });
    expect(db.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(d.services.some((s) => s.name === "tool")).toBe(false);
    // Left out by its profile, it is still the file's: the planner does not call its container an orphan.
    expect(d.disabledServices).toEqual(["tool"]);
    const withTool = desiredFromCompose(project, { targets: ["tool"] });
    expect(withTool.services.find((s) => s.name === "tool")?.networks).toEqual([]);
    expect(withTool.disabledServices).toBeUndefined();
  });

  test("an environment change recreates only that service and names the field", () => {
    const before = desiredFromCompose(load(STACK));
    const actual = applyPlanToActual(plan(before, EMPTY), EMPTY, { project: "shop", desired: before });
    expect(plan(before, actual).steps).toEqual([]);
    const after = desiredFromCompose(load(STACK.replace("DB: db", "DB: db2")));
    const lines = describePlan(plan(after, actual));
    expect(lines).toContain("Container shop-web-1  Recreate (config changed: environment)");
    expect(lines.some((l) => l.includes("shop-db-1"))).toBe(false);
    // scaling alone changes no hash
    const scaled = desiredFromCompose(load(STACK.replace("replicas: 2", "replicas: 3")));
    expect(plan(scaled, actual).steps.filter((s) => s.kind === "createContainer").map((s) => s.reason.code)).toEqual([
      "scale-up",
    ]);
  });

  test("implicit dependencies from network_mode / volumes_from / links", () => {
    const d = desiredFromCompose(
      load(`
services:
  vpn: { image: vpn }
  data: { image: busybox }
  app:
    image: app
    network_mode: "service:vpn"
    volumes_from: ["data:ro"]
  web:
    image: web
    links: ["app:backend"]
    depends_on: { app: { condition: service_healthy } }
`),
    );
    const app = d.services.find((s) => s.name === "app")!;
    expect(app.dependsOn.map((x) => [x.service, x.condition])).toEqual([
      ["data", "service_started"],
      ["vpn", "service_started"],
    ]);
    expect(app.recreateWith).toEqual(["data", "vpn"]);
    expect(app.networks).toEqual([]);
    const web = d.services.find((s) => s.name === "web")!;
    expect(web.dependsOn.map((x) => [x.service, x.condition])).toEqual([["app", "service_healthy"]]);
    expect(web.recreateWith).toBeUndefined();
  });

  test("restart policy in ms", () => {
    const db = load(STACK).services["db"]!;
    expect(restartPolicyOf(db)).toEqual({ condition: "on-failure", delayMs: 5000, maxAttempts: 3, windowMs: 120_000 });
  });

  test("on-failure:N carries the engine's retry limit; on-failure and N = 0 do not", () => {
    const d = desiredFromCompose(load("services:\n  a: { image: busybox, restart: \"on-failure:2\" }\n  b: { image: busybox, restart: on-failure }\n  c: { image: busybox, restart: \"on-failure:0\" }\n"));
    const by = (n: string) => d.services.find((s) => s.name === n)!;
    expect([by("a").restart, by("a").restartRetries]).toEqual(["on-failure", 2]);
    expect([by("b").restart, by("b").restartRetries]).toEqual(["on-failure", undefined]);
    expect([by("c").restart, by("c").restartRetries]).toEqual(["on-failure", undefined]);
  });
});
