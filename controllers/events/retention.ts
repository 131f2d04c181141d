/**
 * Keeps the event log bounded: events older than `events.retention` are
 * pruned at start and then every `events.prune_interval`.
 */
import type { Timer } from "../../core/clock.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";

export class EventRetentionController implements Controller {
  readonly name = "event-retention";
  private timer: Timer | undefined;

  constructor(private readonly ctx: AgentContext) {}

  start(): void {
    this.prune();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.ctx.clock.setTimeout(() => {
      this.prune();
      this.schedule();
    }, this.ctx.config.events.prune_interval);
  }

  private prune(): void {
    try {
      const n = this.ctx.store.pruneEvents(this.ctx.now() - this.ctx.config.events.retention);
      if (n) this.ctx.logger.debug({ pruned: n }, "pruned old events");
    } catch (e) {
      this.ctx.logger.error({ err: e }, "pruning events failed");
    }
  }
}
