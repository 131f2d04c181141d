/**
 * Project-level operations on one engine, shared by the CLI verbs and the
 * agent: prepare a compose project for deployment (effective environment,
 * desired state, build settings), read what the engine has, and describe the
 * running containers for `ps`.
 */
import type { Project, Service } from "../../core/compose/model.ts";
import { buildHash } from "../../core/compose/hash.ts";
import { desiredProject, withResolvedEnvironment, actualState, type DesiredOptions, type ServiceTemplate } from "../../core/deploy/index.ts";
import { LABEL, MANAGED_FILTER, projectFilter } from "../../core/labels.ts";
import type { ActualState, DesiredProject } from "../../core/reconcile/types.ts";
import type { ContainerSummary, Engine } from "../engine/index.ts";
import { runDueHealthcheck } from "./podman-health.ts";
import type { BuildSpec } from "./engine-adapter.ts";
import { readUserText } from "../user-file.ts";
import { withoutIngressPorts } from "../../core/ingress/routes.ts";
import { localFileObjects } from "../../core/deploy/local-file-objects.ts";
import { localFilesDir, writeLocalFiles } from "./local-files.ts";

export interface PrepareOptions {
  hostEnv: Readonly<Record<string, string | undefined>>;
  node?: string;
  fizzVersion?: string;
  replicas?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  targets?: readonly string[];
  /** Cluster mode: the numbers of each service placed on this node. */
  share?: DesiredOptions["share"];
  readText?: (path: string) => string | undefined;
  /**
   * The command creates or starts containers here: write the files of the
   * `environment:` and `content:` secrets and configs they bind-mount. Other
   * commands (down, images, a dry run…) get the same desired state (the
   * paths are the values' digests) and write nothing.
   */
  writeLocalFiles?: boolean;
  /** The project's environment (the shell over its .env), for `environment:` secrets and configs; default hostEnv. */
  projectEnv?: Readonly<Record<string, string | undefined>>;
}

export interface Prepared {
  /** The project with env_file folded into each service's environment. */
  project: Project;
  desired: DesiredProject<ServiceTemplate>;
  builds: Map<string, BuildSpec>;
  warnings: string[];
}

/** A file named in the project (env_file): bounded, regular files only (platform/user-file.ts); undefined when missing. */
export function readTextFile(path: string): string | undefined {
  return readUserText(path, { what: "env file" });
}

export function prepareProject(project: Project, opts: PrepareOptions): Prepared {
  const readText = opts.readText ?? readTextFile;
  const services: Record<string, Service> = {};
  for (const [name, s] of Object.entries(project.services)) {
    const r = withResolvedEnvironment(s, readText, opts.hostEnv);
    // In a cluster the ingress serves published ports on every node (issue 13); the engine publishes only mode: host ones.
    services[name] = opts.share ? withoutIngressPorts(r) : r;
  }
  const disabled: Record<string, Service> = {};
  for (const [name, s] of Object.entries(project.disabled_services)) {
    disabled[name] = opts.targets?.includes(name) ? withResolvedEnvironment(s, readText, opts.hostEnv) : s;
  }
  // `environment:` and `content:` secrets and configs become files here (the agent path seals them instead).
  const local = localFileObjects({ ...project, services, disabled_services: disabled }, () => localFilesDir(project.name, opts.hostEnv), (n) => opts.projectEnv?.[n] ?? opts.hostEnv[n]);
  if (opts.writeLocalFiles) writeLocalFiles(local.files);
  const resolved: Project = local.project;
  const { desired, warnings } = desiredProject(resolved, {
    ...(opts.node ? { node: opts.node } : {}),
    ...(opts.fizzVersion ? { fizzVersion: opts.fizzVersion } : {}),
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
    ...(opts.targets ? { targets: opts.targets } : {}),
    ...(opts.share ? { share: opts.share } : {}),
  });
  const builds = new Map<string, BuildSpec>();
  for (const s of [...Object.values(resolved.services), ...Object.values(resolved.disabled_services)]) {
    if (!s.build || builds.has(s.name)) continue;
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.build.args)) {
      const val = v ?? opts.hostEnv[k];
      if (val !== undefined) args[k] = val;
    }
    builds.set(s.name, {
      context: s.build.context,
      ...(s.build.dockerfile ? { dockerfile: s.build.dockerfile } : {}),
      args,
      ...(s.build.target ? { target: s.build.target } : {}),
      ...(s.build.labels ? { labels: s.build.labels } : {}),
      ...(s.build.no_cache ? { noCache: true } : {}),
      ...(s.build.pull ? { pull: true } : {}),
    });
  }
  // Each build service's settings as the engine gets them: an image built with others is built again.
  const withBuildHashes = { ...desired, services: desired.services.map((s) => (builds.has(s.name) ? { ...s, buildHash: buildHash(builds.get(s.name)!) } : s)) };
  return { project: resolved, desired: withBuildHashes, builds, warnings };
}

/**
 * The project's containers (all states). Docker writes health into the list's
 * Status text ("Up 3 minutes (healthy)"); Podman does not, so there running
 * containers are inspected and their health appended the same way, and a due
 * healthcheck is run first where Podman has no systemd to run it.
 */
export async function listProjectContainers(engine: Engine, projectName: string): Promise<ContainerSummary[]> {
  return withHealth(engine, await engine.containers.list({ all: true, labels: projectFilter(projectName) }));
}

/** `listProjectContainers` for every project Fizz manages on this engine, in one list call. */
export async function listManagedContainers(engine: Engine): Promise<ContainerSummary[]> {
  return withHealth(engine, await engine.containers.list({ all: true, labels: [...MANAGED_FILTER] }));
}

/** On Podman, running containers' health appended to Status as Docker writes it (a due healthcheck run first). */
async function withHealth(engine: Engine, list: ContainerSummary[]): Promise<ContainerSummary[]> {
  if (engine.name !== "podman") return list;
  return Promise.all(
    list.map(async (c) => {
      if (String(c.State).toLowerCase() !== "running" || /\((healthy|unhealthy|health: starting)\)/.test(c.Status)) return c;
      let ins = await engine.containers.find(c.Id);
      if (ins && (await runDueHealthcheck(engine, ins))) ins = (await engine.containers.find(c.Id)) ?? ins;
      const h = ins?.State.Health?.Status;
      if (h === "healthy" || h === "unhealthy") return { ...c, Status: `${c.Status} (${h})` };
      if (h === "starting") return { ...c, Status: `${c.Status} (health: starting)` };
      return c;
    }),
  );
}

/** A container another node created (on an engine nodes share, e.g. in tests): never ours to touch. */
export function ownedBy(c: ContainerSummary, node: string | undefined): boolean {
  const n = c.Labels?.[LABEL.node];
  return node === undefined || n === undefined || n === "" || n === node;
}

/**
 * Everything the engine has for a project: containers (all states), its
 * networks and volumes, and local images. With `node`, containers another
 * node labelled as its own are left out.
 */
export async function readActual(engine: Engine, projectName: string, node?: string): Promise<ActualState> {
  return (await readActualWithContainers(engine, projectName, node)).actual;
}

/** `readActual`, plus the engine's container list it was made from (the agent reports it to the cluster). */
export async function readActualWithContainers(engine: Engine, projectName: string, node?: string): Promise<{ actual: ActualState; containers: ContainerSummary[] }> {
  const labels = projectFilter(projectName);
  const [containers, networks, volumes, images] = await Promise.all([
    listProjectContainers(engine, projectName).then((l) => l.filter((c) => ownedBy(c, node))),
    engine.networks.list({ labels }),
    engine.volumes.list({ labels }),
    engine.images.list(),
  ]);
  return { actual: actualState({ containers, networks, volumes, images }), containers };
}

export interface PsRow {
  id: string;
  name: string;
  service: string;
  number: number;
  image: string;
  state: string;
  health: string;
  exitCode: number;
  startedAt: string;
  /** `ingress`: served by the cluster's ingress on every node (not bound by the engine). */
  ports: { hostIp?: string; hostPort?: number; containerPort: number; protocol: string; ingress?: boolean }[];
  /** Engine restarts (restart policy) plus Fizz's health restarts. */
  restarts: number;
  lastFailure?: string;
  oneoff: boolean;
}

/** The project's containers with state, health, ports and restart facts, sorted by service and number. */
export async function psRows(
  engine: Engine,
  projectName: string,
  opts: { all?: boolean; services?: readonly string[]; fizzRestarts?: (container: string, createdMs: number) => { count: number; lastReason?: string } } = {},
): Promise<PsRow[]> {
  const list = await engine.containers.list({ all: opts.all ?? false, labels: projectFilter(projectName) });
  const rows: PsRow[] = [];
  await Promise.all(
    list.map(async (c) => {
      const labels = c.Labels ?? {};
      const service = labels[LABEL.service] ?? "";
      if (opts.services?.length && !opts.services.includes(service)) return;
      const ins = await engine.containers.find(c.Id);
      if (!ins) return;
      const name = ins.Name.replace(/^\//, "");
      const st = ins.State;
      const fizz = opts.fizzRestarts?.(name, Date.parse(ins.Created)) ?? { count: 0 };
      const engineRestarts = (ins as { RestartCount?: number }).RestartCount ?? 0;
      const healthLog = (st.Health as { Log?: { ExitCode?: number; Output?: string }[] } | null | undefined)?.Log ?? [];
      const failedCheck = [...healthLog].reverse().find((l) => l.ExitCode !== 0);
      const lastFailure =
        fizz.lastReason ??
        (st.OOMKilled ? "OOM killed" : st.Error ? st.Error : st.Status === "exited" && st.ExitCode !== 0 ? `exited with code ${st.ExitCode}` : failedCheck?.Output ? `healthcheck: ${failedCheck.Output.trim().split("\n").at(-1)}` : undefined);
      rows.push({
        id: c.Id,
        name,
        service,
        number: Number(labels[LABEL.containerNumber] ?? 0),
        image: c.Image ?? ins.Config.Image,
        state: String(st.Status).toLowerCase(),
        health: st.Health?.Status ?? "",
        exitCode: st.ExitCode,
        startedAt: st.StartedAt,
        ports: (c.Ports ?? []).map((p) => ({
          ...(p.IP ? { hostIp: p.IP } : {}),
          ...(p.PublicPort ? { hostPort: p.PublicPort } : {}),
          containerPort: p.PrivatePort,
          protocol: p.Type,
        })),
        restarts: engineRestarts + fizz.count,
        ...(lastFailure ? { lastFailure } : {}),
        oneoff: labels[LABEL.oneoff] === "True",
      });
    }),
  );
  return rows.sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
}
