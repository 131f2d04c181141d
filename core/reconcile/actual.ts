/**
 * From what the engine lists to the planner's `ActualState`: re-adoption is
 * reading labels back (`parseLabels`), nothing else. Resources without our
 * labels are not ours and are dropped here, so the planner never touches them.
 * Accepts the loose shapes of Docker's and Podman's list/inspect answers.
 */

import { LABEL, parseLabels } from "../labels.ts";
import type {
  ActualContainer,
  ActualImage,
  ActualNetwork,
  ActualState,
  ActualVolume,
  ContainerHealth,
  ContainerState,
} from "./types.ts";

/** The fields of a container list/inspect answer the planner needs. */
export interface EngineContainer {
  readonly id: string;
  /** `Names[0]` or inspect `Name`; a leading `/` is stripped. */
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>> | null;
  /** `State` (list) or `State.Status` (inspect). */
  readonly state: string;
  /** List's human `Status`, e.g. `Up 3 minutes (healthy)`, `Exited (1) 2 seconds ago`. */
  readonly status?: string;
  /** Inspect's `State.ExitCode`. */
  readonly exitCode?: number;
  /** Inspect's `State.Health.Status`. */
  readonly health?: string;
  readonly startedAt?: string;
  /** `ImageID` (list) or `Image` (inspect): the image id it runs. */
  readonly imageId?: string;
}

export interface EngineNamed {
  readonly id?: string;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>> | null;
}

const STATES: Readonly<Record<string, ContainerState>> = {
  created: "created",
  running: "running",
  paused: "paused",
  restarting: "restarting",
  exited: "exited",
  dead: "dead",
  removing: "removing",
  // Podman's native names
  configured: "created",
  initialized: "created",
  stopped: "exited",
  stopping: "running",
};

export function parseState(raw: string): ContainerState {
  return STATES[raw.toLowerCase()] ?? "exited";
}

export function parseHealth(health: string | undefined, status: string | undefined): ContainerHealth {
  const h = (health ?? "").toLowerCase();
  if (h === "healthy" || h === "unhealthy" || h === "starting") return h;
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status ?? "");
  if (!m) return "none";
  return m[1] === "health: starting" ? "starting" : (m[1] as "healthy" | "unhealthy");
}

function parseExitCode(raw: EngineContainer): number | undefined {
  if (raw.exitCode !== undefined) return raw.exitCode;
  const m = /^Exited \((-?\d+)\)/.exec(raw.status ?? "");
  return m ? Number(m[1]) : undefined;
}

/** An engine container as the planner sees it, or undefined when it is not a Compose/Fizz container. */
export function toActualContainer(raw: EngineContainer): ActualContainer | undefined {
  const owner = parseLabels(raw.labels ?? undefined);
  if (!owner || owner.kind !== "container") return undefined;
  const exitCode = parseExitCode(raw);
  const imageId = raw.imageId ?? owner.imageId;
  return {
    id: raw.id,
    name: raw.name.replace(/^\//, ""),
    project: owner.project,
    service: owner.service,
    number: owner.number,
    ...(owner.configHash !== undefined ? { configHash: owner.configHash } : {}),
    configFields: owner.configFields,
    ...(imageId !== undefined ? { imageId } : {}),
    state: parseState(raw.state),
    ...(exitCode !== undefined ? { exitCode } : {}),
    health: parseHealth(raw.health, raw.status),
    oneoff: owner.oneoff,
    ...(raw.startedAt !== undefined ? { startedAt: raw.startedAt } : {}),
    labels: raw.labels ?? {},
  };
}

export function toActualNetwork(raw: EngineNamed): ActualNetwork {
  const owner = parseLabels(raw.labels ?? undefined);
  return {
    ...(raw.id !== undefined ? { id: raw.id } : {}),
    name: raw.name,
    ...(owner?.kind === "network" ? { project: owner.project, key: owner.network } : {}),
  };
}

export function toActualVolume(raw: EngineNamed): ActualVolume {
  const owner = parseLabels(raw.labels ?? undefined);
  return { name: raw.name, ...(owner?.kind === "volume" ? { project: owner.project, key: owner.volume } : {}) };
}

/**
 * Assembles an `ActualState`. Networks and volumes are kept whatever their
 * labels (the planner needs to know a name is taken, and external ones are
 * unlabelled); containers only when they carry our labels, and, if `project`
 * is given, only that project's.
 */
export function toActualState(
  input: {
    readonly containers: readonly EngineContainer[];
    readonly networks: readonly EngineNamed[];
    readonly volumes: readonly EngineNamed[];
    readonly images: readonly ActualImage[];
  },
  project?: string,
): ActualState {
  const containers: ActualContainer[] = [];
  for (const raw of input.containers) {
    const c = toActualContainer(raw);
    if (c && (project === undefined || c.project === project)) containers.push(c);
  }
  return {
    containers,
    networks: input.networks.map(toActualNetwork),
    volumes: input.volumes.map(toActualVolume),
    images: input.images,
  };
}

/** The filter to list only a project's containers (`label=com.docker.compose.project=<p>`). */
export function containerListFilter(project: string): { label: string[] } {
  return { label: [`${LABEL.project}=${project}`] };
}
