/**
 * `fizz agent`: the long-running daemon. Resolves the node config (defaults <
 * file < FIZZ_* < flags), opens the state database in the data directory,
 * serves the REST API on the unix socket and optionally TCP (token, TLS),
 * and stops cleanly on SIGTERM/SIGINT. Several agents can share a machine
 * with distinct --data-dir and --api.
 *
 * The engine side plugs in at `makeBackend` below (the integration point).
 */
import type { RegisterVerb } from "./command.ts";
import { optList, optString } from "./command.ts";
import type { Context } from "./context.ts";
import { usageError } from "../core/errors.ts";
import type { AgentConfig, HostFacts } from "../core/agent-config/index.ts";
import type { AgentStore } from "../platform/store/index.ts";
import type { EngineIdentity } from "../core/engine/identity.ts";
import type { AgentBackend, EventFeed, Listening } from "../platform/api/index.ts";
import type { AgentMetrics } from "../platform/metrics.ts";
import type { Logger } from "../platform/log.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("agent", "Run the fizz agent (foreground daemon): state, reconciliation, REST API")
    .option("--data-dir <dir>", "State directory (default /var/lib/fizz as root, $XDG_DATA_HOME/fizz otherwise)")
    .option("--config <file>", "Node config file (default /etc/fizz/config.yaml as root; also FIZZ_CONFIG)")
    .option("--api <addr>", "Listen on unix:<path> and/or <ip>:<port> (repeatable; TCP needs a token)")
    .option("--api-token-file <file>", "Bearer token for TCP (default <data-dir>/api-token, generated)")
    .option("--tls-cert <file>", "TLS certificate (PEM) for the TCP listener")
    .option("--tls-key <file>", "TLS private key (PEM) for the TCP listener")
    .option("--engine <engine>", "docker, podman, or an address (unix:///path.sock, tcp://host:port)")
    .option("--bind <addr>", "Cluster traffic (UDP+TCP) on <ip>[:port] (default port 7946; config cluster.bind)")
    .action(
      action(async (ctx, args, options) => {
        if (args.length) throw usageError(`'fizz agent' takes no arguments, got '${args[0]}'`);
        const { readFileSync, existsSync } = await import("node:fs");
        const { homedir } = await import("node:os");
        const { configFileDefault, resolveAgentConfig } = await import("../core/agent-config/index.ts");
        const facts: HostFacts = { uid: process.getuid?.() ?? 1000, env: process.env, home: homedir() };
        const explicit = optString(options, "config") ?? process.env.FIZZ_CONFIG;
        const file = explicit ?? configFileDefault(facts);
        let fileText: string | undefined;
        if (explicit !== undefined || existsSync(file)) {
          try {
            fileText = readFileSync(file, "utf8");
          } catch (e) {
            throw usageError(`cannot read config file ${file}: ${(e as Error).message}`);
          }
        }
        const flags = {
          dataDir: optString(options, "dataDir"),
          api: optList(options, "api"),
          apiTokenFile: optString(options, "apiTokenFile"),
          tlsCert: optString(options, "tlsCert"),
          tlsKey: optString(options, "tlsKey"),
          logLevel: optString(options, "logLevel"),
          logFormat: optString(options, "logFormat"),
          engine: optString(options, "engine"),
        };
        // --bind is cluster.bind; passed as its FIZZ_* variable, which it overrides like any flag.
        const bind = optString(options, "bind");
        const { withDefaultPort } = await import("../platform/agent/cluster.ts");
        const env = bind === undefined ? process.env : { ...process.env, FIZZ_CLUSTER_BIND: withDefaultPort(bind) };
        const resolved = resolveAgentConfig({ facts, flags, env, file: fileText === undefined ? undefined : { path: file, text: fileText } });
        const agent = await startAgent(resolved.config, { ctx });
        await agent.stopped;
        return 0;
      }),
    );
};

/** What the engine side gets to build its backend and loop. */
export interface AgentDeps {
  readonly config: AgentConfig;
  readonly store: AgentStore;
  /** Append events through this (stores and wakes SSE subscribers). */
  readonly events: EventFeed;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
}

export interface BackendRuntime {
  readonly backend: AgentBackend;
  /** The engine instance the backend drives (reported in /v1/info). */
  readonly engine?: EngineIdentity;
  /** Starts background work (reconcile loop, health monitor) once the API is up. */
  start?(): void | Promise<void>;
  /** Stops background work; called before the store closes. */
  stop?(): Promise<void>;
}

/**
 * The engine side: connects to the configured Docker/Podman engine, serves
 * deployments, containers and logs from it, and runs the reconcile loop and
 * health monitor once the API is up.
 */
export async function makeBackend(deps: AgentDeps): Promise<BackendRuntime> {
  const [{ engineRuntime }, { VERSION }] = await Promise.all([import("../platform/agent/runtime.ts"), import("./version.ts")]);
  const rt = await engineRuntime({ ...deps, fizzVersion: VERSION });
  return { backend: rt.backend, engine: rt.engineIdentity, start: () => rt.start(), stop: () => rt.stop() };
}

export interface RunningAgent {
  readonly listening: readonly Listening[];
  readonly deps: AgentDeps;
  /** Resolves once the agent has shut down (signal or stop()). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, o: { ctx: Context; backendFactory?: (d: AgentDeps) => Promise<BackendRuntime>; handleSignals?: boolean }): Promise<RunningAgent> {
  const { mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { randomBytes } = await import("node:crypto");
  const { createLogger } = await import("../platform/log.ts");
  const { AgentStore } = await import("../platform/store/index.ts");
  const { createApiServer, createRoutes, EventFeed } = await import("../platform/api/index.ts");
  const { createMetrics } = await import("../platform/metrics.ts");
  const { runtimeVersion, settleAfterStartup } = await import("../platform/runtime.ts");
  const { versionLine } = await import("./version.ts");
  const { parseApiAddress } = await import("../core/agent-config/address.ts");

  const logger = createLogger({ level: config.log.level, format: config.log.format === "auto" ? undefined : config.log.format, color: o.ctx.global.color });
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const store = AgentStore.open(join(config.data_dir, "state.db"));
  const nodeId = store.nodeId();
  const nodeLogger = logger.child({ node: nodeId.slice(0, 8) });
  const events = new EventFeed(store, { logger: nodeLogger.child({ component: "events" }) });
  const metrics = createMetrics();
  const deps: AgentDeps = { config, store, events, metrics, logger: nodeLogger };

  let token: string | undefined;
  let tokenFile: string | undefined;
  if (config.api.tcp.listen) {
    tokenFile = config.api.tcp.token_file || join(config.data_dir, "api-token");
    if (!config.api.tcp.token_file && !existsSync(tokenFile)) {
      writeFileSync(tokenFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
      chmodSync(tokenFile, 0o600);
      logger.info({ tokenFile }, "generated an API token for the TCP listener");
    }
    try {
      token = readFileSync(tokenFile, "utf8").trim();
    } catch (e) {
      store.close();
      throw usageError(`cannot read the API token file ${tokenFile}: ${(e as Error).message}`);
    }
    if (token.length < 16) {
      store.close();
      throw usageError(`the API token in ${tokenFile} is shorter than 16 characters`);
    }
  }
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (config.api.tcp.tls.cert) {
    try {
      tls = { cert: readFileSync(config.api.tcp.tls.cert), key: readFileSync(config.api.tcp.tls.key) };
    } catch (e) {
      store.close();
      throw usageError(`cannot read the TLS certificate or key: ${(e as Error).message}`);
    }
  }

  let runtime: BackendRuntime;
  try {
    runtime = await (o.backendFactory ?? makeBackend)(deps);
  } catch (e) {
    store.close();
    throw e;
  }
  const { ClusterAgent, clusterBackend } = await import("../platform/agent/cluster.ts");
  const cluster = new ClusterAgent({ config, store, nodeId, logger: nodeLogger });
  const router = createRoutes({
    backend: clusterBackend(runtime.backend, cluster),
    cluster,
    events,
    metrics: config.metrics.enabled ? metrics : undefined,
    info: () => ({ node: nodeId, version: versionLine(), runtime: runtimeVersion(), pid: process.pid, ...(runtime.engine ? { engine: runtime.engine } : {}) }),
  });
  const server = createApiServer({
    router,
    token,
    tls,
    limits: { maxBodyBytes: config.api.max_body_bytes },
    logger: deps.logger.child({ component: "api" }),
    metrics,
  });
  const listening: Listening[] = [];
  try {
    if (config.api.socket) {
      const { resolveGroup } = await import("../platform/api/listen.ts");
      const socketGid = config.api.socket_group ? resolveGroup(config.api.socket_group) : undefined;
      listening.push(await server.listen({ kind: "unix", path: config.api.socket }, { socketMode: config.api.socket_mode, ...(socketGid !== undefined ? { socketGid } : {}) }));
    }
    if (config.api.tcp.listen) {
      const a = parseApiAddress(config.api.tcp.listen);
      if (a.kind === "tcp") listening.push(await server.listen({ ...a, tls: tls !== undefined }));
    }
  } catch (e) {
    await server.close();
    store.close();
    throw e;
  }
  for (const l of listening) {
    const where = l.kind === "unix" ? `unix:${l.path}` : `${l.tls ? "https" : "http"}://${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;
    deps.logger.info({ address: where, ...(l.kind === "tcp" ? { tokenFile } : {}) }, `API listening on ${where}`);
  }
  events.append({ at: Date.now(), type: "agent.started", message: `agent ${nodeId} started`, data: { pid: process.pid } });
  await runtime.start?.();
  try {
    await cluster.resume();
  } catch (e) {
    deps.logger.error({ err: e }, "resuming the persisted cluster membership failed");
  }

  // Keep the event log bounded: prune past the retention now and hourly.
  const prune = () => {
    try {
      const n = store.pruneEvents(Date.now() - config.events.retention);
      if (n) deps.logger.debug({ pruned: n }, "pruned old events");
    } catch (e) {
      deps.logger.error({ err: e }, "pruning events failed");
    }
  };
  prune();
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref?.();

  // Startup is over once the first reconcile pass has had a moment to run: from
  // here the agent mostly idles, so give back what starting it left behind.
  const settleTimer = setTimeout(settleAfterStartup, 1_000);
  settleTimer.unref?.();

  // A bug in one request or background task must not take the node down:
  // log it and keep serving (the API already answers such requests with 500).
  const onRejection = (e: unknown) => deps.logger.error({ err: e }, "unhandled rejection");
  const onException = (e: unknown) => deps.logger.error({ err: e }, "uncaught exception");
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      deps.logger.info("stopping");
      clearInterval(pruneTimer);
      clearTimeout(settleTimer);
      await server.close();
      try {
        await cluster.stop();
      } catch (e) {
        deps.logger.error({ err: e }, "cluster stop failed");
      }
      try {
        await runtime.stop?.();
      } catch (e) {
        deps.logger.error({ err: e }, "backend stop failed");
      }
      events.append({ at: Date.now(), type: "agent.stopped", message: `agent ${nodeId} stopped` });
      store.close();
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      deps.logger.info("stopped");
      resolveStopped();
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    deps.logger.info({ signal: sig }, "signal received");
    void stop();
  };
  if (o.handleSignals !== false) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  return { listening, deps, stopped, stop };
}
