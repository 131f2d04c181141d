/**
 * The node config: every option, its type, its default and what it trades.
 * The YAML file, FIZZ_* variables and flags all name options by the same
 * dotted path (`api.tcp.listen` ⇔ `FIZZ_API_TCP_LISTEN`), so one table
 * drives parsing, error messages and the reference in examples/config.yaml.
 */

import { MAX_BODY_BYTES } from "../limits.ts";
import { DEFAULT_PREFETCH } from "../registry/prefetch.ts";

export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export type EngineKind = "auto" | "docker" | "podman";

export interface AgentConfig {
  /** State database, generated API token, caches. */
  data_dir: string;
  api: {
    /** Unix socket path; "" disables the socket listener. */
    socket: string;
    /** File mode of the socket (owner and group may use the API). */
    socket_mode: number;
    /** Group owning the socket (name or gid); "" = the agent's own group. */
    socket_group: string;
    /** Largest request body in bytes (compose files travel in it). */
    max_body_bytes: number;
    tcp: {
      /** `<ip>:<port>` to also serve the API on TCP; "" = off. */
      listen: string;
      /** File holding the bearer token; "" = `<data_dir>/api-token`, generated on first start. */
      token_file: string;
      tls: { cert: string; key: string };
    };
  };
  engine: {
    kind: EngineKind;
    /** unix:///path.sock or tcp://host:port; "" = DOCKER_HOST, then the usual sockets. */
    host: string;
    /** Milliseconds before reopening the engine's event stream after it ended. */
    events_reconnect: number;
  };
  log: { level: LogLevelName; format: "auto" | "json" | "pretty" };
  reconcile: {
    /** Milliseconds between level-triggered passes (engine events wake it earlier). */
    interval: number;
    /** Engine operations run at once while executing a plan. */
    parallelism: number;
    /** How often a wait (`up --wait`, a change being followed, readiness) looks again (ms). */
    wait_poll: number;
    /** Longest a change is followed when the client gave no timeout (ms). */
    wait_timeout: number;
    /** Milliseconds a woken loop waits before its pass, so a burst of wakes makes one pass. */
    wake_delay: number;
  };
  health: {
    /** Milliseconds between a deployment's health checks (restarts of unhealthy containers). */
    interval: number;
  };
  cluster: {
    /** `<ip>:<port>` for gossip (UDP) and state sync (TCP). */
    bind: string;
    /** Address other nodes use to reach this one; "" = the bind address. */
    advertise: string;
    join: string[];
    labels: Record<string, string>;
    /** This node's name in `fizz nodes`, placement explanations and messages; "" = the host name. */
    name: string;
    /** Let this node join a cluster in which a live member already drives its engine. */
    allow_shared_engine: boolean;
    /** A restarted member acts after it has rejoined, or after this many ms with no peer answering. */
    settle_timeout: number;
    /** Longest wait between two attempts of a restarted member to rejoin its peers (ms). */
    rejoin_backoff_max: number;
    /** `fizz join` gives up when no seed answered within this many ms. */
    join_timeout: number;
    /** At most this often (ms) the replicated state is written to the store after it changed. */
    state_persist_interval: number;
    /** SWIM: time between failure probes (ms). */
    probe_interval: number;
    /** SWIM: wait for a direct ack before probing through peers (ms). */
    probe_timeout: number;
    /** Time between gossip rounds (ms). */
    gossip_interval: number;
    /** Base period of the full state exchange with a random peer (ms). */
    push_pull_interval: number;
    /** A dead member is retried this often, so healed partitions merge (ms). */
    reconnect_interval: number;
  };
  ingress: {
    /** Serve published ports and x-fizz.ingress routes on this node. */
    enabled: boolean;
    /** Address the ingress listeners bind. */
    bind: string;
    /** Port of the node-to-node relay (on the cluster address); other nodes reach this node's replicas through it. */
    relay_port: number;
    /** CIDR ranges whose X-Forwarded-For / Forwarded headers are believed (load balancers in front). */
    trusted_proxies: string[];
    /** CIDR ranges that must send a PROXY protocol header first (load balancers in front). */
    accept_proxy_from: string[];
    /** How long a request waits for a ready replica before 503 (ms). */
    wait_for_ready: number;
    /** Bound on connecting to a replica before trying another (ms). */
    connect_timeout: number;
    /** Time between two route refreshes when nothing woke the controller (ms). */
    refresh: number;
    /** Wait after a change (engine event, peer's gossip) before the route refresh it asks for, so a burst makes one (ms). */
    wake_delay: number;
    /** Before a replica stops: least time out of rotation, for the change to reach the listeners (ms). */
    drain_settle: number;
    /** Before a replica stops: most time waited for its requests to finish (ms). */
    drain_timeout: number;
    acme: {
      /** ACME directory URL certificates for TLS routes are ordered from; "" = no ordering. */
      directory: string;
      /** Contact address given to the CA with the account; "" = none. */
      email: string;
      /** PEM file of extra CAs trusted for the directory's own HTTPS (a private or test CA); "" = the system's. */
      ca_file: string;
      /** Bound on one order, from the first request to the issued certificate (ms). */
      order_timeout: number;
      /** Time a published challenge token gets to reach every node before the CA is asked to check it (ms). */
      token_settle: number;
    };
  };
  metrics: { enabled: boolean };
  registry: {
    /** Run the node's OCI registry (pull-through cache, peer-to-peer layers, pushed images). */
    enabled: boolean;
    /** `<ip>:<port>` for clients and this node's engine; anything but loopback requires the cluster's credentials. */
    listen: string;
    /** `<ip>:<port>` where peers fetch layers (mutual TLS); "" = the cluster bind host, port + 1. */
    peer_listen: string;
    /** Address peers use to reach peer_listen; "" = the cluster advertise host, peer port. */
    peer_advertise: string;
    /** Upstreams allowed over plain HTTP (host:port or host). */
    insecure: string[];
    /** docker config.json with upstream credentials; "" = $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
    docker_config: string;
    /** Unused content younger than this (stored or pulled) is kept by GC (ms). */
    gc_grace: number;
    /** Time between automatic GC runs (ms); 0 = only `fizz registry gc`. */
    gc_interval: number;
    /** Blobs of a pulled image fetched ahead at a time, before the client asks (docs/ENGINEERING.md, the registry); 0 = off. */
    prefetch: number;
  };
  mesh: {
    /** Bring up the node's end of the cluster mesh once it is in a cluster. */
    enabled: boolean;
    /** Name of the mesh interface (distinct per host when several share a machine's /var/run). */
    interface: string;
    /** UDP port of the mesh endpoint. */
    port: number;
    /** The cluster's address range for compose networks and node mesh addresses (CIDR). */
    range: string;
    /** Milliseconds between full checks of the mesh (interface, peers and firewall read back, drift repaired). */
    check_interval: number;
  };
  dns: {
    /** Serve the cluster resolver on the gateway of every cluster network on this node. */
    enabled: boolean;
    /** Resolvers for names that are not the cluster's (ip or ip:port); empty = the nameservers of /etc/resolv.conf. */
    upstreams: string[];
    /** How long a forwarded query waits for an upstream before the asker gets SERVFAIL (ms). */
    forward_timeout: number;
  };
  events: {
    /** Milliseconds events are kept in the store (SSE resume reaches back this far). */
    retention: number;
    /** Milliseconds between two prunings of the event log. */
    prune_interval: number;
  };
  secrets: {
    /** Memory-backed directory for delivered files; "" = /run/fizz/secrets/<node id> (root) or under $XDG_RUNTIME_DIR / /tmp. */
    dir: string;
    /** Size of the tmpfs Fizz mounts there when the directory is not memory-backed already. */
    tmpfs_size: number;
    /** Milliseconds between passes of the secrets loop (seal status, shares, rotation; changes wake it earlier). */
    interval: number;
  };
}

export type FieldType =
  | { readonly t: "string" }
  | { readonly t: "path" }
  | { readonly t: "int"; readonly min: number; readonly max: number }
  | { readonly t: "bool" }
  | { readonly t: "duration"; readonly minMs: number }
  | { readonly t: "mode" }
  | { readonly t: "enum"; readonly values: readonly string[] }
  /** `<host>:<port>` or empty. */
  | { readonly t: "hostport" }
  | { readonly t: "list" }
  | { readonly t: "map" };

export interface FieldSpec {
  readonly type: FieldType;
  readonly doc: string;
}

export interface SectionSpec {
  readonly doc: string;
  readonly fields: Readonly<Record<string, Spec>>;
}

export type Spec = FieldSpec | SectionSpec;

export const isSection = (s: Spec): s is SectionSpec => "fields" in s;

export const SCHEMA: SectionSpec = {
  doc: "fizz agent node configuration",
  fields: {
    data_dir: { type: { t: "path" }, doc: "Directory for the state database and the generated API token" },
    api: {
      doc: "Where the REST API listens",
      fields: {
        socket: { type: { t: "path" }, doc: "Unix socket path; empty disables it" },
        socket_mode: { type: { t: "mode" }, doc: "File mode of the socket, octal" },
        socket_group: { type: { t: "string" }, doc: "Group owning the socket (name or gid); empty = the agent's group" },
        max_body_bytes: { type: { t: "int", min: 1024, max: 1 << 30 }, doc: "Largest accepted request body" },
        tcp: {
          doc: "Optional TCP listener (bearer token required)",
          fields: {
            listen: { type: { t: "hostport" }, doc: "<ip>:<port>; empty disables TCP" },
            token_file: { type: { t: "path" }, doc: "File with the bearer token; empty = <data_dir>/api-token (generated)" },
            tls: {
              doc: "Serve TCP over TLS",
              fields: {
                cert: { type: { t: "path" }, doc: "PEM certificate (chain)" },
                key: { type: { t: "path" }, doc: "PEM private key" },
              },
            },
          },
        },
      },
    },
    engine: {
      doc: "The container engine this node drives",
      fields: {
        kind: { type: { t: "enum", values: ["auto", "docker", "podman"] }, doc: "auto, docker or podman" },
        host: { type: { t: "string" }, doc: "Engine address (unix:///path.sock, tcp://host:port); empty = auto-detect" },
        events_reconnect: { type: { t: "duration", minMs: 10 }, doc: "Wait before reopening the engine's event stream" },
      },
    },
    log: {
      doc: "Agent logs (stderr)",
      fields: {
        level: { type: { t: "enum", values: ["trace", "debug", "info", "warn", "error", "fatal", "silent"] }, doc: "Minimum level" },
        format: { type: { t: "enum", values: ["auto", "json", "pretty"] }, doc: "json, pretty, or auto (pretty on a TTY)" },
      },
    },
    reconcile: {
      doc: "The reconcile loop",
      fields: {
        interval: { type: { t: "duration", minMs: 100 }, doc: "Time between passes (e.g. 10s, 500ms)" },
        parallelism: { type: { t: "int", min: 1, max: 256 }, doc: "Engine operations at once" },
        wake_delay: { type: { t: "duration", minMs: 0 }, doc: "Wait after a wake before the pass (coalesces bursts)" },
        wait_poll: { type: { t: "duration", minMs: 10 }, doc: "How often a wait looks again" },
        wait_timeout: { type: { t: "duration", minMs: 1000 }, doc: "Longest a change is followed when the client gave no timeout" },
      },
    },
    health: {
      doc: "Health monitoring (restarts of unhealthy containers)",
      fields: { interval: { type: { t: "duration", minMs: 100 }, doc: "Time between a deployment's health checks" } },
    },
    cluster: {
      doc: "Cluster membership (used once the node joins a cluster)",
      fields: {
        bind: { type: { t: "hostport" }, doc: "<ip>:<port> for gossip and state sync" },
        advertise: { type: { t: "hostport" }, doc: "Address peers use; empty = bind" },
        join: { type: { t: "list" }, doc: "Peers to contact on start" },
        labels: { type: { t: "map" }, doc: "Node labels for placement constraints" },
        name: { type: { t: "string" }, doc: "This node's name; empty = the host name" },
        allow_shared_engine: { type: { t: "bool" }, doc: "Join even when a live member drives the same engine (protocol trials only)" },
        settle_timeout: { type: { t: "duration", minMs: 0 }, doc: "A restarted member acts after rejoining, or after this long alone" },
        rejoin_backoff_max: { type: { t: "duration", minMs: 100 }, doc: "Longest wait between rejoin attempts" },
        join_timeout: { type: { t: "duration", minMs: 100 }, doc: "Time `fizz join` waits for a seed" },
        state_persist_interval: { type: { t: "duration", minMs: 10 }, doc: "Longest wait before a changed cluster state is written to the store" },
        probe_interval: { type: { t: "duration", minMs: 10 }, doc: "Time between failure probes (SWIM)" },
        probe_timeout: { type: { t: "duration", minMs: 5 }, doc: "Wait for a direct ack before probing through peers" },
        gossip_interval: { type: { t: "duration", minMs: 5 }, doc: "Time between gossip rounds" },
        push_pull_interval: { type: { t: "duration", minMs: 0 }, doc: "Base period of the full state exchange (0 = off)" },
        reconnect_interval: { type: { t: "duration", minMs: 10 }, doc: "How often a dead member is retried" },
      },
    },
    ingress: {
      doc: "Ingress: published ports and HTTP routes served on every node",
      fields: {
        enabled: { type: { t: "bool" }, doc: "Serve ingress ports and routes on this node" },
        bind: { type: { t: "string" }, doc: "Address the ingress listeners bind" },
        relay_port: { type: { t: "int", min: 1, max: 65535 }, doc: "Node-to-node relay port (other nodes reach this node's replicas through it)" },
        trusted_proxies: { type: { t: "list" }, doc: "CIDRs whose X-Forwarded-For/Forwarded headers are believed" },
        accept_proxy_from: { type: { t: "list" }, doc: "CIDRs that must send a PROXY protocol header first" },
        wait_for_ready: { type: { t: "duration", minMs: 0 }, doc: "How long a request waits for a ready replica (then 503)" },
        connect_timeout: { type: { t: "duration", minMs: 10 }, doc: "Bound on connecting to a replica before trying another" },
        refresh: { type: { t: "duration", minMs: 100 }, doc: "Time between route refreshes when nothing changed" },
        wake_delay: { type: { t: "duration", minMs: 0 }, doc: "Wait after a change before the route refresh it asks for (coalesces bursts)" },
        drain_settle: { type: { t: "duration", minMs: 0 }, doc: "Least time a stopping replica is out of rotation before it stops" },
        drain_timeout: { type: { t: "duration", minMs: 0 }, doc: "Most time a stopping replica's requests get to finish" },
        acme: {
          doc: "Automatic TLS: certificates for x-fizz.ingress hosts with tls: true, ordered over ACME (HTTP-01)",
          fields: {
            directory: { type: { t: "string" }, doc: "ACME directory URL; empty = no ordering (Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory)" },
            email: { type: { t: "string" }, doc: "Contact address for the ACME account; empty = none" },
            ca_file: { type: { t: "path" }, doc: "PEM file of CAs trusted for the directory's HTTPS; empty = the system's" },
            order_timeout: { type: { t: "duration", minMs: 1000 }, doc: "Bound on one order" },
            token_settle: { type: { t: "duration", minMs: 0 }, doc: "Time a challenge token gets to reach every node before the CA checks it" },
          },
        },
      },
    },
    metrics: {
      doc: "Prometheus metrics at /metrics",
      fields: { enabled: { type: { t: "bool" }, doc: "Serve /metrics" } },
    },
    registry: {
      doc: "The node's OCI registry: pull-through cache, peer-to-peer layers, pushed images",
      fields: {
        enabled: { type: { t: "bool" }, doc: "Run the registry" },
        listen: { type: { t: "hostport" }, doc: "<ip>:<port> for clients and the engine; non-loopback needs credentials" },
        peer_listen: { type: { t: "hostport" }, doc: "<ip>:<port> for peers (mutual TLS); empty = cluster bind host, port + 1" },
        peer_advertise: { type: { t: "hostport" }, doc: "Address peers use; empty = cluster advertise host, peer port" },
        insecure: { type: { t: "list" }, doc: "Upstreams allowed over plain HTTP (host:port or host)" },
        docker_config: { type: { t: "path" }, doc: "docker config.json with upstream credentials; empty = $DOCKER_CONFIG or ~/.docker" },
        gc_grace: { type: { t: "duration", minMs: 0 }, doc: "Unused content younger than this stays" },
        gc_interval: { type: { t: "duration", minMs: 0 }, doc: "Time between automatic GC runs; 0 = manual only" },
        prefetch: { type: { t: "int", min: 0, max: 64 }, doc: "Blobs of a pulled image fetched ahead at a time, before the client asks; 0 = off" },
      },
    },
    mesh: {
      doc: "The cluster mesh: WireGuard (or VXLAN) between nodes, cluster-wide compose networks",
      fields: {
        enabled: { type: { t: "bool" }, doc: "Run the mesh in a cluster" },
        interface: { type: { t: "string" }, doc: "Mesh interface name" },
        port: { type: { t: "int", min: 1, max: 65535 }, doc: "UDP port of the mesh endpoint" },
        range: { type: { t: "string" }, doc: "Cluster address range (CIDR) for networks and node mesh addresses" },
        check_interval: { type: { t: "duration", minMs: 1000 }, doc: "Time between full checks of the mesh (interface, peers and firewall read back, drift repaired); a change in between applies only what differs" },
      },
    },
    dns: {
      doc: "The cluster resolver containers on cluster networks use (service names across nodes)",
      fields: {
        enabled: { type: { t: "bool" }, doc: "Serve the cluster resolver on each cluster network's gateway" },
        upstreams: { type: { t: "list" }, doc: "Resolvers for other names (ip or ip:port); empty = /etc/resolv.conf" },
        forward_timeout: { type: { t: "duration", minMs: 100 }, doc: "Deadline for an upstream answer (then SERVFAIL)" },
      },
    },
    events: {
      doc: "The event log (GET /v1/events)",
      fields: {
        retention: { type: { t: "duration", minMs: 60_000 }, doc: "How long events are kept" },
        prune_interval: { type: { t: "duration", minMs: 1000 }, doc: "Time between prunings of old events" },
      },
    },
    secrets: {
      doc: "Secrets: where delivered files live, how often the loop runs",
      fields: {
        dir: { type: { t: "path" }, doc: "Memory-backed directory for delivered secret files; empty = per node under /run/fizz/secrets" },
        tmpfs_size: { type: { t: "int", min: 1_048_576, max: 17_179_869_184 }, doc: "Bytes of the tmpfs mounted there when needed" },
        interval: { type: { t: "duration", minMs: 100 }, doc: "Time between passes of the secrets loop" },
      },
    },
  },
};

/** Where the process runs, for computing defaults (injected: this module does no I/O). */
export interface HostFacts {
  readonly uid: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
}

export function dataDirDefault(h: HostFacts): string {
  if (h.uid === 0) return "/var/lib/fizz";
  const xdg = h.env.XDG_DATA_HOME;
  return `${xdg && xdg.startsWith("/") ? xdg : `${h.home}/.local/share`}/fizz`;
}

export function socketDefault(h: HostFacts, dataDir: string): string {
  if (h.uid === 0) return "/run/fizz/fizz.sock";
  const run = h.env.XDG_RUNTIME_DIR;
  return run && run.startsWith("/") ? `${run}/fizz/fizz.sock` : `${dataDir}/fizz.sock`;
}

/** The config file read when --config / FIZZ_CONFIG are not given (a missing one is fine). */
export function configFileDefault(h: HostFacts): string {
  if (h.uid === 0) return "/etc/fizz/config.yaml";
  const xdg = h.env.XDG_CONFIG_HOME;
  return `${xdg && xdg.startsWith("/") ? xdg : `${h.home}/.config`}/fizz/config.yaml`;
}

/** Defaults; `data_dir` and `api.socket` depend on the user (root or not). */
export function defaults(h: HostFacts): AgentConfig {
  const data_dir = dataDirDefault(h);
  return {
    data_dir,
    api: {
      socket: socketDefault(h, data_dir),
      socket_mode: 0o660,
      socket_group: "",
      max_body_bytes: MAX_BODY_BYTES,
      tcp: { listen: "", token_file: "", tls: { cert: "", key: "" } },
    },
    engine: { kind: "auto", host: "", events_reconnect: 1000 },
    log: { level: "info", format: "auto" },
    reconcile: { interval: 10_000, parallelism: 4, wake_delay: 200, wait_poll: 250, wait_timeout: 600_000 },
    health: { interval: 2000 },
    cluster: { bind: "0.0.0.0:7946", advertise: "", join: [], labels: {}, name: "", allow_shared_engine: false, settle_timeout: 10_000, rejoin_backoff_max: 30_000, join_timeout: 10_000, state_persist_interval: 1000, probe_interval: 1000, probe_timeout: 500, gossip_interval: 200, push_pull_interval: 30_000, reconnect_interval: 15_000 },
    ingress: { enabled: true, bind: "0.0.0.0", relay_port: 7948, trusted_proxies: [], accept_proxy_from: [], wait_for_ready: 10_000, connect_timeout: 2_000, refresh: 2_000, wake_delay: 100, drain_settle: 1_000, drain_timeout: 10_000, acme: { directory: "", email: "", ca_file: "", order_timeout: 120_000, token_settle: 2_000 } },
    metrics: { enabled: true },
    registry: { enabled: true, listen: "127.0.0.1:5050", peer_listen: "", peer_advertise: "", insecure: [], docker_config: "", gc_grace: 72 * 3_600_000, gc_interval: 3_600_000, prefetch: DEFAULT_PREFETCH },
    mesh: { enabled: true, interface: "fizz0", port: 51820, range: "10.208.0.0/12", check_interval: 30_000 },
    dns: { enabled: true, upstreams: [], forward_timeout: 2000 },
    events: { retention: 7 * 24 * 3_600_000, prune_interval: 3_600_000 },
    secrets: { dir: "", tmpfs_size: 64 << 20, interval: 2000 },
  };
}

/** Every field as [dotted path, spec], depth first. */
export function fields(spec: SectionSpec = SCHEMA, prefix = ""): [string, FieldSpec][] {
  const out: [string, FieldSpec][] = [];
  for (const [k, s] of Object.entries(spec.fields)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isSection(s)) out.push(...fields(s, p));
    else out.push([p, s]);
  }
  return out;
}

/** `api.tcp.listen` → `FIZZ_API_TCP_LISTEN`. */
export const envName = (path: string) => `FIZZ_${path.replace(/\./g, "_").toUpperCase()}`;
