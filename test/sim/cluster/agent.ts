/**
 * One whole agent in the simulated world: the controllers `fizz agent` runs
 * (membership, placement, deployments with its reconciler, health), built by
 * the same composition root (cmd/agent/root.ts), over an in-memory engine,
 * an in-memory store, the world's clock and network. A crash stops the
 * process where it is (its timers die, its engine and store calls fail from
 * then on); a restart builds a new process over the same store and engine,
 * as a machine reboot keeps the disk and the containers' engine state.
 */
import { defaults, type AgentConfig } from "../../../core/agent-config/schema.ts";
import { buildControllers, type AgentControllers } from "../../../cmd/agent/root.ts";
import type { ControllerSet } from "../../../controllers/controller.ts";
import type { NodeEngine } from "../../../controllers/deployments/node-engine.ts";
import { createLogger } from "../../../platform/log.ts";
import { createMetrics } from "../../../platform/metrics.ts";
import { AgentStore } from "../../../platform/store/index.ts";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { SimNetwork, simAddress } from "./transport.ts";
import type { World } from "./world.ts";

const logger = createLogger({ level: "silent", format: "json", write: () => undefined });

/** Calls on `target` fail once `alive()` is false: a dead process touches nothing. */
function fenced<T extends object>(target: T, alive: () => boolean): T {
  return new Proxy(target, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (!alive()) throw new Error("the process is gone");
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

export class SimAgent {
  readonly id: string;
  readonly name: string;
  readonly store: AgentStore;
  readonly engine: MemoryEngine;
  controllers: AgentControllers | undefined;
  private set: ControllerSet | undefined;

  constructor(
    readonly index: number,
    private readonly world: World,
    private readonly net: SimNetwork,
    private readonly tune: (c: AgentConfig) => AgentConfig,
  ) {
    this.id = `node-${index.toString().padStart(2, "0")}`;
    this.name = `n${index}`;
    this.store = AgentStore.open(":memory:");
    this.store.setMeta("node_id", this.id);
    const clock = world.clock(index);
    this.engine = new MemoryEngine({ now: () => clock.now(), name: `e${index}`, id: `sim-e${index}`, images: ["app:1", "app:2", "app:bad"], failStart: (c) => (c.image === "app:bad" ? "exec: no such file" : undefined) });
  }

  get up(): boolean {
    return this.world.up[this.index]!;
  }

  async boot(): Promise<void> {
    const world = this.world;
    const i = this.index;
    const incarnation = world.incarnation[i]!;
    const alive = () => world.up[i]! && world.incarnation[i] === incarnation;
    const clock = world.clock(i);
    const base = defaults({ uid: 1000, env: {}, home: "/sim" });
    const config = this.tune({
      ...base,
      cluster: { ...base.cluster, bind: simAddress(i), advertise: simAddress(i), name: this.name, state_persist_interval: 30_000 },
    });
    const store = fenced(this.store, alive);
    let set: ControllerSet | undefined;
    const c = buildControllers(
      { config, node: this.id, fizzVersion: "sim", store, events: { append: (e) => (alive() ? this.store.appendEvent(e) : undefined) }, metrics: createMetrics({ processMetrics: false }), logger, notify: (ch) => (alive() ? set?.notify(ch) : undefined), now: () => clock.now(), clock },
      { node: fenced(this.engine as NodeEngine, alive), transport: this.net.transport(i), seed: world.seed * 31 + i * 7 + incarnation, env: {}, identity: { id: `mem:${this.engine.id}`, address: this.name } },
    );
    set = c.set;
    this.controllers = c;
    this.set = set;
    await set.start();
  }

  /** The process dies where it is. */
  crash(): void {
    this.world.crash(this.index);
    this.controllers = undefined;
    this.set = undefined;
  }

  async restart(): Promise<void> {
    this.world.restart(this.index);
    await this.boot();
  }
}
