/**
 * The normalised compose model: what a compose file *means*, after discovery,
 * interpolation, merge, extends, profiles and validation. Every consumer
 * (planner, engine translator, `fizz config`) reads this and never raw YAML.
 *
 * Conventions (stable, other modules rely on them):
 * - Field names are the compose-spec names (snake_case), so the model maps 1:1
 *   to `docker compose config` output and to the spec's documentation.
 * - Durations are **nanoseconds** as `number` (like Go's time.Duration and the
 *   Engine API's Healthcheck fields). Safe up to ~104 days.
 * - Byte sizes are **bytes** as `number` ("512M" → 536870912).
 * - Absent optional fields are `undefined` (omitted), never a default guessed
 *   by the parser, unless the spec defines the default (noted per field).
 * - Lists keep file order; maps are plain objects with string keys.
 * - `environment`/`build.args` values are `string | null`: null means "declared
 *   without a value" (`- FOO`), which the runtime resolves or drops.
 * - Relative paths (build contexts, bind sources, env_file, secrets/configs
 *   `file:`) are resolved against the project directory.
 */

/** Nanoseconds. */
export type Duration = number;
/** Bytes. */
export type Bytes = number;

export interface Project {
  /** Normalised project name: lower-case [a-z0-9_-], starts with a letter or digit. */
  name: string;
  /** Absolute project directory. */
  working_dir: string;
  /** The compose files that made the project, in merge order (absolute paths). */
  files: string[];
  /** Services enabled by the active profiles, by name. */
  services: Record<string, Service>;
  /** Services defined but disabled by profiles (kept for `config --profiles` and `up <svc>`). */
  disabled_services: Record<string, Service>;
  networks: Record<string, Network>;
  volumes: Record<string, Volume>;
  secrets: Record<string, SecretDef>;
  configs: Record<string, ConfigDef>;
  /** Top-level `x-fizz`, validated. */
  x_fizz: XFizzProject | undefined;
  /** Other top-level `x-*` extensions, untouched. */
  extensions: Record<string, unknown>;
  /** Profiles that were active when the project was loaded. */
  active_profiles: string[];
}

/** A service's `pull_policy:` as written (the planner's PullPolicy is what it means). */
export type ComposePullPolicy = "always" | "never" | "missing" | "build" | "if_not_present" | "daily" | "weekly" | string;
export type RestartPolicyName = "no" | "always" | "on-failure" | "unless-stopped" | string;

export interface Service {
  name: string;
  /** Which profiles enable this service; empty = always enabled. */
  profiles: string[];

  image?: string;
  build?: Build;
  pull_policy?: ComposePullPolicy;
  /** With pull_policy: refresh, how old a local image may get before it is pulled again. */
  pull_refresh_after?: string;
  platform?: string;
  container_name?: string;
  hostname?: string;
  domainname?: string;

  /** null/undefined = image default; [] = explicitly empty. */
  command?: string[] | null;
  entrypoint?: string[] | null;
  working_dir?: string;
  user?: string;
  environment: Record<string, string | null>;
  env_file?: EnvFile[];
  labels: Record<string, string>;
  annotations?: Record<string, string>;

  ports: PortMapping[];
  /** Container ports exposed to linked services only ("3000", "8000-8010/udp"). */
  expose?: string[];
  volumes: VolumeMount[];
  volumes_from?: string[];
  tmpfs?: string[];
  /** Per-network attachment; a service with none declared is attached to `default`. */
  networks: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  /** Keys are service names. */
  depends_on: Record<string, DependsOn>;
  links?: string[];
  external_links?: string[];
  extra_hosts?: Record<string, string[]>;
  dns?: string[];
  dns_opt?: string[];
  dns_search?: string[];
  mac_address?: string;

  healthcheck?: Healthcheck;
  restart?: RestartPolicyName;
  deploy?: Deploy;
  /** `scale:` (legacy) — replicas is in deploy.replicas when both given they must agree. */
  scale?: number;
  stop_grace_period?: Duration;
  stop_signal?: string;
  init?: boolean;
  tty?: boolean;
  stdin_open?: boolean;
  privileged?: boolean;
  read_only?: boolean;

  secrets: ServiceFileRef[];
  configs: ServiceFileRef[];

  logging?: Logging;
  ulimits?: Record<string, Ulimit>;
  sysctls?: Record<string, string>;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  devices?: DeviceMapping[];
  device_cgroup_rules?: string[];
  group_add?: string[];
  ipc?: string;
  pid?: string;
  uts?: string;
  userns_mode?: string;
  cgroup?: "host" | "private" | string;
  cgroup_parent?: string;
  isolation?: string;
  runtime?: string;
  storage_opt?: Record<string, string>;
  shm_size?: Bytes;
  oom_kill_disable?: boolean;
  oom_score_adj?: number;
  pids_limit?: number;

  // Resources (service level, also expressible in deploy.resources).
  cpus?: number;
  cpu_count?: number;
  cpu_percent?: number;
  cpu_shares?: number;
  cpu_period?: number;
  cpu_quota?: number;
  cpu_rt_runtime?: Duration;
  cpu_rt_period?: Duration;
  cpuset?: string;
  mem_limit?: Bytes;
  mem_reservation?: Bytes;
  memswap_limit?: Bytes;
  mem_swappiness?: number;
  blkio_config?: BlkioConfig;

  credential_spec?: Record<string, string>;
  gpus?: GpuRequest[] | "all";
  develop?: Develop;
  pre_start?: LifecycleHook[];
  post_start?: LifecycleHook[];
  pre_stop?: LifecycleHook[];
  attach?: boolean;
  provider?: unknown;
  use_api_socket?: boolean;
  models?: unknown;

  /** Per-service `x-fizz`, validated. */
  x_fizz: XFizzService | undefined;
  /** Other `x-*` keys on the service, untouched. */
  extensions: Record<string, unknown>;
}

export interface Build {
  /** Absolute path, or a URL (git/http) kept as given. */
  context: string;
  dockerfile?: string;
  dockerfile_inline?: string;
  args: Record<string, string | null>;
  target?: string;
  labels?: Record<string, string>;
  cache_from?: string[];
  cache_to?: string[];
  no_cache?: boolean;
  /** Build stages to build without the cache. */
  no_cache_filter?: string[];
  pull?: boolean;
  network?: string;
  shm_size?: Bytes;
  extra_hosts?: Record<string, string[]>;
  isolation?: string;
  privileged?: boolean;
  secrets?: ServiceFileRef[];
  ssh?: Record<string, string | null>;
  tags?: string[];
  platforms?: string[];
  ulimits?: Record<string, Ulimit>;
  additional_contexts?: Record<string, string>;
  entitlements?: string[];
}

export type Protocol = "tcp" | "udp" | "sctp";

/** One container port published (or not) on the host. Ranges are expanded to one entry per port. */
export interface PortMapping {
  /** Container port. */
  target: number;
  /** Host port or range as a string ("8080", "8000-8010"); undefined = engine picks. */
  published?: string;
  /** Host IP to bind; undefined = all interfaces. */
  host_ip?: string;
  protocol: Protocol;
  /** "ingress" (default in long syntax) or "host". */
  mode?: "ingress" | "host";
  app_protocol?: string;
  name?: string;
}

export type VolumeMount =
  | (VolumeMountBase & { type: "bind"; source: string; bind?: BindOptions })
  | (VolumeMountBase & { type: "volume"; source?: string; volume?: VolumeOptions })
  | (VolumeMountBase & { type: "tmpfs"; source?: undefined; tmpfs?: TmpfsOptions })
  | (VolumeMountBase & { type: "npipe" | "cluster" | "image"; source?: string; image?: { subpath?: string } });

export interface VolumeMountBase {
  /** Absolute path in the container. */
  target: string;
  read_only?: boolean;
  consistency?: string;
}

export interface BindOptions {
  propagation?: string;
  create_host_path?: boolean;
  selinux?: "z" | "Z";
  recursive?: string;
}
export interface VolumeOptions {
  nocopy?: boolean;
  subpath?: string;
  labels?: Record<string, string>;
}
export interface TmpfsOptions {
  size?: Bytes;
  mode?: number;
}

export type DependsOnCondition = "service_started" | "service_healthy" | "service_completed_successfully";

export interface DependsOn {
  condition: DependsOnCondition;
  /** Restart this service when the dependency is updated (spec default false). */
  restart: boolean;
  /** When false, a missing/disabled dependency only warns (spec default true). */
  required: boolean;
}

export interface EnvFile {
  /** Absolute path. */
  path: string;
  /** Spec default true. */
  required: boolean;
  format?: string;
}

export interface Healthcheck {
  /** ["NONE"] or ["CMD", …] or ["CMD-SHELL", "…"]; undefined = inherit from image. */
  test?: string[];
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
  /** `disable: true` or test NONE. */
  disable: boolean;
}

export interface Deploy {
  mode?: "replicated" | "global" | "replicated-job" | "global-job";
  replicas?: number;
  endpoint_mode?: "vip" | "dnsrr";
  labels?: Record<string, string>;
  placement?: Placement;
  resources?: Resources;
  restart_policy?: RestartPolicy;
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
}

export interface Placement {
  /** e.g. "node.labels.zone == us-east". */
  constraints: string[];
  /** e.g. [{spread: "node.labels.zone"}]. */
  preferences: { spread: string }[];
  max_replicas_per_node?: number;
}

export interface Resources {
  limits?: ResourceSpec;
  reservations?: ResourceSpec & { devices?: DeviceRequest[]; generic_resources?: unknown[] };
}
export interface ResourceSpec {
  cpus?: number;
  memory?: Bytes;
  pids?: number;
}
export interface DeviceRequest {
  capabilities: string[];
  driver?: string;
  count?: number | "all";
  device_ids?: string[];
  options?: Record<string, string>;
}
export type GpuRequest = DeviceRequest;

export interface RestartPolicy {
  condition?: "none" | "on-failure" | "any";
  delay?: Duration;
  max_attempts?: number;
  window?: Duration;
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: Duration;
  failure_action?: "continue" | "rollback" | "pause";
  monitor?: Duration;
  max_failure_ratio?: number;
  order?: "stop-first" | "start-first";
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  priority?: number;
  gw_priority?: number;
  driver_opts?: Record<string, string>;
  interface_name?: string;
}

/** A service's reference to a top-level secret or config. */
export interface ServiceFileRef {
  source: string;
  /** Spec default: /run/secrets/<source> for secrets, /<source> for configs. */
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
  /**
   * Set on the engine directly for an `environment:` or `content:` definition
   * (core/deploy/local-file-objects.ts): its value's digest, so a new value
   * changes the service's config hash and recreates its containers.
   */
  value_digest?: string;
}

export interface Logging {
  driver?: string;
  options?: Record<string, string>;
}

export interface Ulimit {
  soft: number;
  hard: number;
}

export interface DeviceMapping {
  source: string;
  target: string;
  permissions?: string;
}

export interface BlkioConfig {
  weight?: number;
  weight_device?: { path: string; weight: number }[];
  device_read_bps?: { path: string; rate: Bytes }[];
  device_write_bps?: { path: string; rate: Bytes }[];
  device_read_iops?: { path: string; rate: number }[];
  device_write_iops?: { path: string; rate: number }[];
}

export interface LifecycleHook {
  /** Optional only for pre_start, where the image's entrypoint may be the job. */
  command?: string[];
  /** pre_start only: the image of the one-off container (default: the service's). */
  image?: string;
  /** pre_start only: once per replica rather than once per service. */
  per_replica?: boolean;
  user?: string;
  privileged?: boolean;
  working_dir?: string;
  environment?: Record<string, string | null>;
}

/** `develop:` — what `fizz watch` does when files change. */
export interface Develop {
  watch?: WatchRule[];
}

export type WatchAction = "sync" | "rebuild" | "restart" | "sync+restart" | "sync+exec";

export interface WatchRule {
  /** Absolute path on the host (resolved against the project directory). */
  path: string;
  action: WatchAction;
  /** Path in the container, for the sync actions. */
  target?: string;
  exec?: LifecycleHook;
  /** Patterns (relative to path) that select files; empty = every file. */
  include?: string[];
  /** Patterns (relative to path) whose changes are ignored. */
  ignore?: string[];
  initial_sync?: boolean;
}

export interface Network {
  /** Engine-side name: `<project>_<key>` unless `name:` or external. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  attachable?: boolean;
  enable_ipv4?: boolean;
  enable_ipv6?: boolean;
  internal?: boolean;
  external: boolean;
  labels: Record<string, string>;
  ipam?: Ipam;
  x_fizz?: unknown;
  extensions: Record<string, unknown>;
}

export interface Ipam {
  driver?: string;
  config: { subnet?: string; ip_range?: string; gateway?: string; aux_addresses?: Record<string, string> }[];
  options?: Record<string, string>;
}

export interface Volume {
  /** Engine-side name: `<project>_<key>` unless `name:` or external. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external: boolean;
  labels: Record<string, string>;
  extensions: Record<string, unknown>;
}

export interface SecretDef {
  name: string;
  /** Exactly one of file/environment/content is set unless external. */
  file?: string;
  environment?: string;
  content?: string;
  external: boolean;
  labels: Record<string, string>;
  driver?: string;
  driver_opts?: Record<string, string>;
  template_driver?: string;
  extensions: Record<string, unknown>;
  /**
   * Set by `fizz up` for the agent (core/secrets/compose.ts): where the value
   * comes from, with no plaintext in it. A cluster delivers only these.
   */
  sealed?: SealedSource;
}
export type ConfigDef = SecretDef;

/** A secret's or config's value as the cluster holds it (never plaintext). */
export type SealedSource =
  /** a stored secret: a cluster secret's name, or a project's own `<project>/<secret|config>/<name>` */
  | { kind: "stored"; path: string }
  /** an age file (binary or armored), base64 */
  | { kind: "age"; data: string }
  /** a SOPS document (text) and the key path of the value (empty: the whole file) */
  | { kind: "sops"; data: string; key: (string | number)[] };

// ---------------------------------------------------------------- x-fizz

/** Top-level `x-fizz`: defaults for the whole project. See examples/x-fizz.md. */
export interface XFizzProject {
  placement?: XFizzPlacement;
  update?: XFizzUpdate;
  ingress?: XFizzIngress[];
}

/** Per-service `x-fizz`. See examples/x-fizz.md. */
export interface XFizzService {
  placement?: XFizzPlacement;
  /** Spread replicas across distinct values of a node label, e.g. "zone", or "node". */
  spread?: string;
  scaling?: { min: number; max: number };
  update?: XFizzUpdate;
  ingress?: XFizzIngress[];
  /** What a running container gets when a secret or config it uses gets a new version. */
  secrets?: { rotate: "none" | "signal" | "restart"; signal?: string };
}

export interface XFizzPlacement {
  /** Node label constraints, "key==value" / "key!=value", all must hold. */
  constraints: string[];
  /** Preferred node labels; soft. */
  prefer: string[];
  /** Place at most this many replicas per node. */
  max_per_node?: number;
  /**
   * Nodes labelled `zone=<z>`. Top level: every service that does not choose
   * its own; the loader writes it into each service's constraints as
   * `zone==<z>`. Per service, `"*"` means any zone.
   */
  zone?: string;
}

export interface XFizzUpdate {
  strategy: "rolling" | "recreate" | "blue-green";
  parallelism: number;
  delay: Duration;
  order: "stop-first" | "start-first";
  failure_action: "rollback" | "pause" | "continue";
}

export interface XFizzIngress {
  /** Host name (virtual host) routed to this service; undefined = any. */
  host?: string;
  /** More host names routed to this service (with `host`, all of them). */
  hosts?: string[];
  /** Path prefix, default "/". */
  path: string;
  /** Port on every node that accepts the traffic (HTTP default 80). */
  port: number;
  /** Container port traffic is sent to. */
  target: number;
  protocol: "http" | "tcp";
  /** HTTP: also serve the route over TLS on `tls_port` (certificate from ACME or `fizz cert`). */
  tls?: boolean;
  /** HTTPS listener port, default 443. */
  tls_port?: number;
  /** TCP: send a PROXY protocol header (version 1 or 2) to the backend, which must expect it. */
  proxy_protocol?: 1 | 2;
}

// ---------------------------------------------------------------- diagnostics

export type Severity = "error" | "warning";

/** One finding about the user's compose files. */
export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. `compose.unknown_field`. */
  code: string;
  message: string;
  hint?: string;
  /** Document path, e.g. `services.web.ports[1]`. */
  path?: string;
  file?: string;
  line?: number;
  column?: number;
}
