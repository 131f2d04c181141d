/**
 * A controller is one concern of the agent (deployments, placement, health,
 * membership, and next mesh, DNS, ingress, secrets, registry). It is
 * constructed by the composition root (cmd/agent-root.ts) with what it needs,
 * started once the API listens, told about every change, and stopped on
 * shutdown before the store closes. Decisions come from pure functions in
 * core/; effects go through adapters in platform/.
 */
import type { RouteModule } from "../platform/api/router.ts";
import type { Logger } from "../platform/log.ts";
import type { Change } from "./changes.ts";

export interface Controller {
  /** Short lower-case name, for logs ("deployments", "placement", "health"…). */
  readonly name: string;
  /** Begin background work. Called in the composition root's order, after the API listens. */
  start(): void | Promise<void>;
  /** End background work and wait for it. Called in reverse order, before the store closes. */
  stop(): Promise<void>;
  /**
   * React to a change. Must return quickly (wake a loop, mark something
   * dirty); never do engine or network work inline.
   */
  onChange?(change: Change): void;
  /** The API routes this controller serves (each from its own platform/api/routes-<thing>.ts). */
  readonly routes?: readonly RouteModule[];
}

/** The agent's controllers, in start order. */
export class ControllerSet {
  private started: Controller[] = [];

  constructor(
    readonly list: readonly Controller[],
    private readonly logger?: Logger,
  ) {
    const names = new Set<string>();
    for (const c of list) {
      if (names.has(c.name)) throw new Error(`two controllers named '${c.name}'`);
      names.add(c.name);
    }
  }

  /** Every controller's routes, in controller order. */
  routes(): RouteModule[] {
    return this.list.flatMap((c) => [...(c.routes ?? [])]);
  }

  /** Starts each controller in order; if one fails, the ones started are stopped and the error is thrown. */
  async start(): Promise<void> {
    for (const c of this.list) {
      try {
        await c.start();
      } catch (e) {
        this.logger?.error({ err: e, controller: c.name }, "controller failed to start");
        await this.stop();
        throw e;
      }
      this.started.push(c);
    }
  }

  /** Stops the started controllers in reverse order; a failing stop is logged and the others still stop. */
  async stop(): Promise<void> {
    const list = this.started.reverse();
    this.started = [];
    for (const c of list) {
      try {
        await c.stop();
      } catch (e) {
        this.logger?.error({ err: e, controller: c.name }, "controller failed to stop");
      }
    }
  }

  /** Tells every controller about a change (a throwing reaction is logged; the others still hear of it). */
  notify(change: Change): void {
    for (const c of this.list) {
      if (!c.onChange) continue;
      try {
        c.onChange(change);
      } catch (e) {
        this.logger?.error({ err: e, controller: c.name, change: change.kind }, "controller failed to react to a change");
      }
    }
  }
}
