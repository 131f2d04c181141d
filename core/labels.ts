/**
 * Labels are the truth on a node: every container, network and volume Fizz
 * creates carries Compose-compatible `com.docker.compose.*` labels (so
 * `docker compose ps` and `docker ps --filter label=…` see our resources) plus
 * `io.fizz.*` labels. An agent that restarts re-adopts what it finds by
 * reading these labels back with `parseLabels`; nothing else is remembered.
 *
 * Also here: the resource naming rules (`<project>-<service>-<n>`,
 * `<project>_<network>`, `<project>_<volume>`) with their Compose overrides
 * (`container_name:`, `external:`, `name:`).
 */

/** Every label key Fizz writes or reads. */
export const LABEL = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  containerNumber: "com.docker.compose.container-number",
  configHash: "com.docker.compose.config-hash",
  oneoff: "com.docker.compose.oneoff",
  /** One-off containers (`fizz run`): a random id, as Compose writes it. */
  slug: "com.docker.compose.slug",
  workingDir: "com.docker.compose.project.working_dir",
  configFiles: "com.docker.compose.project.config_files",
  dependsOn: "com.docker.compose.depends_on",
  version: "com.docker.compose.version",
  /** Image id (digest) the container was created from; Compose recreates when it moves. */
  image: "com.docker.compose.image",
  /** Name of the container a recreated container replaced (Compose writes the old one's name). */
  replace: "com.docker.compose.replace",
  network: "com.docker.compose.network",
  volume: "com.docker.compose.volume",
  managed: "io.fizz.managed",
  node: "io.fizz.node",
  deployment: "io.fizz.deployment",
  specHash: "io.fizz.spec-hash",
  /** Short per-field hashes (`environment=1a2b3c4d,image=…`) so a plan can say *what* changed. */
  configFields: "io.fizz.config-fields",
  fizzVersion: "io.fizz.version",
  /** On an image Fizz built: the hash of the build settings it was built with (`buildHash`), so a changed `build:` rebuilds. */
  buildHash: "io.fizz.build-hash",
} as const;

/**
 * The Compose version we claim on our resources. `docker compose` only reads
 * the major version (it warns on a 1.x label), so any 2.x value keeps
 * `docker compose ps/logs/down` working on a Fizz project.
 */
export const COMPOSE_COMPAT_VERSION = "2.29.0";

export type DependsOnCondition = "service_started" | "service_healthy" | "service_completed_successfully";

export interface DependsOnLabel {
  readonly service: string;
  readonly condition: DependsOnCondition;
  readonly restart: boolean;
}

/** Fizz-specific ownership facts shared by all resource kinds. */
export interface FizzOwnerFields {
  /** `io.fizz.managed=true`: created by Fizz (rather than by docker compose). */
  readonly managed: boolean;
  readonly node?: string;
  readonly deployment?: string;
  readonly specHash?: string;
}

export interface ContainerOwner extends FizzOwnerFields {
  readonly kind: "container";
  readonly project: string;
  readonly service: string;
  /** Replica number from 1; 0 for a one-off container, which Compose does not number. */
  readonly number: number;
  readonly oneoff: boolean;
  readonly configHash?: string;
  /** Field name → short hash, from `io.fizz.config-fields`; empty when absent. */
  readonly configFields: Readonly<Record<string, string>>;
  readonly dependsOn: readonly DependsOnLabel[];
  readonly workingDir?: string;
  readonly configFiles: readonly string[];
  readonly imageId?: string;
  readonly replace?: string;
}

export interface NetworkOwner extends FizzOwnerFields {
  readonly kind: "network";
  readonly project: string;
  /** The key under `networks:` in the compose file, e.g. `default`. */
  readonly network: string;
}

export interface VolumeOwner extends FizzOwnerFields {
  readonly kind: "volume";
  readonly project: string;
  /** The key under `volumes:` in the compose file. */
  readonly volume: string;
}

export type Owner = ContainerOwner | NetworkOwner | VolumeOwner;

/** What Fizz knows about itself when it labels a resource. */
export interface FizzLabelInput {
  /** Node id of the agent creating the resource. */
  readonly node?: string;
  readonly deployment?: string;
  readonly specHash?: string;
  /** Fizz's own version, for diagnostics. */
  readonly fizzVersion?: string;
}

export interface ContainerLabelInput extends FizzLabelInput {
  readonly kind: "container";
  readonly project: string;
  readonly service: string;
  readonly number: number;
  readonly configHash: string;
  readonly configFields?: Readonly<Record<string, string>>;
  readonly oneoff?: boolean;
  readonly workingDir?: string;
  readonly configFiles?: readonly string[];
  readonly dependsOn?: readonly DependsOnLabel[];
  readonly imageId?: string;
  readonly replace?: string;
  /** The user's `labels:`; ours win on a clash, as in Compose. */
  readonly userLabels?: Readonly<Record<string, string>>;
}

export interface NetworkLabelInput extends FizzLabelInput {
  readonly kind: "network";
  readonly project: string;
  readonly network: string;
  readonly userLabels?: Readonly<Record<string, string>>;
}

export interface VolumeLabelInput extends FizzLabelInput {
  readonly kind: "volume";
  readonly project: string;
  readonly volume: string;
  readonly userLabels?: Readonly<Record<string, string>>;
}

export type LabelInput = ContainerLabelInput | NetworkLabelInput | VolumeLabelInput;

function fizzLabels(input: FizzLabelInput): Record<string, string> {
  const out: Record<string, string> = { [LABEL.managed]: "true" };
  if (input.node !== undefined) out[LABEL.node] = input.node;
  if (input.deployment !== undefined) out[LABEL.deployment] = input.deployment;
  if (input.specHash !== undefined) out[LABEL.specHash] = input.specHash;
  if (input.fizzVersion !== undefined) out[LABEL.fizzVersion] = input.fizzVersion;
  return out;
}

/** The full label set for a resource Fizz is about to create. */
export function labelsFor(input: LabelInput): Record<string, string> {
  const out: Record<string, string> = { ...(input.userLabels ?? {}) };
  out[LABEL.project] = input.project;
  out[LABEL.version] = COMPOSE_COMPAT_VERSION;
  switch (input.kind) {
    case "container": {
      // One-off containers (fizz run) are not numbered, as in Compose (number 0 here).
      const unnumbered = input.oneoff === true && input.number === 0;
      if (!unnumbered && (!Number.isInteger(input.number) || input.number < 1)) {
        throw new RangeError(`container number must be a positive integer, got ${input.number}`);
      }
      out[LABEL.service] = input.service;
      if (!unnumbered) out[LABEL.containerNumber] = String(input.number);
      out[LABEL.configHash] = input.configHash;
      // Compose spells booleans the Go/Python way here; `compose ps` filters on "False".
      out[LABEL.oneoff] = input.oneoff ? "True" : "False";
      if (input.workingDir !== undefined) out[LABEL.workingDir] = input.workingDir;
      if (input.configFiles !== undefined && input.configFiles.length > 0) {
        out[LABEL.configFiles] = input.configFiles.join(",");
      }
      // Compose always writes the label, empty when there are no dependencies.
      out[LABEL.dependsOn] = formatDependsOn(input.dependsOn ?? []);
      if (input.imageId !== undefined) out[LABEL.image] = input.imageId;
      if (input.replace !== undefined) out[LABEL.replace] = input.replace;
      if (input.configFields !== undefined && Object.keys(input.configFields).length > 0) {
        out[LABEL.configFields] = formatConfigFields(input.configFields);
      }
      break;
    }
    case "network":
      out[LABEL.network] = input.network;
      break;
    case "volume":
      out[LABEL.volume] = input.volume;
      break;
  }
  Object.assign(out, fizzLabels(input));
  return out;
}

const CONDITIONS: ReadonlySet<string> = new Set([
  "service_started",
  "service_healthy",
  "service_completed_successfully",
]);

/** Compose's format: `db:service_healthy:false,cache:service_started:true`. */
export function formatDependsOn(deps: readonly DependsOnLabel[]): string {
  return deps.map((d) => `${d.service}:${d.condition}:${d.restart ? "true" : "false"}`).join(",");
}

/** Lenient inverse of `formatDependsOn`: malformed entries are dropped, not fatal. */
export function parseDependsOn(value: string | undefined): DependsOnLabel[] {
  if (!value) return [];
  const out: DependsOnLabel[] = [];
  for (const part of value.split(",")) {
    const [service, condition, restart] = part.split(":");
    if (!service) continue;
    const cond = condition && CONDITIONS.has(condition) ? (condition as DependsOnCondition) : "service_started";
    out.push({ service, condition: cond, restart: restart === "true" });
  }
  return out;
}

export function formatConfigFields(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join(",");
}

export function parseConfigFields(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(true|1|yes)$/i.test(v);
}

function optional(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  const v = labels[key];
  return v === undefined || v === "" ? undefined : v;
}

/**
 * Who owns a resource, read back from its labels. `undefined` when the
 * resource is not part of a Compose/Fizz project, or when its labels are too
 * damaged to act on (e.g. a container number that is not a positive integer):
 * the reconciler must leave such resources alone rather than guess.
 */
export function parseLabels(labels: Readonly<Record<string, string>> | undefined | null): Owner | undefined {
  if (!labels) return undefined;
  const project = optional(labels, LABEL.project);
  if (project === undefined) return undefined;
  const fizz: FizzOwnerFields = {
    managed: truthy(labels[LABEL.managed]),
    ...(optional(labels, LABEL.node) !== undefined ? { node: labels[LABEL.node]! } : {}),
    ...(optional(labels, LABEL.deployment) !== undefined ? { deployment: labels[LABEL.deployment]! } : {}),
    ...(optional(labels, LABEL.specHash) !== undefined ? { specHash: labels[LABEL.specHash]! } : {}),
  };
  const service = optional(labels, LABEL.service);
  if (service !== undefined) {
    const raw = labels[LABEL.containerNumber];
    const oneoff = truthy(labels[LABEL.oneoff]);
    // Compose does not number one-off containers: they read back as number 0.
    if (raw === undefined && oneoff) return { ...containerOwner(labels, project, service, 0), ...fizz };
    if (raw === undefined || !/^[1-9][0-9]*$/.test(raw)) return undefined;
    const number = Number(raw);
    if (!Number.isSafeInteger(number)) return undefined;
    return { ...containerOwner(labels, project, service, number), ...fizz };
  }
  const network = optional(labels, LABEL.network);
  if (network !== undefined) return { kind: "network", project, network, ...fizz };
  const volume = optional(labels, LABEL.volume);
  if (volume !== undefined) return { kind: "volume", project, volume, ...fizz };
  return undefined;
}

function containerOwner(labels: Readonly<Record<string, string>>, project: string, service: string, number: number): Omit<ContainerOwner, keyof FizzOwnerFields> {
  const files = optional(labels, LABEL.configFiles);
  return {
    kind: "container",
    project,
    service,
    number,
    oneoff: truthy(labels[LABEL.oneoff]),
    configFields: parseConfigFields(labels[LABEL.configFields]),
    dependsOn: parseDependsOn(labels[LABEL.dependsOn]),
    configFiles: files === undefined ? [] : files.split(","),
    ...(optional(labels, LABEL.configHash) !== undefined ? { configHash: labels[LABEL.configHash]! } : {}),
    ...(optional(labels, LABEL.workingDir) !== undefined ? { workingDir: labels[LABEL.workingDir]! } : {}),
    ...(optional(labels, LABEL.image) !== undefined ? { imageId: labels[LABEL.image]! } : {}),
    ...(optional(labels, LABEL.replace) !== undefined ? { replace: labels[LABEL.replace]! } : {}),
  };
}

/** Label filters for the engine's list calls (`filters={"label":[...]}`). */
export function projectFilter(project: string): string[] {
  return [`${LABEL.project}=${project}`];
}

/** Every resource a Fizz agent manages, whatever the project. */
export const MANAGED_FILTER: readonly string[] = [`${LABEL.managed}=true`];

// ---- naming -------------------------------------------------------------

/** `<project>-<service>-<n>`, or the service's explicit `container_name:`. */
export function containerName(project: string, service: string, n: number, explicit?: string): string {
  if (explicit !== undefined && explicit !== "") return explicit;
  return `${project}-${service}-${n}`;
}

/** Compose's name for the old container while its replacement is created. */
export function replacedContainerName(id: string, name: string): string {
  return `${id.slice(0, 12)}_${name}`;
}

/** Naming overrides a network or volume can carry in the compose file. */
export interface ResourceNaming {
  /** `name:` — used verbatim. */
  readonly name?: string;
  /** `external: true` — the resource is the user's; its name is `name:` or the key itself. */
  readonly external?: boolean;
}

function resourceName(project: string, key: string, naming: ResourceNaming | undefined): string {
  if (naming?.name !== undefined && naming.name !== "") return naming.name;
  if (naming?.external) return key;
  return `${project}_${key}`;
}

/** `<project>_<network>` unless `name:` or `external:` say otherwise. */
export function networkName(project: string, network: string, naming?: ResourceNaming): string {
  return resourceName(project, network, naming);
}

/** `<project>_<volume>` unless `name:` or `external:` say otherwise. */
export function volumeName(project: string, volume: string, naming?: ResourceNaming): string {
  return resourceName(project, volume, naming);
}
