/**
 * One-off containers (`fizz run`), as Compose v2 makes them: the service's
 * definition with the command line's overrides applied (command, entrypoint,
 * environment, user, working directory, ports, volumes, TTY), no restart
 * policy, and labelled `com.docker.compose.oneoff=True` with a random slug
 * and no container number (Compose numbers only a service's replicas).
 * The planner and the agent skip one-off containers, so nothing converges
 * them away. Pure: the slug comes from the caller.
 */
import type { PortMapping, Project, Service, VolumeMount } from "../compose/model.ts";
import { serviceConfigHash } from "../compose/hash.ts";
import { parsePortShort, parseVolumeShort, isWindowsAbsolute } from "../compose/syntax.ts";
import { LABEL } from "../labels.ts";
import { instantiate, serviceTemplate, type Instance } from "./container-spec.ts";
import { serviceImage } from "./desired.ts";
import { FizzError, usageError } from "../errors.ts";

export interface RunOverrides {
  /** Replaces the service's command (empty = keep it). */
  command?: string[];
  /** Replaces the entrypoint (then the command too, unless one is given). */
  entrypoint?: string[];
  /** `-e KEY=VAL` or `-e KEY` (taken from `lookup`). */
  env?: string[];
  user?: string;
  workdir?: string;
  /** `--name`: the container name (default `<project>-<service>-run-<slug12>`). */
  name?: string;
  /** `-p`: extra published ports, short syntax. */
  publish?: string[];
  /** `-P`/`--service-ports`: publish the service's own ports (default: none, as in Compose). */
  servicePorts?: boolean;
  /** `-v`: extra mounts, short syntax. */
  volumes?: string[];
  labels?: string[];
  tty: boolean;
  /** Keep stdin open (Compose's -i, on by default). */
  interactive: boolean;
  /** `--rm`: the engine removes the container when it exits. */
  autoRemove: boolean;
}

export interface OneOff {
  service: Service;
  instance: Instance;
}

/** Compose's one-off name: `<project>-<service>-run-<first 12 of the slug>`. */
export function oneOffName(project: string, service: string, slug: string): string {
  return `${project}-${service}-run-${slug.slice(0, 12)}`;
}

/** The service as the one-off runs it (Compose's applyRunOptions). */
export function oneOffService(service: Service, o: RunOverrides, lookup: (name: string) => string | undefined, resolvePath: (p: string) => string): Service {
  const s: Service = { ...service, environment: { ...service.environment }, labels: { ...service.labels } };
  delete s.restart;
  delete s.container_name;
  if (s.deploy) s.deploy = { ...s.deploy, replicas: 1 };
  delete s.deploy?.restart_policy;
  delete s.scale;
  s.tty = o.tty;
  s.stdin_open = o.interactive;
  if (o.command?.length) s.command = o.command;
  if (o.entrypoint) {
    s.entrypoint = o.entrypoint;
    if (!o.command?.length) s.command = [];
  }
  if (o.user) s.user = o.user;
  if (o.workdir) s.working_dir = o.workdir;
  for (const e of o.env ?? []) {
    const eq = e.indexOf("=");
    if (eq === 0) throw usageError(`-e expects KEY=VALUE or KEY, got '${e}'`);
    const key = eq < 0 ? e : e.slice(0, eq);
    const value = eq < 0 ? lookup(key) : e.slice(eq + 1);
    // `-e KEY` with KEY unset is dropped, as Compose does (RemoveEmpty).
    if (value !== undefined) s.environment[key] = value;
  }
  for (const l of o.labels ?? []) {
    const eq = l.indexOf("=");
    s.labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  const ports: PortMapping[] = o.servicePorts ? [...service.ports] : [];
  for (const p of o.publish ?? []) {
    const r = parsePortShort(p);
    if (!r.ok) throw usageError(`--publish ${p}: ${r.message}`);
    ports.push(...r.value);
  }
  s.ports = ports;
  const volumes: VolumeMount[] = [...service.volumes];
  for (const v of o.volumes ?? []) {
    const r = parseVolumeShort(v);
    if (!r.ok) throw usageError(`--volume ${v}: ${r.message}`);
    const m = r.value;
    if (m.source === undefined) volumes.push({ type: "volume", target: m.target, ...(m.read_only ? { read_only: true } : {}) });
    else if (m.kind === "bind") volumes.push({ type: "bind", source: isWindowsAbsolute(m.source) ? m.source : resolvePath(m.source), target: m.target, ...(m.read_only ? { read_only: true } : {}), bind: { create_host_path: true } });
    else volumes.push({ type: "volume", source: m.source, target: m.target, ...(m.read_only ? { read_only: true } : {}) });
  }
  s.volumes = volumes;
  return s;
}

/** The create body of a one-off container of `service` (already overridden by oneOffService). */
export function oneOffInstance(project: Project, service: Service, o: { name?: string; slug: string; autoRemove: boolean }): OneOff {
  for (const m of service.volumes) {
    if (m.type === "volume" && m.source !== undefined && !Object.hasOwn(project.volumes, m.source) && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(m.source)) {
      throw new FizzError({ code: "run.bad_volume", message: `--volume source '${m.source}' is neither a path nor a volume name`, hint: "write ./dir:/target for a host directory" });
    }
  }
  const hashed: Project = { ...project, services: { ...project.services, [service.name]: service } };
  const { template } = serviceTemplate(hashed, service, serviceImage(project, service));
  const name = o.name ?? oneOffName(project.name, service.name, o.slug);
  const instance = instantiate(template, { number: 0, oneoff: true, name, configHash: serviceConfigHash(hashed, service.name) });
  const labels = { ...instance.body.Labels!, [LABEL.slug]: o.slug };
  const body = { ...instance.body, Labels: labels, HostConfig: { ...instance.body.HostConfig, ...(o.autoRemove ? { AutoRemove: true } : {}) } };
  if (service.stdin_open) body.StdinOnce = true;
  return { service, instance: { ...instance, body } };
}
