/**
 * `fizz agent`: the long-running daemon. Resolves the node config (defaults <
 * file < FIZZ_* < flags) and hands it to the composition root
 * (cmd/agent/root.ts), which builds the controllers, serves the REST API on
 * the unix socket and optionally TCP (token, TLS), and stops cleanly on
 * SIGTERM/SIGINT. Several agents can share a machine with distinct
 * --data-dir and --api.
 */
import type { RegisterVerb } from "./command.ts";
import { optList, optString } from "./command.ts";
import { usageError } from "../core/errors.ts";
import type { HostFacts } from "../core/agent-config/index.ts";

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
    .option("--adopt-engine", "Move the deployments stored in --data-dir onto this engine (they were recorded on another one; without it the agent refuses to start)")
    .option("--bind <addr>", "Cluster traffic (UDP+TCP) on <ip>[:port] (default port 7946; config cluster.bind)")
    .option("--registry <addr>", "The node's OCI registry on <ip>:<port> (default 127.0.0.1:5050; non-loopback needs credentials; 'off' disables it)")
    .action(
      action(async (ctx, args, options) => {
        if (args.length) throw usageError(`'fizz agent' takes no arguments, got '${args[0]}'`);
        const { existsSync } = await import("node:fs");
        const { readUserText } = await import("../platform/user-file.ts");
        const { homedir } = await import("node:os");
        const { configFileDefault, resolveAgentConfig } = await import("../core/agent-config/index.ts");
        const facts: HostFacts = { uid: process.getuid?.() ?? 1000, env: process.env, home: homedir() };
        const explicit = optString(options, "config") ?? process.env.FIZZ_CONFIG;
        const file = explicit ?? configFileDefault(facts);
        let fileText: string | undefined;
        if (explicit !== undefined || existsSync(file)) {
          try {
            fileText = readUserText(file, { what: "config file", maxBytes: 1024 * 1024 });
          } catch (e) {
            throw usageError((e as Error).message);
          }
          if (fileText === undefined) throw usageError(`config file ${file} does not exist`);
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
        const { withDefaultPort } = await import("../controllers/cluster/membership.ts");
        const registry = optString(options, "registry");
        const env: Record<string, string | undefined> = bind === undefined ? { ...process.env } : { ...process.env, FIZZ_CLUSTER_BIND: withDefaultPort(bind) };
        // --registry is registry.listen (or `off`: registry.enabled false), likewise.
        if (registry === "off") env.FIZZ_REGISTRY_ENABLED = "false";
        else if (registry !== undefined) env.FIZZ_REGISTRY_LISTEN = registry;
        const resolved = resolveAgentConfig({ facts, flags, env, file: fileText === undefined ? undefined : { path: file, text: fileText } });
        // Everything the agent creates (store, WAL, keys, registry blobs) is the
        // node's own by default; what is meant to be shared (the API socket)
        // gets its mode explicitly.
        process.umask(0o077);
        const { startAgent } = await import("./agent/root.ts");
        const agent = await startAgent(resolved.config, { ctx, adoptEngine: options.adoptEngine === true });
        await agent.stopped;
        return 0;
      }),
    );
};

