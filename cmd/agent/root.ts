/**
 * The agent's composition root: the one place that constructs the node's
 * pieces and connects them. It opens the store in the data directory,
 * connects the engine, builds the controllers (each one concern, see
 * controllers/index.ts), mounts their API routes, serves the API on the unix
 * socket and optionally TCP (token, TLS), starts the controllers in order,
 * and on SIGTERM/SIGINT stops them in reverse order before the store closes.
 *
 * A new capability is one controller: construct it below and add it to the
 * list (its routes come with it).
 */
import { join } from "node:path";
import type { AgentConfig } from "../../core/agent-config/index.ts";
import { parseApiAddress } from "../../core/agent-config/address.ts";
import { AgentStore } from "../../platform/store/index.ts";
import { createApiServer, eventRoutes, EventFeed, mountRoutes, systemRoutes, type Listening } from "../../platform/api/index.ts";
import { createMetrics, type AgentMetrics } from "../../platform/metrics.ts";
import { createLogger, type Logger } from "../../platform/log.ts";
import { runtimeVersion, settleAfterStartup, startMemoryGuard } from "../../platform/runtime.ts";
import { systemClock } from "../../platform/clock.ts";
import { connectEngine, detectEndpoint, parseEngineAddress, readEngineIdentity, type Engine } from "../../platform/engine/index.ts";
import { checkRecordedEngine, readRecordedEngine } from "../../core/engine/recorded.ts";
import type { BindTransport } from "../../platform/cluster/index.ts";
import type { Change } from "../../controllers/changes.ts";
import type { AgentContext } from "../../controllers/context.ts";
import { ControllerSet } from "../../controllers/controller.ts";
import { EngineEventsController } from "../../controllers/engine-events/controller.ts";
import { ClusterAgent } from "../../controllers/cluster/membership.ts";
import { PlacementController } from "../../controllers/placement/controller.ts";
import { DeploymentsController } from "../../controllers/deployments/controller.ts";
import { engineNode, type NodeEngine } from "../../controllers/deployments/node-engine.ts";
import { HealthController } from "../../controllers/health/controller.ts";
import { EventRetentionController } from "../../controllers/events/retention.ts";
import { RegistryController } from "../../controllers/registry/controller.ts";
import { SecretsController } from "../../controllers/secrets/controller.ts";
import { MeshController } from "../../controllers/mesh/controller.ts";
import { DnsController } from "../../controllers/dns/controller.ts";
import { IngressController } from "../../controllers/ingress/controller.ts";
import type { Project } from "../../core/compose/model.ts";
import type { ClusterState } from "../../core/state/index.ts";
import { versionLine, VERSION } from "../version.ts";
import type { Context } from "../context.ts";
import { readApiAccess } from "./api-access.ts";

/** Every deployment spec this node knows: its own store's and the cluster's (the registry's GC keeps their images). */
function* knownProjects(store: AgentStore, membership: { readonly current: { readonly state: ClusterState } | undefined }): Generator<Project> {
  for (const d of store.listDeployments()) yield d.spec as Project;
  const state = membership.current?.state;
  if (!state) return;
  for (const e of Object.values(state.deployments)) if (!e.deleted) yield e.value.spec as unknown as Project;
}

/** The node's controllers, in start order (stop is the reverse), with the ones others reach for. */
export interface AgentControllers {
  readonly set: ControllerSet;
  readonly membership: ClusterAgent;
  readonly placement: PlacementController;
  readonly deployments: DeploymentsController;
  /** The node's WireGuard mesh (with a real engine): `prepare()` it before the set starts. */
  readonly mesh?: MeshController;
}

/**
 * Builds every controller of a node around one engine. `ctx.notify` must
 * reach the returned set (startAgent binds it once the set exists). `engine`
 * is the real connection when there is one (its event stream wakes the loop).
 */
export interface BuildOptions {
  /** This node's engine, for the deployments, placement and health controllers. */
  readonly node: NodeEngine;
  /** The real engine connection, when there is one (engine events, registry, secrets). */
  readonly engine?: Engine;
  readonly identity?: { id: string; address: string };
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The cluster network (default UDP + TCP; the simulator's in virtual time). */
  readonly transport?: BindTransport;
  /** SWIM's random seed (the simulator fixes it). */
  readonly seed?: number;
}

export function buildControllers(ctx: AgentContext, o: BuildOptions): AgentControllers {
  const scoped = (component: string): AgentContext => ({ ...ctx, logger: ctx.logger.child({ component }) });
  const { config, store } = ctx;
  // The mesh's key and endpoint and the registry's peer port ride in the gossiped metadata, read when the cluster node starts.
  let mesh: MeshController | undefined;
  let registry: RegistryController | undefined;
  const membership = new ClusterAgent({ config, store, nodeId: ctx.node, logger: ctx.logger, notify: ctx.notify, clock: ctx.clock, extraMeta: [() => mesh?.meta(), () => registry?.meta()], ...(o.identity ? { engine: o.identity } : {}), ...(o.env ? { env: o.env } : {}), ...(o.transport ? { transport: o.transport } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  // The mesh, registry, secrets and ingress need a real engine and host (WireGuard, image pulls, tmpfs mounts, listeners); an in-memory one runs without them.
  const dns = o.engine ? new DnsController(scoped("dns"), { membership }) : undefined;
  mesh = o.engine ? new MeshController(scoped("mesh"), { membership, ...(dns ? { resolver: dns } : {}) }) : undefined;
  const placement = new PlacementController(scoped("placement"), { membership, engine: o.node });
  registry = o.engine ? new RegistryController(scoped("registry"), { engine: o.engine, membership, deployments: () => knownProjects(store, membership) }) : undefined;
  // A rotation restarts containers under their deployment's lock (`deployments` is set below, before anything runs).
  const secrets = o.engine ? new SecretsController(scoped("secrets"), { membership, engine: o.engine, exclusive: (name, fn) => deployments.reconciler.exclusive(name, fn) }) : undefined;
  // Before deployments: the reconciler drains a replica through it before stopping it.
  const ingress = o.engine ? new IngressController(scoped("ingress"), { membership, engine: o.engine }) : undefined;
  const deployments = new DeploymentsController(scoped("deployments"), {
    engine: o.node,
    cluster: { membership, placement },
    ...(registry && config.registry.enabled ? { images: registry } : {}),
    ...(secrets ? { secrets } : {}),
    ...(ingress ? { drain: ingress } : {}),
    // Refused before anything is stored: ingress claims (ports, hosts, paths), then network subnets.
    ...(ingress || mesh
      ? {
          admit: {
            admit: (name: string, project: Project) => {
              ingress?.admit(name, project);
              mesh?.admit(name, project);
            },
          },
        }
      : {}),
    ...(mesh ? { network: { shape: (n: string, d: Parameters<MeshController["shape"]>[1], a: Parameters<MeshController["shape"]>[2]) => mesh!.shape(n, d, a), prepareContainer: () => mesh!.prepareContainer() } } : {}),
    ...(dns ? { resolver: dns } : {}),
  });
  const set = new ControllerSet(
    [
      ...(o.engine ? [new EngineEventsController(scoped("engine-events"), o.engine, { reconnectMs: config.engine.events_reconnect })] : []),
      ...(registry ? [registry] : []),
      deployments,
      new HealthController(scoped("health"), o.node, { intervalMs: config.health.interval }),
      placement,
      ...(mesh ? [mesh] : []),
      ...(dns ? [dns] : []),
      membership,
      ...(secrets ? [secrets] : []),
      ...(ingress ? [ingress] : []),
      new EventRetentionController(scoped("events")),
    ],
    ctx.logger,
  );
  return { set, membership, placement, deployments, ...(mesh ? { mesh } : {}) };
}

export interface RunningAgent {
  readonly listening: readonly Listening[];
  readonly config: AgentConfig;
  readonly store: AgentStore;
  readonly events: EventFeed;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  readonly controllers: ControllerSet;
  /** Resolves once the agent has shut down (signal or stop()). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, o: { ctx: Context; handleSignals?: boolean; adoptEngine?: boolean }): Promise<RunningAgent> {
  const logger = createLogger({ level: config.log.level, format: config.log.format === "auto" ? undefined : config.log.format, color: o.ctx.global.color });
  // A SIGTERM that arrives while the controllers start (the API already answers
  // then) is kept and acted on once stop() exists, instead of killing the
  // process mid-start with the store open.
  let earlySignal: NodeJS.Signals | undefined;
  const onEarlySignal = (sig: NodeJS.Signals) => (earlySignal ??= sig);
  const dropEarlySignals = () => {
    process.off("SIGTERM", onEarlySignal);
    process.off("SIGINT", onEarlySignal);
  };
  if (o.handleSignals !== false) {
    process.on("SIGTERM", onEarlySignal);
    process.on("SIGINT", onEarlySignal);
  }
  // The node's secrets stay the node's: data directory 0700, its files 0600, whatever was there before.
  const { agentStorePath, octal, securePrivateDir } = await import("../../platform/data-dir.ts");
  for (const f of securePrivateDir(config.data_dir)) logger.warn({ path: f.path, was: octal(f.was), now: octal(f.now) }, `${f.path} was open to other users (mode ${octal(f.was)}); made it ${octal(f.now)}`);
  // One agent per data directory (a second one would reconcile the same deployments from the same store).
  const { lockDataDir } = await import("../../platform/store/data-dir-lock.ts");
  const dirLock = lockDataDir(config.data_dir);
  let store: AgentStore;
  try {
    store = AgentStore.open(agentStorePath(config.data_dir));
  } catch (e) {
    dirLock.release();
    dropEarlySignals();
    throw e;
  }
  const closeStore = () => {
    store.close();
    dirLock.release();
  };
  const nodeId = store.nodeId();
  const nodeLogger = logger.child({ node: nodeId.slice(0, 8) });
  const events = new EventFeed(store, { logger: nodeLogger.child({ component: "events" }) });
  const metrics = createMetrics();

  let access: Awaited<ReturnType<typeof readApiAccess>>;
  let engine: Awaited<ReturnType<typeof connectEngine>>;
  try {
    access = await readApiAccess(config, logger);
    engine = await connectRecordedEngine(config, store, metrics.observeEngineRequest);
  } catch (e) {
    closeStore();
    dropEarlySignals();
    throw e;
  }
  let engineIdentity: Awaited<ReturnType<typeof readEngineIdentity>>;
  try {
    engineIdentity = await readEngineIdentity(engine);
  } catch (e) {
    await engine.close();
    closeStore();
    dropEarlySignals();
    throw e;
  }
  nodeLogger.info({ engine: engine.name, api: engine.apiVersion, address: engine.endpoint.address, id: engineIdentity.id, node: nodeId }, "engine connected");
  // The deployments stored here run on the engine recorded with them: another engine is refused, or adopted on purpose.
  const check = checkRecordedEngine({ recorded: store.getMeta(ENGINE_META), current: engineIdentity, deployments: store.deploymentGenerations().map(([n]) => n), adopt: o.adoptEngine === true, dataDir: config.data_dir });
  if (!check.ok) {
    await engine.close();
    closeStore();
    dropEarlySignals();
    throw check.error;
  }
  if (check.record) store.setMeta(ENGINE_META, JSON.stringify(engineIdentity));
  if (check.adopted) nodeLogger.warn({ deployments: check.adopted, engine: engineIdentity.address }, `--adopt-engine: ${check.adopted.length} deployment(s) move onto ${engineIdentity.name} (${engineIdentity.address})`);

  // Controllers announce changes to each other through `notify`; the set exists once they all do.
  let controllers: ControllerSet | undefined;
  const ctx: AgentContext = {
    config,
    node: nodeId,
    fizzVersion: VERSION,
    store,
    events,
    metrics,
    logger: nodeLogger,
    notify: (c: Change) => controllers?.notify(c),
    now: systemClock.now,
    clock: systemClock,
  };
  const built = buildControllers(ctx, { node: engineNode(engine), engine, identity: engineIdentity });
  await built.mesh?.prepare();
  controllers = built.set;

  const router = mountRoutes([
    systemRoutes({
      metrics: config.metrics.enabled ? metrics : undefined,
      // The engine instance lets the CLI compare engines by identity, not name.
      info: () => ({ node: nodeId, version: versionLine(), runtime: runtimeVersion(), pid: process.pid, engine: engineIdentity }),
    }),
    eventRoutes(events),
    ...controllers.routes(),
  ]);
  const server = createApiServer({
    router,
    token: access.token,
    tls: access.tls,
    limits: { maxBodyBytes: config.api.max_body_bytes },
    logger: nodeLogger.child({ component: "api" }),
    metrics,
  });
  const listening: Listening[] = [];
  try {
    if (config.api.socket) {
      const { resolveGroup } = await import("../../platform/api/listen.ts");
      const socketGid = config.api.socket_group ? resolveGroup(config.api.socket_group) : undefined;
      listening.push(await server.listen({ kind: "unix", path: config.api.socket }, { socketMode: config.api.socket_mode, ...(socketGid !== undefined ? { socketGid } : {}) }));
    }
    if (config.api.tcp.listen) {
      const a = parseApiAddress(config.api.tcp.listen);
      if (a.kind === "tcp") listening.push(await server.listen({ ...a, tls: access.tls !== undefined }));
    }
  } catch (e) {
    await server.close();
    await engine.close();
    closeStore();
    dropEarlySignals();
    throw e;
  }
  for (const l of listening) {
    const where = l.kind === "unix" ? `unix:${l.path}` : `${l.tls ? "https" : "http"}://${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;
    nodeLogger.info({ address: where, ...(l.kind === "tcp" ? { tokenFile: access.tokenFile } : {}) }, `API listening on ${where}`);
  }
  events.append({ at: Date.now(), type: "agent.started", message: `agent ${nodeId} started`, data: { pid: process.pid } });
  await controllers.start();

  // Startup is over once the first reconcile pass has had a moment to run: from
  // here the agent mostly idles, so give back what starting it left behind.
  const settleTimer = setTimeout(settleAfterStartup, 1_000);
  settleTimer.unref?.();
  // Garbage that owns native memory is collected before it piles up (issue 18: RSS bounded under a request flood).
  const memoryGuard = startMemoryGuard({ onCollect: (before, after, ms) => nodeLogger.debug({ rssBefore: before, rssAfter: after, ms: Math.round(ms) }, "memory guard: full collection") });

  // A bug in one request or background task must not take the node down:
  // log it and keep serving (the API already answers such requests with 500).
  const onRejection = (e: unknown) => nodeLogger.error({ err: e }, "unhandled rejection");
  const onException = (e: unknown) => nodeLogger.error({ err: e }, "uncaught exception");
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const set = controllers;
  const stop = () =>
    (stopping ??= (async () => {
      nodeLogger.info("stopping");
      clearTimeout(settleTimer);
      memoryGuard.stop();
      await server.close();
      await set.stop();
      await engine.close().catch((e: unknown) => nodeLogger.error({ err: e }, "closing the engine connection failed"));
      events.append({ at: Date.now(), type: "agent.stopped", message: `agent ${nodeId} stopped` });
      closeStore();
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      nodeLogger.info("stopped");
      resolveStopped();
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    nodeLogger.info({ signal: sig }, "signal received");
    void stop();
  };
  if (o.handleSignals !== false) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    dropEarlySignals();
    if (earlySignal) onSignal(earlySignal);
  }
  return { listening, config, store, events, metrics, logger: nodeLogger, controllers: set, stopped, stop };
}

/** Where the data directory records the engine its deployments run on (core/engine/recorded.ts). */
const ENGINE_META = "engine_identity";

/**
 * The engine named (--engine, config, FIZZ_ENGINE, DOCKER_HOST); when none is,
 * the one the stored deployments run on, so a restarted agent finds them
 * again; else the usual sockets.
 */
async function connectRecordedEngine(config: AgentConfig, store: AgentStore, onRequest: (op: string, seconds: number) => void): Promise<Engine> {
  const named = config.engine.host || (config.engine.kind === "auto" ? undefined : config.engine.kind);
  const recorded = readRecordedEngine(store.getMeta(ENGINE_META));
  if (!named && recorded && detectEndpoint().source === "default" && store.deploymentGenerations().length > 0) {
    try {
      return await connectEngine({ endpoint: parseEngineAddress(recorded.address, "default"), onRequest });
    } catch {
      /* gone: the usual sockets, and the check after connecting says what changed */
    }
  }
  return connectEngine({ engine: named, onRequest });
}
