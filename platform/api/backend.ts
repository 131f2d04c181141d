/**
 * The seam between the API and the agent's engine: the route modules
 * (routes-deployments.ts, routes-containers.ts) translate HTTP into calls on
 * an `AgentBackend`, which the deployments controller
 * (controllers/deployments) provides. The real backend loads compose projects, plans and
 * executes against Docker/Podman and reads actual state; tests use an
 * in-memory fake. Events do not go through here: they come from the store via
 * `EventFeed` (events.ts).
 *
 * Contract for implementers:
 * - Return `undefined` (or throw a FizzError with status 404) for an unknown
 *   deployment/service/container; the API answers 404.
 * - Throw FizzError for every user-facing failure (bad compose file → 400
 *   with code/message/path; conflicts → 409; engine down → 503). Any other
 *   throw is answered as a generic 500 and logged.
 * - Honour `signal`: it is aborted when the client disconnects or the agent
 *   shuts down. Long operations may finish anyway, but streams must stop.
 * - Changes to one deployment (put, delete, scale, rollback) are the
 *   backend's to serialise: the real one applies them one after another.
 */

import type { PullOption } from "../../core/deploy/intent.ts";

/** One compose file as the CLI read it. */
export interface ComposeFileInput {
  /** Path as the user gave it (for error messages: `compose.yaml:12:3`). */
  readonly name: string;
  readonly content: string;
}

/** Body of `PUT /v1/deployments/{name}` (`fizz up`). */
export interface DeploymentInput {
  /** Compose files in order (later ones override earlier ones). Exclusive with `project`. */
  readonly files?: readonly ComposeFileInput[];
  /** Other files the compose files refer to (env_file, extends.file, include), with their contents: the agent reads nothing else. */
  readonly attachments?: readonly ComposeFileInput[];
  /** An already-normalised project (e.g. `fizz config --format json`). Exclusive with `files`. */
  readonly project?: Readonly<Record<string, unknown>>;
  /** Variables for interpolation: the CLI's environment plus --env-file contents. */
  readonly env?: Readonly<Record<string, string>>;
  readonly profiles?: readonly string[];
  /** The CLI's project directory, for relative paths (bind mounts, build contexts, env_file). */
  readonly workingDir?: string;
  readonly options?: DeployOptions;
}

export interface DeployOptions {
  readonly pull?: PullOption;
  readonly build?: boolean;
  readonly forceRecreate?: boolean;
  readonly noRecreate?: boolean;
  readonly removeOrphans?: boolean;
  /** Answer only once services are running/healthy (like `docker compose up --wait`). */
  readonly wait?: boolean;
  readonly timeoutSeconds?: number;
  /** `fizz up -d web`: change these services only (and what they depend on unless `noDeps`); the others keep what they run. */
  readonly services?: readonly string[];
  readonly noDeps?: boolean;
  /** `--scale svc=n`: replica counts set with this change (others follow the file). */
  readonly scale?: Readonly<Record<string, number>>;
}

export interface DeployResult {
  readonly deployment: string;
  /** True when the deployment did not exist before (API answers 201). */
  readonly created: boolean;
  /** The stored spec changed (false: the same spec again, a no-op unless containers drifted). */
  readonly changed?: boolean;
  /** Store generation after the update. */
  readonly generation: number;
  /** The change's id: its steps and its end (`deployment.converged|ready|failed`) carry it in their event data. */
  readonly intent?: string;
  /** The `deployment.accepted` event: follow GET /v1/events?since=<eventId - 1> to see the change through. */
  readonly eventId?: number;
  /** What the change did (steps by kind, e.g. `{ createContainer: 2 }`), once it has ended. */
  readonly actions?: Readonly<Record<string, number>>;
  readonly warnings?: readonly string[];
}

export interface DeleteResult {
  readonly deployment: string;
  /** What this node removed (in a cluster, every node takes its own part down). */
  readonly removed: { readonly containers: number; readonly networks: number; readonly volumes: number };
  /** Removed from the cluster: every node takes its containers and networks down; volumes go only where `down -v` ran. */
  readonly cluster?: boolean;
}

export interface DeploymentSummary {
  readonly name: string;
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly services: number;
  /** Running containers / desired containers. */
  readonly running: number;
  readonly desired: number;
  /** Containers of one-shot jobs (restart "no", or waited on with service_completed_successfully) that exited 0: done, not missing. */
  readonly completed?: number;
}

export interface DeploymentDetail extends DeploymentSummary {
  /** The normalised project as stored. */
  readonly spec: unknown;
  /** Where it came from: files, working dir, env file names, profiles. */
  readonly source: unknown;
}

export interface ServiceView {
  readonly deployment: string;
  readonly name: string;
  readonly image: string;
  readonly desired: number;
  readonly running: number;
  readonly healthy: number;
  /** One-shot job containers that exited 0 (see DeploymentSummary.completed). */
  readonly completed?: number;
}

/** `unknown`: another node's container whose node is dead or gone (its record says nothing reliable; as Swarm's Unknown tasks). */
export type ContainerStateName = "created" | "running" | "paused" | "restarting" | "exited" | "dead" | "removing" | "unknown";
export type ContainerHealthName = "none" | "starting" | "healthy" | "unhealthy";

export interface ContainerView {
  readonly id: string;
  readonly name: string;
  readonly deployment: string;
  readonly service: string;
  readonly number: number;
  readonly image: string;
  readonly state: ContainerStateName;
  readonly health: ContainerHealthName;
  /** The engine's human status, e.g. `Up 3 minutes (healthy)`. */
  readonly status: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly restarts: number;
  readonly ports: readonly string[];
  /** In a cluster: the name of the node running it. */
  readonly node?: string;
  /** In a cluster: the id of the member running it (names need not be unique). */
  readonly nodeId?: string;
  /** Its IPv4 address on each of its networks, by compose network key. */
  readonly addresses?: Readonly<Record<string, string>>;
}

export interface ContainerFilter {
  readonly deployment?: string;
  readonly service?: string;
  readonly state?: ContainerStateName;
  readonly health?: ContainerHealthName;
}

export type InspectTarget =
  | { readonly kind: "service"; readonly deployment: string; readonly service: string }
  | { readonly kind: "container"; readonly id: string };

export interface LogsQuery {
  readonly target: { readonly kind: "deployment"; readonly deployment: string; readonly services: readonly string[] } | { readonly kind: "container"; readonly id: string };
  readonly follow: boolean;
  /** Last N lines per container; undefined = all. */
  readonly tail?: number;
  /** Only lines at or after this time (ms since epoch). */
  readonly since?: number;
  readonly timestamps: boolean;
}

/** One log line; the API sends these as NDJSON. */
export interface LogLine {
  readonly container: string;
  readonly service: string;
  readonly stream: "stdout" | "stderr";
  /** ms since epoch, when the engine gave timestamps. */
  readonly time?: number;
  readonly line: string;
}

export interface ScaleResult {
  readonly deployment: string;
  readonly service: string;
  readonly replicas: number;
  readonly previous: number;
  /** E.g. replicas that fit no node and stay pending until one fits. */
  readonly warnings?: readonly string[];
}

/** `fizz why`: the placement of one service's replicas and why nodes were excluded. */
export interface WhyResult {
  readonly deployment: string;
  readonly service: string;
  /** The scheduler's own explanation (core/scheduler ServiceExplanation). */
  readonly explanation: unknown;
  /** The same as text, one line per replica. */
  readonly text: string;
  /** Each replica's node and its address on each network (compose key), where it runs. */
  readonly replicas: readonly { readonly number: number; readonly node: string; readonly addresses: Readonly<Record<string, string>> }[];
}

export interface RollbackView {
  readonly deployment: string;
  readonly service: string;
  readonly generation: number;
}

export interface AgentBackend {
  listDeployments(): Promise<readonly DeploymentSummary[]>;
  getDeployment(name: string): Promise<DeploymentDetail | undefined>;
  /**
   * Create or update (`fizz up`): validate, store the desired state, and
   * answer; the change is then applied and ends with an event. `from.local`:
   * the request came over the unix socket (same host). `from.follow`: answer
   * only once the change has ended (with what it did, or its error).
   */
  putDeployment(name: string, input: DeploymentInput, signal: AbortSignal, from?: { readonly local: boolean; readonly follow?: boolean }): Promise<DeployResult>;
  /** `fizz down`; undefined when there is no such deployment. */
  deleteDeployment(name: string, opts: { readonly volumes: boolean }, signal: AbortSignal): Promise<DeleteResult | undefined>;
  /** Services of one deployment, or of all when `deployment` is undefined. Undefined for an unknown deployment. */
  listServices(deployment: string | undefined): Promise<readonly ServiceView[] | undefined>;
  listContainers(filter: ContainerFilter): Promise<readonly ContainerView[]>;
  /** Full detail (engine inspect plus fizz state); undefined when unknown. */
  inspect(target: InspectTarget): Promise<unknown | undefined>;
  /**
   * Checks the target, then returns its log lines (undefined when the target
   * is unknown: 404). With `follow` the iterable keeps going until `signal`
   * aborts; it is also closed with return() when the client leaves.
   */
  logs(query: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogLine> | undefined>;
  /** Sets desired replicas of one service (persisted), then converges. Undefined when the deployment/service is unknown. */
  scale(deployment: string, service: string, replicas: number, signal: AbortSignal): Promise<ScaleResult | undefined>;
  /** Where each replica of a service runs (or why it is pending). Throws 404 for an unknown service. */
  why(service: string, deployment: string | undefined): Promise<WhyResult>;
  /** Puts a service's previous spec back (`fizz rollback`). Undefined for an unknown deployment or service. */
  rollback(deployment: string, service: string, signal: AbortSignal): Promise<RollbackView | undefined>;
}
