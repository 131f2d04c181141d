import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { desiredProject } from "../../../core/deploy/index.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import { planDown } from "../../../core/reconcile/lifecycle.ts";
import { FizzError } from "../../../core/errors.ts";
import { executePlan, type GateStatus, type ExecutorEngine } from "../../../platform/deploy/executor.ts";
import type { ServiceTemplate } from "../../../core/deploy/container-spec.ts";

const STACK = `
services:
  migrate:
    image: img:1
    command: ["true"]
  api:
    image: img:1
    healthcheck: { test: ["CMD", "true"], interval: 1s }
    depends_on:
      migrate: { condition: service_completed_successfully }
  web:
    image: img:1
    deploy: { replicas: 3 }
    depends_on:
      api: { condition: service_healthy }
volumes:
  data: {}
`;

/** An in-memory engine: containers become healthy / exit after a few polls. */
class FakeEngine implements ExecutorEngine {
  log: string[] = [];
  containers = new Map<string, { name: string; service: string; status: GateStatus; polls: number }>();
  networks = new Set<string>();
  volumes = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  failStartOf?: string;
  apiOutcome: "healthy" | "unhealthy" = "healthy";
  private n = 0;

  private async op<T>(what: string, f: () => T): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    this.log.push(what);
    return f();
  }
  createNetwork(n: { name: string }) { return this.op(`net+ ${n.name}`, () => void this.networks.add(n.name)); }
  removeNetwork(name: string) { return this.op(`net- ${name}`, () => void this.networks.delete(name)); }
  createVolume(v: { name: string }) { return this.op(`vol+ ${v.name}`, () => void this.volumes.add(v.name)); }
  removeVolume(name: string) { return this.op(`vol- ${name}`, () => void this.volumes.delete(name)); }
  pullImage(ref: string) { return this.op(`pull ${ref}`, () => {}); }
  buildImage(_t: unknown, _s: string, image: string) { return this.op(`build ${image}`, () => {}); }
  createContainer(name: string, body: { Labels?: Record<string, string> }) {
    return this.op(`create ${name}`, () => {
      const id = `id${++this.n}`;
      const service = body.Labels?.["com.docker.compose.service"] ?? "?";
      this.containers.set(id, { name, service, status: { state: "created", health: "none" }, polls: 0 });
      return id;
    });
  }
  connectNetwork() { return this.op("connect", () => {}); }
  startContainer(id: string) {
    return this.op(`start ${this.containers.get(id)!.name}`, () => {
      const c = this.containers.get(id)!;
      // Only a fresh container fails (an old one started again by a rollback starts).
      if (c.name === this.failStartOf && c.status.state === "created") throw new FizzError({ code: "engine.port_allocated", message: "port 8080 is already allocated" });
      c.status = { state: "running", health: c.service === "api" ? "starting" : "none" };
    });
  }
  stopContainer(id: string) { return this.op(`stop ${this.containers.get(id)!.name}`, () => void (this.containers.get(id)!.status = { state: "exited", health: "none", exitCode: 0 })); }
  renameContainer(id: string, name: string) { return this.op(`rename ${id} ${name}`, () => void (this.containers.get(id)!.name = name)); }
  removeContainer(id: string) { return this.op(`rm ${this.containers.get(id)?.name}`, () => void this.containers.delete(id)); }
  async serviceContainers(_p: string, service: string) {
    const out = [];
    for (const [id, c] of this.containers) {
      if (c.service !== service) continue;
      c.polls++;
      if (c.polls > 2 && c.status.state === "running") {
        if (service === "api") c.status = { state: "running", health: this.apiOutcome, ...(this.apiOutcome === "unhealthy" ? { healthOutput: "connection refused" } : {}) };
        if (service === "migrate") c.status = { state: "exited", health: "none", exitCode: 0 };
      }
      out.push({ id, name: c.name, status: c.status });
    }
    return out;
  }
}

function setup() {
  const r = loadProject({ cwd: "/p/demo", env: {}, reader: { read: (p) => (p === "/p/demo/compose.yaml" ? STACK : undefined) } });
  const { desired } = desiredProject(r.project!);
  const p = plan(desired, { containers: [], networks: [], volumes: [], images: [{ ref: "img:1", id: "sha256:1" }] });
  return p;
}

const fast = { sleep: () => new Promise<void>((r) => setTimeout(r, 1)), pollIntervalMs: 1 };

describe("executePlan", () => {
  test("runs the DAG in dependency order with bounded parallelism", async () => {
    const engine = new FakeEngine();
    const r = await executePlan(setup(), engine, { project: "demo", instance: {}, parallelism: 2, ...fast });
    expect(r.ok).toBe(true);
    expect(engine.maxInFlight).toBeLessThanOrEqual(2);
    const at = (s: string) => engine.log.indexOf(s);
    expect(at("start demo-migrate-1")).toBeLessThan(at("start demo-api-1"));
    for (const n of [1, 2, 3]) expect(at(`start demo-api-1`)).toBeLessThan(at(`start demo-web-${n}`));
    expect(r.created.size).toBe(5);
  });

  test("an unhealthy dependency fails the run with its health output, and rollback removes what was created", async () => {
    const engine = new FakeEngine();
    engine.apiOutcome = "unhealthy";
    const events: string[] = [];
    const r = await executePlan(setup(), engine, {
      project: "demo",
      instance: {},
      rollbackOnFailure: true,
      onEvent: (e) => e.type === "rollback" && events.push(e.what),
      ...fast,
    });
    expect(r.ok).toBe(false);
    expect(r.error!.message).toContain("demo-api-1 is unhealthy: connection refused");
    expect(engine.log.some((l) => l.startsWith("start demo-web"))).toBe(false);
    expect(engine.containers.size).toBe(0);
    expect(engine.networks.size).toBe(0);
    expect(events).toContain("network demo_default");
  });

  test("a failing start stops scheduling and is reported as the engine said", async () => {
    const engine = new FakeEngine();
    engine.failStartOf = "demo-migrate-1";
    const r = await executePlan(setup(), engine, { project: "demo", instance: {}, rollbackOnFailure: true, ...fast });
    expect(r.ok).toBe(false);
    expect(r.error!.code).toBe("engine.port_allocated");
    expect(engine.log.some((l) => l.startsWith("start demo-api"))).toBe(false);
    expect(engine.containers.size).toBe(0);
  });

  test("a replacement that does not start leaves the old container: the rollback renames it back and starts it again", async () => {
    // Two running replicas of web on an older config; the new config's first replacement fails to start.
    const r = loadProject({ cwd: "/p/demo", env: {}, reader: { read: (p) => (p === "/p/demo/compose.yaml" ? "services:\n  web:\n    image: img:1\n    deploy: { replicas: 2 }\n" : undefined) } });
    const { desired } = desiredProject(r.project!);
    const engine = new FakeEngine();
    const running = [1, 2].map((n) => ({ id: `old${n}`, name: `demo-web-${n}`, project: "demo", service: "web", number: n, configHash: "older", state: "running" as const, health: "none" as const, oneoff: false }));
    for (const c of running) engine.containers.set(c.id, { name: c.name, service: "web", status: { state: "running", health: "none" }, polls: 0 });
    const p = plan(desired, { containers: running, networks: [{ name: "demo_default", project: "demo" }], volumes: [], images: [{ ref: "img:1", id: "sha256:1" }] });
    expect(p.steps.filter((s) => s.kind === "createContainer")).toHaveLength(2);
    engine.failStartOf = "demo-web-1";
    const res = await executePlan(p, engine, { project: "demo", instance: {}, rollbackOnFailure: true, parallelism: 1, ...fast });
    expect(res.ok).toBe(false);
    // Both old containers are back under their names, started again; nothing new is left.
    expect([...engine.containers.entries()].map(([id, c]) => `${id}:${c.name}:${c.status.state}`).sort()).toEqual(["old1:demo-web-1:running", "old2:demo-web-2:running"]);
  });

  test("a recreated container gets its predecessor's anonymous volumes (an image VOLUME, a volumes: entry without a source)", async () => {
    const yaml = "services:\n  db:\n    image: img:1\n    volumes:\n      - /scratch\n";
    const r = loadProject({ cwd: "/p/demo", env: {}, reader: { read: (p) => (p === "/p/demo/compose.yaml" ? yaml : undefined) } });
    const { desired } = desiredProject(r.project!);
    const bodies: { name: string; mounts: unknown }[] = [];
    const asked: [string, string][] = [];
    const engine = Object.assign(new FakeEngine(), {
      replacedMounts: async (oldId: string, image: string) => {
        asked.push([oldId, image]);
        return {
          mounts: [
            { Type: "volume", Name: "anon-scratch", Destination: "/scratch", RW: true },
            { Type: "volume", Name: "anon-mysql", Destination: "/var/lib/mysql", RW: true },
          ],
          imageVolumes: ["/var/lib/mysql"],
        };
      },
    });
    const create = engine.createContainer.bind(engine);
    engine.createContainer = (name: string, body: { Labels?: Record<string, string>; HostConfig?: { Mounts?: unknown } }) => {
      bodies.push({ name, mounts: body.HostConfig?.Mounts });
      return create(name, body);
    };
    const old = { id: "olddb", name: "demo-db-1", project: "demo", service: "db", number: 1, configHash: "older", state: "running" as const, health: "none" as const, oneoff: false };
    engine.containers.set(old.id, { name: old.name, service: "db", status: { state: "running", health: "none" }, polls: 0 });
    const p = plan(desired, { containers: [old], networks: [{ name: "demo_default", project: "demo" }], volumes: [], images: [{ ref: "img:1", id: "sha256:1" }] });
    const res = await executePlan(p, engine, { project: "demo", instance: {}, ...fast });
    expect(res.error?.message).toBeUndefined();
    expect(asked).toEqual([["olddb", "img:1"]]);
    expect(bodies).toEqual([
      {
        name: "demo-db-1",
        mounts: [
          { Type: "volume", Source: "anon-scratch", Target: "/scratch" },
          { Type: "volume", Source: "anon-mysql", Target: "/var/lib/mysql", ReadOnly: false },
        ],
      },
    ]);
  });

  test("down -v also removes the anonymous volumes a container carried over from its predecessors (the engine's rm -v leaves a volume mounted by name)", async () => {
    const engine = Object.assign(new FakeEngine(), { anonymousVolumes: async (id: string) => (id === "olddb" ? ["anon-scratch"] : []) });
    engine.containers.set("olddb", { name: "demo-db-1", service: "db", status: { state: "running", health: "none" }, polls: 0 });
    engine.volumes.add("anon-scratch");
    const p = planDown<ServiceTemplate>("demo", { containers: [{ id: "olddb", name: "demo-db-1", project: "demo", service: "db", number: 1, state: "running", health: "none", oneoff: false }], networks: [], volumes: [], images: [] }, { volumes: true });
    const res = await executePlan(p, engine, { project: "demo", instance: {}, ...fast });
    expect(res.error?.message).toBeUndefined();
    expect(engine.containers.size).toBe(0);
    expect([...engine.volumes]).toEqual([]);
    // Without -v they stay.
    const keep = Object.assign(new FakeEngine(), { anonymousVolumes: async () => ["anon-scratch"] });
    keep.containers.set("olddb", { name: "demo-db-1", service: "db", status: { state: "running", health: "none" }, polls: 0 });
    keep.volumes.add("anon-scratch");
    await executePlan(planDown<ServiceTemplate>("demo", { containers: [{ id: "olddb", name: "demo-db-1", project: "demo", service: "db", number: 1, state: "running", health: "none", oneoff: false }], networks: [], volumes: [], images: [] }, {}), keep, { project: "demo", instance: {}, ...fast });
    expect([...keep.volumes]).toEqual(["anon-scratch"]);
  });

  test("a gate on a service being recreated waits for the new container: the old one, stopped until its removal, does not fail it", async () => {
    const yaml = "services:\n  api:\n    image: img:1\n    healthcheck: { test: [\"CMD\", \"true\"], interval: 1s }\n  web:\n    image: img:1\n    depends_on:\n      api: { condition: service_healthy }\n";
    const r = loadProject({ cwd: "/p/demo", env: {}, reader: { read: (p) => (p === "/p/demo/compose.yaml" ? yaml : undefined) } });
    const { desired } = desiredProject(r.project!);
    const engine = new FakeEngine();
    const old = { id: "oldapi", name: "demo-api-1", project: "demo", service: "api", number: 1, configHash: "older", state: "running" as const, health: "healthy" as const, oneoff: false };
    engine.containers.set(old.id, { name: old.name, service: "api", status: { state: "running", health: "healthy" }, polls: 0 });
    const p = plan(desired, { containers: [old], networks: [{ name: "demo_default", project: "demo" }], volumes: [], images: [{ ref: "img:1", id: "sha256:1" }] });
    const res = await executePlan(p, engine, { project: "demo", instance: {}, rollbackOnFailure: true, ...fast });
    expect(res.error?.message).toBeUndefined();
    expect([...engine.containers.values()].map((c) => `${c.name}:${c.status.state}`).sort()).toEqual(["demo-api-1:running", "demo-web-1:running"]);
  });

  test("a one-off dependency that fails: the error carries its last output (the rollback removes the container and its logs)", async () => {
    const engine = new FakeEngine();
    const serviceContainers = engine.serviceContainers.bind(engine);
    engine.serviceContainers = async (p, service) => (await serviceContainers(p, service)).map((c) => (service === "migrate" && c.status.state === "exited" ? { ...c, status: { ...c.status, exitCode: 2 } } : c));
    const r0 = await executePlan(setup(), engine, { project: "demo", instance: {}, ...fast });
    expect(r0.error!.message).toBe("service migrate didn't complete successfully: container demo-migrate-1 exited with code 2");
    expect(r0.error!.hint).toBe("see 'fizz logs migrate'");
    const engine2 = Object.assign(new FakeEngine(), { serviceContainers: engine.serviceContainers, logTail: async (_id: string, lines: number) => `${"noise\n".repeat(20)}ERROR: relation "users" does not exist\n`.split("\n").slice(-lines - 1).join("\n") });
    engine2.serviceContainers = async (p, service) => (await FakeEngine.prototype.serviceContainers.call(engine2, p, service)).map((c) => (service === "migrate" && c.status.state === "exited" ? { ...c, status: { ...c.status, exitCode: 2 } } : c));
    const r = await executePlan(setup(), engine2, { project: "demo", instance: {}, ...fast });
    expect(r.ok).toBe(false);
    expect(r.error!.code).toBe("deploy.dependency_failed");
    expect(r.error!.message).toBe(`service migrate didn't complete successfully: container demo-migrate-1 exited with code 2; its last output:\n${"    noise\n".repeat(9)}    ERROR: relation "users" does not exist`);
    expect(r.error!.hint).toBe("fix what migrate reports and run the command again");
  });

  test("a healthchecked dependency that exits: reported as exited with its last output, not as unhealthy (Docker marks it unhealthy too)", async () => {
    const engine = Object.assign(new FakeEngine(), { logTail: async () => "nc: bad option -k\n" });
    const serviceContainers = engine.serviceContainers.bind(engine);
    // What Docker reports for a container with a healthcheck whose process ended: exited, health unhealthy, no health log.
    engine.serviceContainers = async (p, service) => (await serviceContainers(p, service)).map((c) => (service === "api" && c.status.state === "running" ? { ...c, status: { state: "exited", health: "unhealthy", exitCode: 1 } } : c));
    const r = await executePlan(setup(), engine, { project: "demo", instance: {}, rollbackOnFailure: true, ...fast });
    expect(r.ok).toBe(false);
    expect(r.error!.message).toBe("dependency failed to start: container demo-api-1 exited with code 1; its last output:\n    nc: bad option -k");
    expect(r.error!.hint).toBe("web waits for api to be healthy");
  });

  test("pull never + absent image fails before touching the engine", async () => {
    const engine = new FakeEngine();
    const r = await executePlan(setup(), engine, { project: "demo", instance: {}, imagesPresent: new Set(["other:1"]), ...fast });
    expect(r.ok).toBe(false);
    expect(r.error!.code).toBe("engine.image_not_found");
    expect(engine.log).toEqual([]);
  });

  test("a gate that never resolves times out with a clear message", async () => {
    const engine = new FakeEngine();
    engine.serviceContainers = async () => [{ id: "x", name: "demo-api-1", status: { state: "running", health: "starting" } }];
    let t = 0;
    const r = await executePlan(setup(), engine, {
      project: "demo",
      instance: {},
      waitTimeoutMs: 1000,
      now: () => (t += 100),
      ...fast,
    });
    expect(r.ok).toBe(false);
    expect(r.error!.code).toBe("deploy.wait_timeout");
  });

  test("a dependency on other nodes: its dependents start once the cluster says it holds; its failure fails them; the replica's address reaches the engine", async () => {
    // api (healthy) and migrate (completed) run on other nodes; web (3) runs here.
    const r0 = loadProject({ cwd: "/p/demo", env: {}, reader: { read: (p) => (p === "/p/demo/compose.yaml" ? STACK : undefined) } });
    const share = { migrate: { numbers: [] }, api: { numbers: [] }, web: { numbers: [1, 2, 3] } };
    const { desired } = desiredProject(r0.project!, { share });
    const withAddr = { ...desired, services: desired.services.map((s) => (s.name === "web" ? { ...s, addresses: { 1: { demo_default: "10.208.4.20" } } } : s)) };
    const p = plan(withAddr, { containers: [], networks: [], volumes: [], images: [{ ref: "img:1", id: "sha256:1" }] });
    const bodies = new Map<string, unknown>();
    const asked: string[] = [];
    let healthyAfter = 3;
    const remote = (service: string, condition: string) => {
      asked.push(`${service}:${condition}`);
      if (service === "migrate") return { kind: "met" as const };
      return --healthyAfter > 0 ? { kind: "waiting" as const, reason: "1 of 1 replicas of api are not healthy yet (on n2)" } : { kind: "met" as const };
    };
    const engine = new FakeEngine();
    const create = engine.createContainer.bind(engine);
    engine.createContainer = (name: string, body: { Labels?: Record<string, string> }) => {
      bodies.set(name, body);
      return create(name, body);
    };
    const r = await executePlan(p, engine, { project: "demo", instance: {}, remoteDependency: remote, ...fast });
    expect(r.ok).toBe(true);
    expect(asked.filter((a) => a === "api:service_healthy").length).toBe(3);
    expect(engine.log.filter((l) => l.startsWith("start demo-web")).length).toBe(3);
    expect((bodies.get("demo-web-1") as { NetworkingConfig: { EndpointsConfig: Record<string, { IPAMConfig?: { IPv4Address?: string } }> } }).NetworkingConfig.EndpointsConfig["demo_default"]!.IPAMConfig?.IPv4Address).toBe("10.208.4.20");

    const failing = await executePlan(p, new FakeEngine(), { project: "demo", instance: {}, remoteDependency: () => ({ kind: "failed", reason: "migrate exited with a non-zero code (on n3)" }), ...fast });
    expect(failing.ok).toBe(false);
    expect(failing.error!.message).toContain("on n3");
    let t = 0;
    const never = await executePlan(p, new FakeEngine(), { project: "demo", instance: {}, waitTimeoutMs: 1000, now: () => (t += 100), ...fast });
    expect(never.error!.code).toBe("deploy.wait_timeout");
    expect(never.error!.message).toContain("runs on other nodes");
  });
});
