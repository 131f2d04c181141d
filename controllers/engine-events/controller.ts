/**
 * Watches the engine's event stream for Fizz's containers and announces the
 * ones that may need a reconcile (die, destroy, stop, kill, oom,
 * health_status) as `engine` changes, so the loop reacts at once instead of
 * at its next timer. The stream is reopened after `reconnectMs` when it ends.
 */
import { sleep } from "../../core/clock.ts";
import type { Engine } from "../../platform/engine/index.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";

const WAKES = /^(die|destroy|stop|kill|oom|health_status)/;

export class EngineEventsController implements Controller {
  readonly name = "engine-events";
  private running = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly engine: Engine,
    private readonly o: { readonly reconnectMs: number },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.watch();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await this.loop;
  }

  private async watch(): Promise<void> {
    while (this.running) {
      this.abort = new AbortController();
      try {
        for await (const ev of this.engine.events({ filters: { type: ["container"], label: ["io.fizz.managed=true"] }, signal: this.abort.signal })) {
          const action = (ev as { Action?: string }).Action ?? "";
          const container = (ev as { Actor?: { Attributes?: { name?: string } } }).Actor?.Attributes?.name;
          if (WAKES.test(action)) this.ctx.notify({ kind: "engine", action, ...(container ? { container } : {}) });
        }
      } catch {
        /* reopened below */
      }
      if (this.running) await sleep(this.ctx.clock, this.o.reconnectMs);
    }
  }
}
