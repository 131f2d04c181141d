/**
 * Keeps the event log bounded: events older than `events.retention` are
 * pruned at start and then every `events.prune_interval`.
 */
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";

export class EventRetentionController implements Controller {
  readonly name = "event-retention";
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ctx: AgentContext) {}

  start(): void {
    this.prune();
    this.timer = setInterval(() => this.prune(), this.ctx.config.events.prune_interval);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
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
