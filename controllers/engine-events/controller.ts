/**
 * Watches the engine's event stream for Fizz's containers and announces the
 * ones that may need a reconcile (die, destroy, stop, kill, oom,
 * health_status) as `engine` changes, so the loop reacts at once instead of
 * at its next timer. The stream is reopened after `reconnectMs` when it ends.
 *
 * Each stream asks the engine to replay what happened since the controller
 * started (the first) or since the previous stream ended (a reopen): a
 * container removed between the agent's start and the stream's opening, or
 * while the engine's stream was down, still wakes the loop, instead of
 * waiting for the next timer pass (which a long reconcile interval makes
 * minutes). A replayed event is at worst one wake more.
 */
import { sleep } from "../../core/clock.ts";
import { LABEL } from "../../core/labels.ts";
import type { Engine } from "../../platform/engine/index.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";

const WAKES = /^(die|destroy|stop|kill|oom|health_status)/;

export class EngineEventsController implements Controller {
  readonly name = "engine-events";
  private running = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  /** Wall ms from which the next stream replays (engine `since`, whole seconds, rounded down). */
  private replayFrom = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly engine: Engine,
    private readonly o: { readonly reconnectMs: number },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.replayFrom = this.ctx.clock.now();
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
        const since = Math.floor(this.replayFrom / 1000);
        for await (const ev of this.engine.events({ filters: { type: ["container"], label: ["io.fizz.managed=true"] }, since, signal: this.abort.signal })) {
          const action = (ev as { Action?: string }).Action ?? "";
          const attrs = (ev as { Actor?: { Attributes?: Record<string, string | undefined> } }).Actor?.Attributes;
          const container = attrs?.name;
          const project = attrs?.[LABEL.project];
          if (WAKES.test(action)) this.ctx.notify({ kind: "engine", action, ...(container ? { container } : {}), ...(project ? { project } : {}) });
        }
      } catch {
        /* reopened below */
      }
      // What happens from here until the next stream opens is replayed by it.
      this.replayFrom = this.ctx.clock.now();
      if (this.running) await sleep(this.ctx.clock, this.o.reconnectMs);
    }
  }
}
