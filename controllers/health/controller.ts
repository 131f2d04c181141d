/**
 * The health controller: one health monitor per deployment on this node
 * (platform/deploy/health-monitor.ts, deciding with core/reconcile's restart
 * policy), each on its own timer so a slow reconcile (an engine call stuck
 * behind an image build) never delays a health restart. A monitor starts
 * after a deployment's first reconcile, is replaced when its generation
 * changes, and stops when the deployment is gone from this node. Services
 * the user stopped by hand (deployments/user-stops.ts) are left alone.
 */
import type { Project } from "../../core/compose/model.ts";
import { HealthMonitor, type HealthEngine, type MonitorEvent } from "../../platform/deploy/health-monitor.ts";
import { versionOf } from "../../platform/store/index.ts";
import type { Change } from "../changes.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import { readUserStopped } from "../deployments/user-stops.ts";

export interface HealthControllerOptions {
  /** Period of each deployment's health pass (ms). */
  readonly intervalMs: number;
}

export class HealthController implements Controller {
  readonly name = "health";
  /** Per deployment: its monitor, made from the stored spec of `version` (generation and row times: a deployment made again is another spec). */
  private readonly monitors = new Map<string, { generation: number; version: string; monitor: HealthMonitor }>();
  private running = false;

  constructor(
    private readonly ctx: AgentContext,
    private readonly engine: HealthEngine,
    private readonly o: HealthControllerOptions,
  ) {}

  start(): void {
    this.running = true;
    for (const m of this.monitors.values()) m.monitor.start(this.o.intervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const m of this.monitors.values()) m.monitor.stop();
    this.monitors.clear();
  }

  onChange(c: Change): void {
    if (c.kind === "reconciled") this.ensure(c.name, c.generation);
    else if (c.kind === "deployment-removed") this.drop(c.name);
  }

  /** The deployments watched now, with the generation each monitor watches (tests, diagnostics). */
  watching(): ReadonlyMap<string, number> {
    return new Map([...this.monitors].map(([k, v]) => [k, v.generation]));
  }

  private ensure(name: string, generation: number): void {
    const m = this.monitors.get(name);
    // Every pass ends here: the usual answer (the same version) comes without reading the spec.
    const version = this.ctx.store.deploymentVersion(name);
    if (version === undefined) return this.drop(name);
    if (m?.version === version) return;
    const rec = this.ctx.store.getDeployment(name);
    if (!rec) return this.drop(name);
    m?.monitor.stop();
    const monitor = new HealthMonitor(this.engine, rec.spec as Project, { store: this.ctx.store, onEvent: (e) => this.event(name, e), now: this.ctx.now, clock: this.ctx.clock, held: () => new Set(Object.keys(readUserStopped(this.ctx.store, name))) });
    this.monitors.set(name, { generation: rec.generation ?? generation, version: versionOf(rec.generation, rec.createdAt, rec.updatedAt), monitor });
    if (this.running) monitor.start(this.o.intervalMs);
  }

  private drop(name: string): void {
    this.monitors.get(name)?.monitor.stop();
    this.monitors.delete(name);
  }

  private event(deployment: string, e: MonitorEvent): void {
    if (e.type === "restart") recordEvent(this.ctx, { type: "container.restart", deployment, service: e.service, container: e.container, message: `restarted: ${e.reason}`, data: { reason: e.reason.split(";")[0] } });
    else if (e.type === "give-up") recordEvent(this.ctx, { type: "container.give_up", deployment, service: e.service, container: e.container, message: e.reason });
    else recordEvent(this.ctx, { type: "monitor.error", deployment, ...(e.container ? { container: e.container } : {}), message: e.message });
  }
}
