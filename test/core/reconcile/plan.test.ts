import { describe, expect, test } from "bun:test";
import { FizzError } from "../../../core/errors.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import type { ActualState, Plan, Step } from "../../../core/reconcile/types.ts";
import { EMPTY, container, dep, project, svc, threeTier } from "./fixtures.ts";
import { applyPlanToActual, assertWellFormed, runsAfter } from "./simulate.ts";

const ids = (p: Plan<unknown>) => p.steps.map((s) => s.id);
const ofKind = <K extends Step["kind"]>(p: Plan<unknown>, kind: K) =>
  p.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind);

function upTwice(d = threeTier()) {
  const first = plan(d, EMPTY);
  const actual = applyPlanToActual(first, EMPTY, { project: d.name, desired: d });
  return { d, first, actual };
}

describe("plan: fresh up of a 3-tier stack", () => {
  const { first: p } = upTwice();

  test("creates network, volume, pulls each image once, every container", () => {
    assertWellFormed(p);
    expect(ofKind(p, "createNetwork").map((s) => s.network.name)).toEqual(["shop_default"]);
    expect(ofKind(p, "createVolume").map((s) => s.volume.name)).toEqual(["shop_data"]);
    expect(ofKind(p, "pullImage").map((s) => s.image).sort()).toEqual(
      ["img/db:1", "img/migrate:1", "img/proxy:1", "img/web:1"],
    );
    expect(ofKind(p, "createContainer").map((s) => s.name)).toEqual([
      "shop-db-1",
      "shop-migrate-1",
      "shop-web-1",
      "shop-web-2",
      "shop-proxy-1",
    ]);
    expect(ofKind(p, "createContainer")[0]!.create).toEqual({ marker: "db" });
    expect(p.warnings).toEqual([]);
  });

  test("honours depends_on conditions in the DAG", () => {
    expect(runsAfter(p, "create:shop-db-1", "network:create:shop_default")).toBe(true);
    expect(runsAfter(p, "create:shop-db-1", "volume:create:shop_data")).toBe(true);
    expect(runsAfter(p, "create:shop-db-1", "pull:img/db:1")).toBe(true);
    expect(runsAfter(p, "wait:db:service_healthy", "start:shop-db-1")).toBe(true);
    expect(runsAfter(p, "start:shop-migrate-1", "wait:db:service_healthy")).toBe(true);
    expect(runsAfter(p, "wait:migrate:service_completed_successfully", "start:shop-migrate-1")).toBe(true);
    for (const w of ["shop-web-1", "shop-web-2"]) {
      expect(runsAfter(p, `start:${w}`, "wait:db:service_healthy")).toBe(true);
      expect(runsAfter(p, `start:${w}`, "wait:migrate:service_completed_successfully")).toBe(true);
      expect(runsAfter(p, "start:shop-proxy-1", `start:${w}`)).toBe(true);
    }
    // service_started needs no gate step
    expect(ids(p).some((i) => i.startsWith("wait:web:"))).toBe(false);
    // independent steps stay parallel: the two web containers do not wait for each other
    expect(runsAfter(p, "start:shop-web-2", "start:shop-web-1")).toBe(false);
    expect(runsAfter(p, "create:shop-web-2", "create:shop-web-1")).toBe(false);
  });

  test("waitFor records its dependents", () => {
    const w = ofKind(p, "waitFor").find((s) => s.id === "wait:db:service_healthy")!;
    expect([...w.dependents].sort()).toEqual(["migrate", "web"]);
    expect(w.required).toBe(true);
  });
});

describe("plan: convergence", () => {
  test("second up is empty", () => {
    const { d, actual } = upTwice();
    const again = plan(d, actual);
    expect(again.steps).toEqual([]);
    expect(again.warnings).toEqual([]);
  });

  test("a finished job (exit 0, unchanged) is not run again; a failed one is", () => {
    const { d, actual } = upTwice();
    const mig = actual.containers.find((c) => c.service === "migrate")!;
    expect(mig.state).toBe("exited");
    expect(plan(d, actual).steps).toEqual([]);
    const failed: ActualState = {
      ...actual,
      containers: actual.containers.map((c) => (c === mig ? { ...c, exitCode: 1 } : c)),
    };
    const p = plan(d, failed);
    expect(ids(p)).toContain(`start:${mig.name}`);
    expect(p.steps.find((s) => s.id === `start:${mig.name}`)!.reason).toEqual({ code: "exited", detail: "exit code 1" });
  });

  test("an exited container of an unchanged service is started again", () => {
    const { d, actual } = upTwice();
    const web1 = actual.containers.find((c) => c.name === "shop-web-1")!;
    const a: ActualState = {
      ...actual,
      containers: actual.containers.map((c) => (c === web1 ? { ...c, state: "exited", exitCode: 137 } : c)),
    };
    const p = plan(d, a);
    expect(ofKind(p, "startContainer").map((s) => s.container.id)).toEqual([web1.id]);
    expect(ofKind(p, "createContainer")).toEqual([]);
    // the start is still gated on its dependencies' conditions
    expect(runsAfter(p, "start:shop-web-1", "wait:db:service_healthy")).toBe(true);
    // with the agent's policy mode and restart: "no", it is left alone
    expect(plan(d, a, { startExited: "policy" }).steps).toEqual([]);
    const always = { ...d, services: d.services.map((s) => (s.name === "web" ? { ...s, restart: "always" as const } : s)) };
    expect(ofKind(plan(always, a, { startExited: "policy" }), "startContainer")).toHaveLength(1);
    // on-failure: a failed exit is started again; with a retry limit (on-failure:N) the engine
    // retried and gave up, and a start here would reset its count and loop forever
    const onFailure = (retries?: number) => ({ ...d, services: d.services.map((s) => (s.name === "web" ? { ...s, restart: "on-failure" as const, ...(retries ? { restartRetries: retries } : {}) } : s)) });
    expect(ofKind(plan(onFailure(), a, { startExited: "policy" }), "startContainer")).toHaveLength(1);
    expect(plan(onFailure(2), a, { startExited: "policy" }).steps).toEqual([]);
  });
});

describe("plan: changes", () => {
  test("env change of one service recreates only it, plus restart:true dependents", () => {
    const { d, actual } = upTwice();
    const d2 = {
      ...d,
      services: d.services.map((s) =>
        s.name === "web" ? { ...s, configHash: "h-web-2", configFields: { image: "cccc", environment: "eeee" } } : s,
      ),
    };
    const p = plan(d2, actual);
    assertWellFormed(p);
    const created = ofKind(p, "createContainer");
    expect(created.map((s) => s.name)).toEqual(["shop-web-1", "shop-web-2"]);
    expect(created[0]!.reason).toEqual({ code: "config-changed", detail: "environment" });
    expect(created[0]!.replaces?.name).toBe("shop-web-1");
    const oldWeb1 = actual.containers.find((c) => c.name === "shop-web-1")!;
    // stop → rename → create → start → remove old (the old one stays until its replacement started, for a rollback)
    expect(runsAfter(p, `rename:${oldWeb1.id}`, `stop:${oldWeb1.id}`)).toBe(true);
    expect(runsAfter(p, "create:shop-web-1", `rename:${oldWeb1.id}`)).toBe(true);
    expect(runsAfter(p, "start:shop-web-1", "create:shop-web-1")).toBe(true);
    expect(runsAfter(p, `remove:${oldWeb1.id}`, "start:shop-web-1")).toBe(true);
    // db and migrate untouched
    for (const s of p.steps) {
      if ("container" in s) expect(["web", "proxy"]).toContain(s.container.service);
      if (s.kind === "createContainer") expect(s.service).toBe("web");
    }
    // proxy (restart: true on web) is stopped before web goes, started after web is back
    const proxy = actual.containers.find((c) => c.service === "proxy")!;
    expect(p.steps.find((s) => s.id === `stop:${proxy.id}`)!.reason).toEqual({ code: "dependency-recreated", detail: "web" });
    expect(runsAfter(p, `stop:${oldWeb1.id}`, `stop:${proxy.id}`)).toBe(true);
    expect(runsAfter(p, `start:${proxy.name}`, "start:shop-web-1")).toBe(true);
    expect(runsAfter(p, `start:${proxy.name}`, "start:shop-web-2")).toBe(true);
    // and it converges
    const after = applyPlanToActual(p, actual, { project: "shop", desired: d2 });
    expect(plan(d2, after).steps).toEqual([]);
  });

  test("network_mode/volumes_from dependents are recreated with their target", () => {
    const d = project("p", [svc("vpn"), svc("app", { dependsOn: [dep("vpn")], recreateWith: ["vpn"], networks: [] })]);
    const actual = applyPlanToActual(plan(d, EMPTY), EMPTY, { project: "p", desired: d });
    const d2 = { ...d, services: d.services.map((s) => (s.name === "vpn" ? { ...s, configHash: "new" } : s)) };
    const p = plan(d2, actual);
    const creates = ofKind(p, "createContainer");
    expect(creates.map((s) => [s.name, s.reason.code])).toEqual([
      ["p-vpn-1", "config-changed"],
      ["p-app-1", "dependency-recreated"],
    ]);
    expect(runsAfter(p, "create:p-app-1", "create:p-vpn-1")).toBe(true);
    expect(plan(d2, applyPlanToActual(p, actual, { project: "p", desired: d2 })).steps).toEqual([]);
  });

  test("without restart:true the dependent is left running", () => {
    const d = project("p", [svc("a"), svc("b", { dependsOn: [dep("a")] })]);
    const actual = applyPlanToActual(plan(d, EMPTY), EMPTY, { project: "p", desired: d });
    const d2 = { ...d, services: d.services.map((s) => (s.name === "a" ? { ...s, configHash: "new" } : s)) };
    const p = plan(d2, actual);
    expect(p.steps.every((s) => !("container" in s) || s.container.service === "a")).toBe(true);
    expect(p.steps.some((s) => s.kind === "createContainer" && s.service === "b")).toBe(false);
  });

  test("image id moved → recreate with image-changed", () => {
    const { d, actual } = upTwice();
    const a: ActualState = {
      ...actual,
      images: actual.images.map((i) => (i.ref === "img/db:1" ? { ...i, id: "img:new" } : i)),
    };
    const p = plan(d, a);
    const c = ofKind(p, "createContainer");
    expect(c.map((s) => s.name)).toEqual(["shop-db-1"]);
    expect(c[0]!.reason.code).toBe("image-changed");
  });

  test("forceRecreate recreates everything in scope; noRecreate ignores changed hashes", () => {
    const { d, actual } = upTwice();
    const p = plan(d, actual, { forceRecreate: true });
    expect(ofKind(p, "createContainer")).toHaveLength(5);
    expect(ofKind(p, "createContainer").every((s) => s.reason.code === "force-recreate")).toBe(true);
    const d2 = { ...d, services: d.services.map((s) => ({ ...s, configHash: s.configHash + "x" })) };
    expect(plan(d2, actual, { noRecreate: true }).steps).toEqual([]);
  });
});

describe("plan: scale", () => {
  const d = project("p", [svc("w", { replicas: 3 })]);

  test("3 → 1 removes the highest numbers", () => {
    const actual = applyPlanToActual(plan(d, EMPTY), EMPTY, { project: "p", desired: d });
    const p = plan(d, actual, { scale: { w: 1 } });
    expect(ofKind(p, "removeContainer").map((s) => s.container.name)).toEqual(["p-w-2", "p-w-3"]);
    expect(ofKind(p, "stopContainer").map((s) => s.container.name)).toEqual(["p-w-2", "p-w-3"]);
    expect(p.steps.every((s) => s.reason.code === "scale-down")).toBe(true);
    const after = applyPlanToActual(p, actual, { project: "p", desired: d });
    expect(after.containers.map((c) => c.name)).toEqual(["p-w-1"]);
    expect(plan(d, after, { scale: { w: 1 } }).steps).toEqual([]);
  });

  test("1 → 3 fills gaps from 1", () => {
    const actual: ActualState = { ...EMPTY, networks: [{ name: "p_default" }], images: [{ ref: "img/w:1", id: "i" }], containers: [container("p", "w", 2)] };
    const p = plan(d, actual);
    expect(ofKind(p, "createContainer").map((s) => [s.name, s.number, s.reason.code])).toEqual([
      ["p-w-1", 1, "scale-up"],
      ["p-w-3", 3, "scale-up"],
    ]);
  });

  test("scale to 0 removes all and creates nothing", () => {
    const actual = applyPlanToActual(plan(d, EMPTY), EMPTY, { project: "p", desired: d });
    const p = plan(d, actual, { scale: { w: 0 } });
    expect(ofKind(p, "removeContainer")).toHaveLength(3);
    expect(ofKind(p, "createContainer")).toHaveLength(0);
  });

  test("duplicates of one number keep the running one", () => {
    const a = container("p", "w", 1, { state: "exited", id: "dup-old" });
    const b = container("p", "w", 1, { state: "running", id: "dup-new", name: "zz_p-w-1" });
    const d1 = project("p", [svc("w")]);
    const actual: ActualState = { ...EMPTY, networks: [{ name: "p_default" }], images: [{ ref: "img/w:1", id: "i" }], containers: [a, b] };
    const p = plan(d1, actual);
    expect(ids(p)).toEqual(["remove:dup-old"]);
    expect(p.steps[0]!.reason.code).toBe("duplicate");
  });

  test("container_name with replicas > 1 is an error", () => {
    const bad = project("p", [svc("w", { containerName: "fixed", replicas: 2 })]);
    expect(() => plan(bad, EMPTY)).toThrow(FizzError);
    const ok = project("p", [svc("w", { containerName: "fixed" })]);
    expect(ofKind(plan(ok, EMPTY), "createContainer")[0]!.name).toBe("fixed");
  });
});

describe("plan: orphans, targets, --no-deps", () => {
  test("orphans only removed with removeOrphans, else a warning", () => {
    const { d, actual } = upTwice();
    const orphan = container("shop", "old", 1);
    const oneoff = container("shop", "gone", 1, { oneoff: true });
    const other = container("elsewhere", "x", 1);
    const a: ActualState = { ...actual, containers: [...actual.containers, orphan, oneoff, other] };
    const keep = plan(d, a);
    expect(keep.steps).toEqual([]);
    expect(keep.warnings.join("\n")).toContain("shop-old-1");
    expect(keep.warnings.join("\n")).toContain("--remove-orphans");
    const rm = plan(d, a, { removeOrphans: true });
    expect(ids(rm)).toEqual([`stop:${orphan.id}`, `remove:${orphan.id}`]);
    expect(rm.steps.every((s) => s.reason.code === "orphan")).toBe(true);
  });

  test("a service its profiles disable is no orphan: neither warned about nor removed by removeOrphans (compose-go's isOrphaned)", () => {
    // `fizz --profile debug up -d`, then `fizz up -d`: tools keeps running, as with docker compose.
    const { d, actual } = upTwice();
    const tools = container("shop", "tools", 1);
    const a: ActualState = { ...actual, containers: [...actual.containers, tools] };
    const withDisabled = { ...d, disabledServices: ["tools"] };
    const keep = plan(withDisabled, a);
    expect(keep.steps).toEqual([]);
    expect(keep.warnings).toEqual([]);
    expect(plan(withDisabled, a, { removeOrphans: true }).steps).toEqual([]);
    // A revert that drops it still removes it.
    expect(ids(plan(withDisabled, a, { removeServices: ["tools"] }))).toEqual([`stop:${tools.id}`, `remove:${tools.id}`]);
  });

  test("a revert removes what the failed change added, and nothing else it was not asked to", () => {
    const { d, actual } = upTwice();
    const added = container("shop", "added", 1);
    const older = container("shop", "old", 1);
    const a: ActualState = { ...actual, containers: [...actual.containers, added, older] };
    const p = plan(d, a, { removeServices: ["added"] });
    expect(ids(p)).toEqual([`stop:${added.id}`, `remove:${added.id}`]);
    expect(p.warnings.join("\n")).toContain("shop-old-1");
  });

  test("targets bring their dependencies, not their dependents", () => {
    const p = plan(threeTier(), EMPTY, { services: ["web"] });
    const svcs = new Set(ofKind(p, "createContainer").map((s) => s.service));
    expect([...svcs].sort()).toEqual(["db", "migrate", "web"]);
  });

  test("--no-deps skips dependencies and their gates", () => {
    const p = plan(threeTier(), EMPTY, { services: ["web"], noDeps: true });
    expect(ofKind(p, "createContainer").map((s) => s.name)).toEqual(["shop-web-1", "shop-web-2"]);
    expect(ofKind(p, "waitFor")).toEqual([]);
    expect(ofKind(p, "createVolume")).toEqual([]); // only db uses the volume
  });

  test("unknown target is a FizzError with a suggestion", () => {
    try {
      plan(threeTier(), EMPTY, { services: ["webb"] });
      throw new Error("expected a throw");
    } catch (e) {
      expect(e).toBeInstanceOf(FizzError);
      expect((e as FizzError).code).toBe("reconcile.unknown_service");
      expect((e as FizzError).hint).toContain("web");
    }
  });

  test("required:false dependency missing → skipped with a warning; required → error", () => {
    const opt = project("p", [svc("a", { dependsOn: [dep("ghost", "service_healthy", { required: false })] })]);
    const p = plan(opt, EMPTY);
    expect(p.warnings.join()).toContain("ghost");
    expect(ofKind(p, "waitFor")).toEqual([]);
    const req = project("p", [svc("a", { dependsOn: [dep("ghost")] })]);
    expect(() => plan(req, EMPTY)).toThrow("undefined service ghost");
  });

  test("dependency cycles are reported", () => {
    const cyc = project("p", [svc("a", { dependsOn: [dep("b")] }), svc("b", { dependsOn: [dep("a")] })]);
    expect(() => plan(cyc, EMPTY)).toThrow("dependency cycle");
  });
});

describe("plan: networks, volumes, images", () => {
  test("external networks/volumes are never created; missing ones warn", () => {
    const d = project("p", [svc("a", { networks: ["ext"], volumes: ["shared"] })], {
      networks: [{ key: "ext", name: "corp", external: true }],
      volumes: [{ key: "shared", name: "shared", external: true }],
    });
    const p = plan(d, EMPTY);
    expect(ofKind(p, "createNetwork")).toEqual([]);
    expect(ofKind(p, "createVolume")).toEqual([]);
    expect(p.warnings.join("\n")).toContain("corp");
    expect(p.warnings.join("\n")).toContain("shared");
    const present = plan(d, { ...EMPTY, networks: [{ name: "corp" }], volumes: [{ name: "shared" }] });
    expect(present.warnings).toEqual([]);
  });

  test("a network of another project with our name is warned about", () => {
    const d = project("p", [svc("a")]);
    const p = plan(d, { ...EMPTY, networks: [{ name: "p_default", project: "q" }] });
    expect(ofKind(p, "createNetwork")).toEqual([]);
    expect(p.warnings.join()).toContain("belongs to project q");
  });

  test("networks only used by services out of scope are not created", () => {
    const d = project("p", [svc("a"), svc("b", { networks: ["back"] })], {
      networks: [
        { key: "default", name: "p_default", external: false },
        { key: "back", name: "p_back", external: false },
      ],
    });
    expect(ofKind(plan(d, EMPTY, { services: ["a"] }), "createNetwork").map((s) => s.network.name)).toEqual(["p_default"]);
  });

  test("pull policies and builds", () => {
    const d = project("p", [
      svc("a", { image: "shared:1" }),
      svc("b", { image: "shared:1" }),
      svc("c", { pullPolicy: "never" }),
      svc("d", { pullPolicy: "always" }),
      svc("e", { hasBuild: true, image: "p-e" }),
    ]);
    const p = plan(d, { ...EMPTY, images: [{ ref: "img/d:1", id: "x" }] });
    const pulls = ofKind(p, "pullImage");
    expect(pulls.map((s) => [s.image, [...s.services]])).toEqual([
      ["shared:1", ["a", "b"]],
      ["img/d:1", ["d"]],
    ]);
    expect(pulls[1]!.reason.code).toBe("pull-policy");
    expect(ofKind(p, "buildImage").map((s) => s.service)).toEqual(["e"]);
    expect(p.warnings.join()).toContain("img/c:1");
    // `nginx` and `nginx:latest` are the same image
    const n = project("p", [svc("a", { image: "nginx" })]);
    expect(ofKind(plan(n, { ...EMPTY, images: [{ ref: "nginx:latest", id: "i" }] }), "pullImage")).toEqual([]);
    // --pull never / --no-build
    expect(ofKind(plan(d, EMPTY, { pull: "never", build: false }), "pullImage")).toEqual([]);
    expect(ofKind(plan(d, EMPTY, { pull: "never", build: false }), "buildImage")).toEqual([]);
  });

  test("an image Fizz built with other build settings is built again; one without the label, or built with these, is not", () => {
    const d = project("p", [svc("e", { hasBuild: true, image: "p-e", buildHash: "new" })]);
    const built = (h?: string) => ({ ...EMPTY, images: [{ ref: "p-e", id: "sha256:e", ...(h ? { buildHash: h } : {}) }] });
    const stale = ofKind(plan(d, built("old")), "buildImage");
    expect(stale.map((s) => [s.service, s.reason.code])).toEqual([["e", "build-changed"]]);
    expect(ofKind(plan(d, built("new")), "buildImage")).toEqual([]);
    // Built by another tool (or an older Fizz): run as it is, as Compose does, until --build.
    expect(ofKind(plan(d, built()), "buildImage")).toEqual([]);
    expect(ofKind(plan(d, built(), { build: true }), "buildImage").map((s) => s.reason.code)).toEqual(["build"]);
    // --no-build keeps the stale image.
    expect(ofKind(plan(d, built("old"), { build: false }), "buildImage")).toEqual([]);
  });
});

describe("plan: --force-recreate with targets", () => {
  test("recreates the targets only; dependencies too with alwaysRecreateDeps", () => {
    const d = threeTier();
    const actual = applyPlanToActual(plan(d, EMPTY), EMPTY, { project: "shop", desired: d });
    const t = plan(d, actual, { services: ["web"], forceRecreate: true });
    expect(new Set(ofKind(t, "createContainer").map((s) => s.service))).toEqual(new Set(["web"]));
    const all = plan(d, actual, { services: ["web"], forceRecreate: true, alwaysRecreateDeps: true });
    expect(new Set(ofKind(all, "createContainer").map((s) => s.service))).toEqual(new Set(["web", "db", "migrate"]));
  });
});
