import { describe, expect, test } from "bun:test";
import type { Project } from "../../../core/compose/model.ts";
import type { Plan, Step } from "../../../core/reconcile/types.ts";
import type { ServiceTemplate } from "../../../core/deploy/index.ts";
import { ContainersInHand } from "../../../platform/deploy/containers-in-hand.ts";
import { executePlan, type ExecutorEngine } from "../../../platform/deploy/executor.ts";
import { HealthMonitor, type HealthEngine } from "../../../platform/deploy/health-monitor.ts";
import type { ContainerInspect, ContainerSummary } from "../../../platform/engine/index.ts";

const reason = { code: "config-changed", detail: "test" } as unknown as Step<ServiceTemplate>["reason"];
const ref = (id: string) => ({ id, name: `p-web-1`, service: "web", number: 1 });

/** An executor whose steps only log; stops can be held open. */
function recordingExecutor(log: string[], gate?: Promise<void>): ExecutorEngine {
  const none = async () => {};
  return {
    createNetwork: none, removeNetwork: none, createVolume: none, removeVolume: none, pullImage: none, buildImage: none,
    createContainer: async () => "new", connectNetwork: none, startContainer: async (id) => void log.push(`start ${id}`),
    stopContainer: async (id) => {
      log.push(`stop ${id}`);
      await gate;
    },
    renameContainer: async (id, name) => void log.push(`rename ${id} ${name}`),
    removeContainer: async (id) => void log.push(`remove ${id}`),
    serviceContainers: async () => [],
  };
}

const stopThenRemove = (id: string): Plan<ServiceTemplate> => ({
  steps: [
    { id: `stop:${id}`, kind: "stopContainer", container: ref(id), after: [], reason },
    { id: `rm:${id}`, kind: "removeContainer", container: ref(id), volumes: false, after: [`stop:${id}`], reason },
  ],
  warnings: [],
});

describe("containers in hand: a plan and the health monitor never act on one container at once", () => {
  test("a run holds what it stops until it has settled, and lets go after a failure too", async () => {
    const hand = new ContainersInHand();
    let open!: () => void;
    const log: string[] = [];
    const run = executePlan(stopThenRemove("old"), hand.guard(recordingExecutor(log, new Promise<void>((r) => (open = r)))), { project: "p", instance: {} });
    await Bun.sleep(5);
    expect(log).toEqual(["stop old"]);
    expect(hand.isHeld("old")).toBe(true);
    open();
    expect((await run).ok).toBe(true);
    expect(log).toEqual(["stop old", "remove old"]);
    expect(hand.isHeld("old")).toBe(false);

    const failing = recordingExecutor([]);
    failing.removeContainer = async () => {
      throw new Error("engine said no");
    };
    const r = await executePlan(stopThenRemove("b"), hand.guard(failing), { project: "p", instance: {}, rollbackOnFailure: true });
    expect(r.ok).toBe(false);
    expect(hand.isHeld("b")).toBe(false);
  });

  test("two runs holding one container: it stays held until both have settled", async () => {
    const hand = new ContainersInHand();
    const a = hand.guard(recordingExecutor([]));
    const b = hand.guard(recordingExecutor([]));
    await a.stopContainer("c");
    await b.removeContainer("c", { volumes: false, force: true });
    a.settled!();
    expect(hand.isHeld("c")).toBe(true);
    b.settled!();
    expect(hand.isHeld("c")).toBe(false);
  });

  test("a plan's stop waits for the monitor's restart of that container to end", async () => {
    const hand = new ContainersInHand();
    const log: string[] = [];
    let finish!: () => void;
    const restart = hand.restart("c", async () => {
      log.push("restart begins");
      await new Promise<void>((r) => (finish = r));
      log.push("restart ends");
    });
    const stop = hand.guard(recordingExecutor(log)).stopContainer("c");
    await Bun.sleep(5);
    expect(log).toEqual(["restart begins"]);
    finish();
    await Promise.all([restart, stop]);
    expect(log).toEqual(["restart begins", "restart ends", "stop c"]);
  });

  test("a failed monitor restart does not fail the plan's stop", async () => {
    const hand = new ContainersInHand();
    const restart = hand.restart("c", async () => {
      throw new Error("no such container");
    });
    await expect(restart).rejects.toThrow("no such container");
    await hand.guard(recordingExecutor([])).stopContainer("c");
  });
});

/** One unhealthy replica (the engine never restarts those; the monitor does). */
function unhealthyEngine(inHand: () => boolean): HealthEngine & { restarted: string[] } {
  const restarted: string[] = [];
  const summary: ContainerSummary = {
    Id: "old",
    Names: ["/p-web-1"],
    Image: "img",
    ImageID: "sha256:1",
    Command: "",
    Created: 1,
    State: "running",
    Status: "Up 20 seconds (unhealthy)",
    Labels: { "com.docker.compose.project": "p", "com.docker.compose.service": "web" },
    Ports: null,
  };
  return {
    restarted,
    containers: async () => [summary],
    find: async () => ({ Id: "old", State: { Status: "running", ExitCode: 0 }, HostConfig: { RestartPolicy: { Name: "always" } } }) as unknown as ContainerInspect,
    restart: async (id) => void restarted.push(id),
    inHand,
  };
}

const project = { name: "p", services: { web: { image: "img", restart: "always" } } } as unknown as Project;

describe("the health monitor and containers a plan holds", () => {
  test("an unhealthy replica is restarted, unless a plan holds it (a recreate is stopping it)", async () => {
    let t = 0;
    let held = false;
    const engine = unhealthyEngine(() => held);
    const monitor = new HealthMonitor(engine, project, { now: () => t });
    await monitor.tick(); // first seen failing: waits its backoff
    t += 1_000;
    held = true;
    await monitor.tick();
    expect(engine.restarted).toEqual([]);
    held = false;
    await monitor.tick(); // seen failing again from now: its backoff again
    t += 1_000;
    await monitor.tick();
    await Bun.sleep(1);
    expect(engine.restarted).toEqual(["old"]);
  });

  test("a plan that takes the container while the monitor inspects it wins", async () => {
    let t = 0;
    let held = false;
    const engine = unhealthyEngine(() => held);
    const find = engine.find;
    engine.find = async (id) => {
      const ins = await find(id);
      if (t > 0) held = true; // the plan's stop lands between the list and the decision
      return ins;
    };
    const monitor = new HealthMonitor(engine, project, { now: () => t });
    await monitor.tick();
    t += 1_000;
    const decisions = await monitor.tick();
    await Bun.sleep(1);
    expect(decisions.get("p-web-1")?.action).toBe("restart");
    expect(engine.restarted).toEqual([]);
  });
});
