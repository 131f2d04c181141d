/**
 * A whole agent in this process, as `fizz agent` composes it
 * (cmd/agent/root.ts buildControllers), over an in-memory engine and a store
 * in a temporary directory, serving the real API on a unix socket. For
 * controller and API tests that need no real engine.
 */
import { join } from "node:path";
import { defaults, type AgentConfig } from "../../core/agent-config/schema.ts";
import { buildControllers, type AgentControllers } from "../../cmd/agent/root.ts";
import type { ControllerSet } from "../../controllers/controller.ts";
import { ApiClient } from "../../platform/api/client.ts";
import { createApiServer, eventRoutes, EventFeed, mountRoutes, systemRoutes, type ApiServer } from "../../platform/api/index.ts";
import { createLogger } from "../../platform/log.ts";
import { createMetrics } from "../../platform/metrics.ts";
import { systemClock } from "../../platform/clock.ts";
import { AgentStore } from "../../platform/store/index.ts";
import { MemoryEngine } from "./memory-engine.ts";
import { until } from "./wait.ts";

export interface TestAgent extends AgentControllers {
  readonly name: string;
  readonly store: AgentStore;
  readonly engine: MemoryEngine;
  readonly events: EventFeed;
  readonly client: ApiClient;
  readonly socket: string;
  stop(): Promise<void>;
}

const logger = createLogger({ level: "warn", format: "json", write: () => undefined });

export async function startTestAgent(o: { name: string; dir: string; host?: string; engine?: MemoryEngine; config?: (c: AgentConfig) => AgentConfig; images?: readonly string[] }): Promise<TestAgent> {
  const base = defaults({ uid: 1000, env: {}, home: o.dir });
  const tuned: AgentConfig = { ...base, reconcile: { ...base.reconcile, interval: 500, wake_delay: 20 }, health: { interval: 200 }, cluster: { ...base.cluster, name: o.name, bind: `${o.host ?? "127.0.0.1"}:0` } };
  const config = o.config ? o.config(tuned) : tuned;
  const store = AgentStore.open(join(o.dir, `${o.name}.db`));
  const events = new EventFeed(store, { pollMs: 50 });
  const engine = o.engine ?? new MemoryEngine({ now: Date.now, images: o.images ?? ["fizz-test/busybox:1", "busybox:latest", "nginx:latest", "redis:latest"] });
  let set: ControllerSet | undefined;
  const c = buildControllers(
    { config, node: store.nodeId(), fizzVersion: "test", store, events, metrics: createMetrics(), logger, notify: (ch) => set?.notify(ch), now: Date.now, clock: systemClock },
    { node: engine, identity: { id: `memory:${engine.id}`, address: `memory:${engine.name}` }, env: { FIZZ_SWIM_PROFILE: "test" } },
  );
  set = c.set;
  const server: ApiServer = createApiServer({ router: mountRoutes([systemRoutes({}), eventRoutes(events), ...set.routes()]) });
  const socket = join(o.dir, `${o.name}.sock`);
  await server.listen({ kind: "unix", path: socket });
  await set.start();
  return {
    ...c,
    name: o.name,
    store,
    engine,
    events,
    socket,
    client: new ApiClient({ address: { kind: "unix", path: socket }, timeoutMs: 30_000 }),
    async stop() {
      await server.close();
      await c.set.stop();
      events.flush();
      store.close();
    },
  };
}

/**
 * Forms one cluster of `agents`: the first inits, the others join it, and this
 * returns once every agent sees all of them alive.
 */
export async function formCluster(agents: readonly TestAgent[], timeoutMs = 8000): Promise<void> {
  const init = await agents[0]!.client.clusterInit();
  for (const a of agents.slice(1)) await a.client.clusterJoin(init.address, init.token);
  await until(`${agents.length} alive everywhere`, timeoutMs, async () => {
    for (const a of agents) if ((await a.client.clusterNodes()).filter((n) => n.state === "alive").length !== agents.length) return false;
    return true;
  });
}
