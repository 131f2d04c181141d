/**
 * Builds the agent's engine side: connects to the configured engine, creates
 * the reconciler and the engine-backed API backend, and routes reconcile and
 * health events into the event log and the metrics.
 */
import type { AgentConfig } from "../../core/agent-config/schema.ts";
import { MANAGED_FILTER } from "../../core/labels.ts";
import { healthFromStatus } from "../../core/deploy/actual.ts";
import type { AgentStore, NewEvent } from "../store/index.ts";
import type { AgentMetrics } from "../metrics.ts";
import type { Logger } from "../log.ts";
import type { AgentBackend } from "../api/backend.ts";
import { connectEngine, readEngineIdentity, type Engine } from "../engine/index.ts";
import type { EngineIdentity } from "../../core/engine/identity.ts";
import { EngineBackend } from "./engine-backend.ts";
import { Reconciler, type ReconcilerEvent } from "./reconciler.ts";

export interface EngineRuntimeDeps {
  readonly config: AgentConfig;
  readonly store: AgentStore;
  readonly events: { append(e: NewEvent): unknown };
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  readonly fizzVersion: string;
}

export interface EngineRuntime {
  readonly backend: AgentBackend;
  readonly engine: Engine;
  /** Which engine instance the agent drives; /v1/info reports it so the CLI can compare. */
  readonly engineIdentity: EngineIdentity;
  readonly reconciler: Reconciler;
  start(): void;
  stop(): Promise<void>;
}

export async function engineRuntime(deps: EngineRuntimeDeps): Promise<EngineRuntime> {
  const { config, store, events, metrics, logger } = deps;
  const engineOpt = config.engine.host || (config.engine.kind === "auto" ? undefined : config.engine.kind);
  const engine = await connectEngine({ engine: engineOpt });
  const node = store.nodeId();
  const engineIdentity = await readEngineIdentity(engine);
  logger.info({ engine: engine.name, api: engine.apiVersion, address: engine.endpoint.address, id: engineIdentity.id, node }, "engine connected");

  const sampleContainers = async () => {
    const list = await engine.containers.list({ all: true, labels: [...MANAGED_FILTER] });
    metrics.setContainers(list.map((c) => ({ state: String(c.State).toLowerCase(), health: healthFromStatus(c.Status) })));
  };

  const onEvent = (e: ReconcilerEvent) => {
      events.append({ at: Date.now(), ...e });
      const fields = { deployment: e.deployment, service: e.service, container: e.container };
      if (e.type === "container.restart") {
        metrics.countRestart(e.deployment ?? "", e.service ?? "", (e.data as { reason?: string } | undefined)?.reason ?? "unhealthy");
        logger.warn(fields, e.message);
      } else if (e.type.endsWith("failed") || e.type.endsWith("error")) logger.error(fields, e.message);
      else logger.info(fields, e.message);
  };
  const reconciler = new Reconciler(engine, store, {
    node,
    fizzVersion: deps.fizzVersion,
    intervalMs: config.reconcile.interval,
    parallelism: config.reconcile.parallelism,
    onEvent,
    onPass: (seconds, deployment, error) => {
      logger.debug({ deployment, seconds }, "reconcile pass");
      metrics.observeReconcile(seconds, error);
      void sampleContainers().catch(() => {});
    },
  });
  const backend = new EngineBackend({ engine, store, reconciler, node, fizzVersion: deps.fizzVersion, emit: onEvent });
  return {
    backend,
    engine,
    engineIdentity,
    reconciler,
    start: () => {
      reconciler.start();
      void sampleContainers().catch(() => {});
    },
    stop: async () => {
      await reconciler.stop();
      await engine.close();
    },
  };
}
