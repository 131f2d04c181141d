/**
 * Keeps a project's containers healthy: on each pass, every container that is
 * unhealthy (or exited, where the engine will not restart it) is fed to the
 * pure `decideRestart` policy with its restart history, and restarted when
 * the policy says so. Restarts are recorded in the agent store when one is
 * given, so `fizz ps` and the agent agree on counts and reasons.
 */
import type { Project } from "../../core/compose/model.ts";
import type { Clock, Timer } from "../../core/clock.ts";
import { systemClock } from "../clock.ts";
import { LABEL } from "../../core/labels.ts";
import { decideRestart, type HealthDecision, type RestartRecord } from "../../core/reconcile/health-policy.ts";
import { restartPolicyOf } from "../../core/reconcile/from-compose.ts";
import type { ContainerInspect, ContainerSummary, Engine } from "../engine/index.ts";
import { listProjectContainers } from "./project.ts";

/** What the monitor needs of an engine (the agent passes its NodeEngine; tests an in-memory one). */
export interface HealthEngine {
  /** A project's containers, all states, health in `Status`. */
  containers(project: string): Promise<ContainerSummary[]>;
  find(id: string): Promise<ContainerInspect | undefined>;
  restart(id: string): Promise<void>;
  /** True while a plan is stopping, moving aside or removing the container (containers-in-hand.ts): the monitor leaves it alone. */
  inHand?(id: string): boolean;
}

export function healthEngineOf(engine: Engine): HealthEngine {
  return {
    containers: (project) => listProjectContainers(engine, project),
    find: (id) => engine.containers.find(id),
    restart: (id) => engine.containers.restart(id),
  };
}

export interface RestartStore {
  recordRestart(r: { deployment: string; service: string; container: string; at: number; reason: string }): void;
  restarts(container: string, sinceMs?: number): { at: number; reason: string }[];
}

export type MonitorEvent =
  | { type: "restart"; container: string; service: string; reason: string }
  | { type: "give-up"; container: string; service: string; reason: string }
  | { type: "error"; container?: string; message: string };

export interface MonitorOptions {
  /** Timers (default: the system's). */
  clock?: Clock;
  store?: RestartStore;
  onEvent?: (e: MonitorEvent) => void;
  now?: () => number;
  /** Services left alone this pass (the agent's: those the user stopped by hand). Read once per pass. */
  held?: () => ReadonlySet<string>;
}


/** Restart records are stored with a reason string; its first word is the cause. */
function toRecord(r: { at: number; reason: string }): RestartRecord {
  const exited = /^exited/.test(r.reason);
  const code = /code (-?\d+)/.exec(r.reason);
  return exited ? { at: r.at, cause: "exited", ...(code ? { exitCode: Number(code[1]) } : {}) } : { at: r.at, cause: "unhealthy" };
}

export class HealthMonitor {
  private readonly failingSince = new Map<string, number>();
  private readonly memory = new Map<string, { at: number; reason: string }[]>();
  private readonly gaveUp = new Set<string>();
  /** Containers being restarted right now: a slow stop must not be seen as "still unhealthy". */
  private readonly inFlight = new Set<string>();
  private timer: Timer | undefined;
  private running = false;
  private readonly now: () => number;
  private readonly clock: Clock;

  constructor(
    private readonly engine: HealthEngine,
    private readonly project: Project,
    private readonly opts: MonitorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.clock = opts.clock ?? systemClock;
  }

  /** One pass over the project's containers; returns the decisions taken, by container name. */
  async tick(): Promise<Map<string, HealthDecision>> {
    const decisions = new Map<string, HealthDecision>();
    const list = await this.engine.containers(this.project.name);
    const held = this.opts.held?.();
    const seen = new Set<string>();
    for (const c of list) {
      const labels = c.Labels ?? {};
      if (labels[LABEL.oneoff] === "True") continue;
      const service = labels[LABEL.service] ?? "";
      const svc = this.project.services[service];
      if (!svc) continue;
      const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
      seen.add(name);
      if (this.inFlight.has(name)) continue;
      if (held?.has(service) || this.engine.inHand?.(c.Id)) {
        this.failingSince.delete(name);
        continue;
      }
      const state = String(c.State).toLowerCase();
      const unhealthy = /\(unhealthy\)/.test(c.Status);
      // Completed one-shot jobs (depends_on: service_completed_successfully targets) are not failures.
      if (!unhealthy && state !== "exited" && state !== "dead") {
        this.failingSince.delete(name);
        continue;
      }
      const ins = await this.engine.find(c.Id);
      if (!ins) continue;
      const rp = (ins.HostConfig as { RestartPolicy?: { Name?: string } }).RestartPolicy?.Name ?? "";
      const engineRestarts = rp !== "" && rp !== "no";
      const now = this.now();
      if (!this.failingSince.has(name)) this.failingSince.set(name, now);
      // History is by name; a recreated container is a new one, so count only restarts since it was created.
      const createdMs = (c.Created ?? 0) * 1000;
      const history = (this.opts.store ? this.opts.store.restarts(name, createdMs) : (this.memory.get(name) ?? []).filter((r) => r.at >= createdMs)).map(toRecord);
      const policy = restartPolicyOf(svc);
      // A container that exited without a restart policy is a finished job, unless the policy asks for restarts on exit.
      if (!unhealthy && svc.restart === undefined && !svc.deploy?.restart_policy) continue;
      const decision = decideRestart({
        policy,
        history,
        container: {
          state: unhealthy ? "running" : (state as "exited"),
          health: unhealthy ? "unhealthy" : "none",
          exitCode: ins.State.ExitCode,
          failingSince: this.failingSince.get(name)!,
        },
        now,
        engineRestarts,
      });
      decisions.set(name, decision);
      // A plan may have taken the container in hand while this pass read it.
      if (decision.action === "restart" && this.engine.inHand?.(c.Id)) continue;
      if (decision.action === "restart") {
        const reason = decision.cause === "unhealthy" ? "unhealthy" : `exited with code ${ins.State.ExitCode}`;
        // Recorded before acting, so the backoff counts it even if the restart is slow or fails.
        const rec = { deployment: this.project.name, service, container: name, at: now, reason };
        if (this.opts.store) this.opts.store.recordRestart(rec);
        else this.memory.set(name, [...(this.memory.get(name) ?? []), rec]);
        this.failingSince.delete(name);
        this.gaveUp.delete(name);
        this.inFlight.add(name);
        this.opts.onEvent?.({ type: "restart", container: name, service, reason: decision.reason });
        // Not awaited: one slow stop must not hold up the other containers' checks.
        void this.engine
          .restart(c.Id)
          .catch((e: unknown) => this.opts.onEvent?.({ type: "error", container: name, message: e instanceof Error ? e.message : String(e) }))
          .finally(() => this.inFlight.delete(name));
      } else if (decision.action === "give-up" && !this.gaveUp.has(name)) {
        this.gaveUp.add(name);
        this.opts.onEvent?.({ type: "give-up", container: name, service, reason: decision.reason });
      }
    }
    for (const k of this.failingSince.keys()) if (!seen.has(k)) this.failingSince.delete(k);
    return decisions;
  }

  /** Ticks every `intervalMs`, never overlapping itself, until `stop()`. */
  start(intervalMs = 2000): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      if (!this.running) return;
      this.tick()
        .catch((e: unknown) => this.opts.onEvent?.({ type: "error", message: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          if (this.running) this.timer = this.clock.setTimeout(loop, intervalMs);
        });
    };
    this.timer = this.clock.setTimeout(loop, intervalMs);
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
  }

  /** True while a restart started by this monitor is still in progress. */
  busy(): boolean {
    return this.inFlight.size > 0;
  }
}
