/**
 * The planner's own vocabulary. These types are deliberately independent of
 * the compose model and of the engine client: the integrator maps the
 * normalised compose project into `DesiredProject` and the engine's labelled
 * resources into `ActualState`, and maps `Plan` steps onto engine calls.
 */

import type { DependsOnCondition } from "../labels.ts";

export type { DependsOnCondition } from "../labels.ts";

// ---- desired -------------------------------------------------------------

export interface DesiredNetwork {
  /** Key under `networks:` (e.g. `default`). */
  readonly key: string;
  /** Engine name, already resolved with `networkName()` (e.g. `shop_default`). */
  readonly name: string;
  /** Never created nor removed by Fizz; must already exist. */
  readonly external: boolean;
  readonly driver?: string;
  readonly driverOpts?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly internal?: boolean;
  readonly attachable?: boolean;
  readonly enableIpv6?: boolean;
  /** Opaque IPAM payload, passed through to the executor. */
  readonly ipam?: unknown;
}

export interface DesiredVolume {
  readonly key: string;
  /** Engine name, resolved with `volumeName()` (e.g. `shop_data`). */
  readonly name: string;
  readonly external: boolean;
  readonly driver?: string;
  readonly driverOpts?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface DesiredDependency {
  readonly service: string;
  readonly condition: DependsOnCondition;
  /** `required: false`: a missing dependency is skipped with a warning. */
  readonly required: boolean;
  /** `restart: true`: restart this service when the dependency is recreated. */
  readonly restart: boolean;
}

/**
 * - `always`: pull on every plan (so a plan is never empty; the agent's
 *   continuous loop should pass `options.pull = "missing"`).
 * - `missing` (Compose's default): pull when the image is not present.
 * - `never`: never pull; a missing image is a warning (create will fail).
 * - `build`: build on every plan (same caveat as `always`).
 */
/** `--pull`: what `fizz up` (and a deploy intent) asks of every service. */
export type PullOption = "always" | "missing" | "never";
export type PullPolicy = PullOption | "build";

export type RestartSetting = "no" | "always" | "on-failure" | "unless-stopped";

export interface DesiredService<Create = unknown> {
  readonly name: string;
  /** `deploy.replicas` / `scale`, default 1. */
  readonly replicas: number;
  /** Hash of the container-affecting config (see `serviceConfigHash`). */
  readonly configHash: string;
  /** Optional per-field short hashes, so a recreate can say which fields changed. */
  readonly configFields?: Readonly<Record<string, string>>;
  /** Image reference to run (for build services: the tag the build produces). */
  readonly image: string;
  readonly pullPolicy: PullPolicy;
  /** The service has a `build:` section. */
  readonly hasBuild: boolean;
  /** Hash of its build settings (`buildHash`), set where they are resolved; a present image labelled otherwise is built again. */
  readonly buildHash?: string;
  readonly dependsOn: readonly DesiredDependency[];
  /**
   * Services whose container ids are baked into this one's containers
   * (`network_mode`/`ipc`/`pid: service:x`, `volumes_from: x`): recreating one
   * of them forces a recreate of this one. They must also be in `dependsOn`.
   */
  readonly recreateWith?: readonly string[];
  /** Explicit `container_name:` (then replicas must be 1). */
  readonly containerName?: string;
  /** Network keys the service attaches to (containers are created after them). */
  readonly networks: readonly string[];
  /** Named volume keys the service mounts (containers are created after them). */
  readonly volumes: readonly string[];
  /** The `restart:` setting (the engine enforces it; the planner uses it only for `startExited: "policy"`). */
  readonly restart?: RestartSetting;
  /** `on-failure:N`: the engine's retry limit, after which an exited container stays as it is. */
  readonly restartRetries?: number;
  /** Does the service define a healthcheck (so a fresh start is `health: starting`)? */
  readonly hasHealthcheck?: boolean;
  /** Opaque payload the executor turns into the engine's create body. Never inspected here. */
  readonly create?: Create;
  /**
   * Cluster placement: exactly these container numbers run here (the others
   * of the service run on other nodes). Overrides `replicas` when set.
   */
  readonly numbers?: readonly number[];
  /**
   * Rolling update: numbers whose existing container keeps its older config
   * for now (the rollout has not reached them). Missing ones are still created
   * with the current config.
   */
  readonly holdConfig?: readonly number[];
  /**
   * How a changed container is replaced (`update_config.order`): `stop-first`
   * (default, Compose's way) stops the old one before the new one starts;
   * `start-first` starts the new one beside it and stops the old one after.
   */
  readonly updateOrder?: "stop-first" | "start-first";
  /**
   * Cluster networks: each replica's IPv4 address on each network, by number
   * then engine network name (core/net/deploy-shape.ts). A container whose
   * addresses differ is recreated; a new one is created with them.
   */
  readonly addresses?: Readonly<Record<number, Readonly<Record<string, string>>>>;
}

export interface DesiredProject<Create = unknown> {
  readonly name: string;
  readonly networks: readonly DesiredNetwork[];
  readonly volumes: readonly DesiredVolume[];
  readonly services: readonly DesiredService<Create>[];
  /** Services the file defines that its active profiles disable: their containers are the project's, not orphans. */
  readonly disabledServices?: readonly string[];
}

// ---- actual --------------------------------------------------------------

export type ContainerState = "created" | "running" | "paused" | "restarting" | "exited" | "dead" | "removing";
export type ContainerHealth = "none" | "starting" | "healthy" | "unhealthy";

/** One container the engine reports, already decoded with `parseLabels`. */
export interface ActualContainer {
  readonly id: string;
  /** Without the engine's leading `/`. */
  readonly name: string;
  readonly project: string;
  readonly service: string;
  readonly number: number;
  readonly configHash?: string;
  readonly configFields?: Readonly<Record<string, string>>;
  /** Image id the container runs (`com.docker.compose.image` label or the engine's `Image`). */
  readonly imageId?: string;
  readonly state: ContainerState;
  readonly exitCode?: number;
  readonly health: ContainerHealth;
  readonly oneoff: boolean;
  /** ISO-8601, as the engine reports it; used only to break ties deterministically. */
  readonly startedAt?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Its IPv4 address per engine network: the one it was created with (IPAMConfig), else the one it has. */
  readonly addresses?: Readonly<Record<string, string>>;
}

export interface ActualNetwork {
  readonly id?: string;
  readonly name: string;
  /** Project label, when the network carries one. */
  readonly project?: string;
  readonly key?: string;
  /** Its first IPv4 subnet, when the engine reports one. */
  readonly subnet?: string;
  /** The cluster subnet it was shaped for (its io.fizz.cluster-subnet label), if it is a cluster network. */
  readonly clusterSubnet?: string;
}

export interface ActualVolume {
  readonly name: string;
  readonly project?: string;
  readonly key?: string;
}

export interface ActualImage {
  /** The reference as the user wrote it (`nginx:1.27`, `shop-web`). */
  readonly ref: string;
  readonly id: string;
  /** The build settings' hash Fizz labelled it with when it built it. */
  readonly buildHash?: string;
}

export interface ActualState {
  readonly containers: readonly ActualContainer[];
  readonly networks: readonly ActualNetwork[];
  readonly volumes: readonly ActualVolume[];
  readonly images: readonly ActualImage[];
}

// ---- options -------------------------------------------------------------

export interface PlanOptions {
  /** `--force-recreate`: recreate the targets' containers even if unchanged (dependencies: see `alwaysRecreateDeps`). */
  readonly forceRecreate?: boolean;
  /** `--always-recreate-deps`: also recreate the dependencies pulled in by the targets. */
  readonly alwaysRecreateDeps?: boolean;
  /** `--no-recreate`: never recreate an existing container (wins over a changed hash, not over forceRecreate). */
  readonly noRecreate?: boolean;
  /** `--no-deps`: do not pull in (nor wait for) dependencies of the targets. */
  readonly noDeps?: boolean;
  /** `--remove-orphans`: remove containers of services the project no longer has. */
  readonly removeOrphans?: boolean;
  /** Remove the containers of these services when the project no longer has them (a revert drops what a failed change added). */
  readonly removeServices?: readonly string[];
  /** Target services (`fizz up web db`); empty or absent means all. */
  readonly services?: readonly string[];
  /** `--pull`: overrides every service's pull policy. */
  readonly pull?: PullOption;
  /** `--build`: build every service that has a `build:` section. `false` (`--no-build`) never builds. */
  readonly build?: boolean;
  /** `--scale svc=n` overrides. */
  readonly scale?: Readonly<Record<string, number>>;
  /**
   * Whether stopped (created/exited) containers of unchanged services are started:
   * - `"always"` (default, `compose up`): start them again;
   * - `"policy"` (the agent's loop): only when the service's `restart:` setting
   *   says the container should be running (`always`, `unless-stopped`, or
   *   `on-failure` after a non-zero exit). Freshly created ones always start.
   */
  readonly startExited?: "always" | "policy";
}

// ---- plan ----------------------------------------------------------------

export type ReasonCode =
  | "missing" // the resource does not exist
  | "config-changed" // config hash label differs
  | "image-changed" // the image id moved since the container was created
  | "force-recreate"
  | "scale-up"
  | "scale-down"
  | "placed-elsewhere" // cluster placement moved this replica to another node
  | "orphan" // service no longer in the project
  | "duplicate" // two containers claim the same service/number
  | "exited" // stopped container started again
  | "created" // created but never started
  | "dependency-recreated" // depends_on restart: true
  | "dependency" // a gate for a dependent's start
  | "pull-policy" // pull_policy always / --pull always
  | "build" // pull_policy build / --build
  | "build-changed" // the image was built with other build settings
  | "recreate" // part of a recreate sequence
  | "requested" // down/stop/start/restart asked for it
  | "health-policy" // decideRestart said restart (detail: its reason)
  | "address-changed"; // its address on a cluster network is not the one assigned (a slice moved)

export interface Reason {
  readonly code: ReasonCode;
  /** Human detail, e.g. the changed fields `environment, image`. */
  readonly detail?: string;
}

/** How steps name a container: by id when it exists, by name when the plan creates it. */
export interface ContainerRef {
  readonly id?: string;
  readonly name: string;
  readonly service: string;
  readonly number: number;
}

interface StepBase {
  /** Stable, deterministic id, e.g. `start:shop-web-1`. */
  readonly id: string;
  /** Steps that must complete before this one; everything else may run in parallel. */
  readonly after: readonly string[];
  readonly reason: Reason;
}

/**
 * One action. Executor contract (what each kind means against an engine):
 * - `createNetwork`/`createVolume`: create with `labelsFor({kind:"network"|"volume",…})`
 *   merged over the resource's own labels.
 * - `pullImage`/`buildImage`: make `image` present (build: the service's `build:`).
 * - `createContainer`: create `name` from `create` (opaque payload) with
 *   `labelsFor({kind:"container", configHash, replace: replaces?.name, …})`;
 *   do not start it.
 * - `startContainer`/`stopContainer`/`removeContainer`/`renameContainer`: the
 *   engine call on `container.id` when present, else on `container.name` (a
 *   container this plan created). Stop uses the service's `stop_grace_period`.
 * - `waitFor`: poll the service's containers until every one is healthy
 *   (`service_healthy`) or has exited 0 (`service_completed_successfully`);
 *   fail on exit ≠ 0 / unhealthy / timeout. When `required` is false, warn
 *   and continue instead of failing.
 * A failed step fails the steps after it; independent branches may continue.
 * The next plan (level-triggered) picks up whatever was left undone.
 */
export type Step<Create = unknown> =
  | (StepBase & { readonly kind: "createNetwork"; readonly network: DesiredNetwork })
  | (StepBase & { readonly kind: "removeNetwork"; readonly name: string })
  | (StepBase & { readonly kind: "createVolume"; readonly volume: DesiredVolume })
  | (StepBase & { readonly kind: "removeVolume"; readonly name: string })
  | (StepBase & { readonly kind: "pullImage"; readonly image: string; readonly services: readonly string[] })
  | (StepBase & { readonly kind: "buildImage"; readonly image: string; readonly service: string })
  | (StepBase & {
      readonly kind: "createContainer";
      readonly service: string;
      readonly number: number;
      readonly name: string;
      readonly configHash: string;
      /** The old container this one replaces (recreate); the executor labels the new one with it. */
      readonly replaces?: ContainerRef;
      /** The service's opaque create payload, passed through. */
      readonly create: Create | undefined;
      /** Cluster networks: its IPv4 address per engine network (DesiredService.addresses). */
      readonly addresses?: Readonly<Record<string, string>>;
    })
  | (StepBase & { readonly kind: "startContainer"; readonly container: ContainerRef })
  | (StepBase & { readonly kind: "stopContainer"; readonly container: ContainerRef })
  | (StepBase & { readonly kind: "renameContainer"; readonly container: ContainerRef; readonly to: string })
  | (StepBase & {
      readonly kind: "removeContainer";
      readonly container: ContainerRef;
      /** Also remove its anonymous volumes (`down -v`). */
      readonly volumes: boolean;
    })
  | (StepBase & {
      readonly kind: "waitFor";
      readonly service: string;
      /** `service_started` only for a dependency with replicas on other nodes (local starts are ordered by the plan). */
      readonly condition: "service_started" | "service_healthy" | "service_completed_successfully";
      /**
       * Cluster placement: how many of the dependency's replicas run on this
       * node (checked on the engine) and on others (checked against the
       * records the other nodes publish). Absent: all of them here.
       */
      readonly placement?: { readonly here: number; readonly elsewhere: number };
      /** `required: false`: on failure the executor warns and lets dependents start anyway. */
      readonly required: boolean;
      /** Dependents whose starts this gates (for messages). */
      readonly dependents: readonly string[];
    })
  | (StepBase & {
      /**
       * Done once all its `after` are: stands for "every container of
       * `service` created/started" where many containers wait on many (N+M
       * edges instead of N·M). Touches nothing; the executor emits no event.
       */
      readonly kind: "barrier";
      readonly service: string;
      readonly of: "created" | "started";
    });

export type StepKind = Step["kind"];

export interface Plan<Create = unknown> {
  /** Topologically ordered: every step comes after everything in its `after`. */
  readonly steps: readonly Step<Create>[];
  /** Things the user should know that do not stop the plan (orphans, skipped deps, …). */
  readonly warnings: readonly string[];
}
