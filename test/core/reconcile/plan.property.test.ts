import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { plan } from "../../../core/reconcile/plan.ts";
import type {
  ActualContainer,
  ActualState,
  DesiredProject,
  DesiredService,
  PlanOptions,
} from "../../../core/reconcile/types.ts";
import { applyPlanToActual, assertWellFormed, runsAfter } from "./simulate.ts";

const NAMES = ["a", "b", "c", "d", "e"];
const CONDITIONS = ["service_started", "service_healthy", "service_completed_successfully"] as const;

/** Services a..e where each may depend only on earlier ones (no cycles). */
const desiredArb: fc.Arbitrary<DesiredProject<unknown>> = fc
  .integer({ min: 1, max: 5 })
  .chain((count) =>
    fc.tuple(
      ...NAMES.slice(0, count).map((name, i) =>
        fc.record({
          replicas: fc.integer({ min: 0, max: 3 }),
          hash: fc.constantFrom("h1", "h2"),
          health: fc.boolean(),
          restart: fc.constantFrom("no", "always", "on-failure", "unless-stopped") as fc.Arbitrary<DesiredService["restart"]>,
          deps: fc.subarray(NAMES.slice(0, i)).chain((ds) =>
            fc.tuple(
              ...ds.map((d) =>
                fc.record({
                  service: fc.constant(d),
                  condition: fc.constantFrom(...CONDITIONS),
                  required: fc.boolean(),
                  restart: fc.boolean(),
                }),
              ),
            ),
          ),
          name: fc.constant(name),
          linked: fc.boolean(),
        }),
      ),
    ),
  )
  .map((specs) => ({
    name: "p",
    networks: [{ key: "default", name: "p_default", external: false }],
    volumes: [],
    services: specs.map((s) => ({
      name: s.name,
      replicas: s.replicas,
      configHash: s.hash,
      image: `img/${s.name}`,
      pullPolicy: "missing" as const,
      hasBuild: false,
      dependsOn: s.deps,
      networks: ["default"],
      volumes: [],
      hasHealthcheck: s.health,
      restart: s.restart,
      // some started-dependencies are container-linked (network_mode: service:x)
      ...(s.linked ? { recreateWith: s.deps.filter((d) => d.condition === "service_started").map((d) => d.service) } : {}),
    })),
  }));

const containerArb: fc.Arbitrary<Omit<ActualContainer, "id" | "name">> = fc.record({
  project: fc.constantFrom("p", "p", "p", "other"),
  service: fc.constantFrom(...NAMES, "orphan"),
  number: fc.integer({ min: 1, max: 4 }),
  configHash: fc.constantFrom("h1", "h2"),
  state: fc.constantFrom("created", "running", "paused", "restarting", "exited", "dead", "removing") as fc.Arbitrary<ActualContainer["state"]>,
  exitCode: fc.constantFrom(0, 1, 137),
  health: fc.constantFrom("none", "starting", "healthy", "unhealthy") as fc.Arbitrary<ActualContainer["health"]>,
  oneoff: fc.boolean().map((b) => b && false),
});

const actualArb: fc.Arbitrary<ActualState> = fc
  .record({
    containers: fc.array(containerArb, { maxLength: 10 }),
    hasNet: fc.boolean(),
    images: fc.subarray(NAMES),
  })
  .map(({ containers, hasNet, images }) => ({
    // Unique names the way the engine enforces them: duplicates of a number carry a rename prefix.
    containers: containers.map((c, i) => ({ ...c, id: `a${i}`, name: `${i}_${c.project}-${c.service}-${c.number}` })),
    networks: hasNet ? [{ name: "p_default", project: "p", key: "default" }] : [],
    volumes: [],
    images: images.map((n) => ({ ref: `img/${n}`, id: `img:img/${n}` })),
  }));

const optionsArb: fc.Arbitrary<PlanOptions> = fc.record(
  {
    forceRecreate: fc.boolean(),
    noDeps: fc.boolean(),
    removeOrphans: fc.boolean(),
    services: fc.subarray(NAMES, { maxLength: 2 }),
    startExited: fc.constantFrom("always", "policy") as fc.Arbitrary<"always" | "policy">,
  },
  { requiredKeys: [] },
);

describe("plan: properties", () => {
  test("applying a plan then planning again gives an empty plan", () => {
    fc.assert(
      fc.property(desiredArb, actualArb, optionsArb, (desired, actual, opts0) => {
        const known = new Set(desired.services.map((s) => s.name));
        const opts = { ...opts0, services: (opts0.services ?? []).filter((s) => known.has(s)) };
        const p = plan(desired, actual, opts);
        assertWellFormed(p);
        const after = applyPlanToActual(p, actual, { project: "p", desired });
        const again = plan(desired, after, { ...opts, forceRecreate: false });
        expect(again.steps.map((s) => s.id)).toEqual([]);

        // Every service in scope has exactly its replicas, distinct numbers, the desired hash.
        const targets = opts.services.length > 0 ? new Set(opts.services) : known;
        for (const s of desired.services) {
          if (!targets.has(s.name)) continue;
          const mine = after.containers.filter(
            (c) => c.project === "p" && c.service === s.name && !c.oneoff && c.state !== "removing",
          );
          expect(new Set(mine.map((c) => c.number)).size).toBe(s.replicas);
          expect(mine.length).toBe(s.replicas);
          expect(mine.every((c) => c.configHash === s.configHash)).toBe(true);
        }
        // Other projects are never touched.
        expect(after.containers.filter((c) => c.project === "other")).toEqual(
          actual.containers.filter((c) => c.project === "other"),
        );
      }),
      { numRuns: 400 },
    );
  });

  test("every start runs after its dependencies' starts or gates", () => {
    fc.assert(
      fc.property(desiredArb, actualArb, fc.boolean(), (desired, actual, force) => {
        const p = plan(desired, actual, { forceRecreate: force });
        const byName = new Map(desired.services.map((s) => [s.name, s]));
        for (const step of p.steps) {
          if (step.kind !== "startContainer") continue;
          for (const dep of byName.get(step.container.service)!.dependsOn) {
            if (byName.get(dep.service)!.replicas === 0) continue;
            if (dep.condition === "service_started") {
              for (const other of p.steps) {
                if (other.kind === "startContainer" && other.container.service === dep.service) {
                  expect(runsAfter(p, step.id, other.id)).toBe(true);
                }
              }
            } else {
              expect(runsAfter(p, step.id, `wait:${dep.service}:${dep.condition}`)).toBe(true);
            }
          }
        }
        // creates come after the creates of their dependencies
        for (const step of p.steps) {
          if (step.kind !== "createContainer") continue;
          for (const dep of byName.get(step.service)!.dependsOn) {
            for (const other of p.steps) {
              if (other.kind === "createContainer" && other.service === dep.service) {
                expect(runsAfter(p, step.id, other.id)).toBe(true);
              }
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test("plans are deterministic", () => {
    fc.assert(
      fc.property(desiredArb, actualArb, (desired, actual) => {
        expect(plan(desired, actual)).toEqual(plan(desired, actual));
      }),
      { numRuns: 100 },
    );
  });
});
