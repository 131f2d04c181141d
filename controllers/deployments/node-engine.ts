/**
 * The deployments controller's view of this node's engine: what a project has
 * (for planning and reports) and an executor for plans. The real one wraps a
 * Docker/Podman connection (platform/engine, platform/deploy); the cluster
 * simulator (test/sim) and unit tests pass an in-memory engine, which is what
 * lets whole agents run in virtual time.
 */
import type { ActualState } from "../../core/reconcile/types.ts";
import { MANAGED_FILTER } from "../../core/labels.ts";
import type { ContainerInspect, ContainerSummary, Engine, LogsOptions, OutputFrame } from "../../platform/engine/index.ts";
import { EngineExecutor, type BuildSpec } from "../../platform/deploy/engine-adapter.ts";
import type { ExecutorEngine } from "../../platform/deploy/executor.ts";
import { listProjectContainers, readActualWithContainers } from "../../platform/deploy/project.ts";
import type { HealthEngine } from "../../platform/deploy/health-monitor.ts";
import { ContainersInHand } from "../../platform/deploy/containers-in-hand.ts";

export interface NodeEngine extends HealthEngine {
  /** docker or podman (or a fake's name). */
  readonly name: string;
  /** The API version spoken with the engine (what it can do: core/engine/unhonoured.ts). */
  readonly apiVersion?: string;
  /** A project's containers, all states, with health in `Status` as Docker writes it. */
  containers(project: string): Promise<ContainerSummary[]>;
  /** Every container Fizz manages on this engine. */
  managed(): Promise<ContainerSummary[]>;
  /** What the engine has of a project, for the planner; with `node`, other nodes' containers are left out. */
  observe(project: string, node?: string): Promise<{ actual: ActualState; containers: ContainerSummary[] }>;
  /** Runs plan steps (builds: per service, from the project). */
  executor(builds?: ReadonlyMap<string, BuildSpec>): ExecutorEngine;
  /** One container in full (`fizz inspect`); undefined when there is none. */
  find(idOrName: string): Promise<ContainerInspect | undefined>;
  /** A container's log frames (`fizz logs`). */
  logs(id: string, opts: LogsOptions): AsyncIterable<OutputFrame>;
}

export function engineNode(engine: Engine): NodeEngine {
  // Plans and the health monitor never act on one container at once.
  const inHand = new ContainersInHand();
  return {
    name: engine.name,
    ...(engine.apiVersion !== undefined ? { apiVersion: engine.apiVersion } : {}),
    containers: (project) => listProjectContainers(engine, project),
    managed: () => engine.containers.list({ all: true, labels: [...MANAGED_FILTER] }),
    observe: (project, node) => readActualWithContainers(engine, project, node),
    executor: (builds) => inHand.guard(new EngineExecutor(engine, builds)),
    find: (id) => engine.containers.find(id),
    logs: (id, opts) => engine.containers.logs(id, opts),
    restart: (id) => inHand.restart(id, () => engine.containers.restart(id)),
    inHand: (id) => inHand.isHeld(id),
  };
}
