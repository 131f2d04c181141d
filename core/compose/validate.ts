/**
 * Checks across the normalised project: references (depends_on, links,
 * volumes_from, networks, named volumes, secrets, configs) point at defined
 * things, dependencies have no cycle (printed), published ports do not
 * collide, and fields Fizz cannot honour are listed as warnings.
 */
import { suggest } from "../text/suggest.ts";
import type { Diags } from "./diagnostics.ts";
import type { PortMapping, Project, Service } from "./model.ts";
import { replicaCount } from "./query.ts";
import { hasPath, UNSUPPORTED_SERVICE_FIELDS, UNSUPPORTED_TOP_FIELDS } from "./unsupported.ts";
import { networkDiagnostics } from "../net/compose-networks.ts";
import { isIp } from "./syntax.ts";
import { own } from "./hash.ts";
import { implicitDeps } from "./query.ts";
import { xfizzWarnings } from "./xfizz.ts";
import { checkFieldValues } from "./field-values.ts";
import { checkFileRefs } from "./file-refs.ts";
import { projectConflicts } from "../ingress/conflicts.ts";

function hintFor(word: string, candidates: Iterable<string>, kind: string): string {
  const near = suggest(word, candidates);
  return near ? `did you mean '${near}'?` : `define it under top-level '${kind}'`;
}

/**
 * `portOrigin`: the index in the file's `ports:` list a mapping was written
 * at (a short-syntax range is expanded to one mapping per port); without it,
 * the model's index is used.
 */
export function validateProject(project: Project, diags: Diags, portOrigin: (m: PortMapping) => number | undefined = () => undefined): void {
  const portPath = (name: string, i: number): (string | number)[] => {
    const m = own(project.services, name)?.ports[i];
    return ["services", name, "ports", (m && portOrigin(m)) ?? i];
  };
  const all: Record<string, Service> = { ...project.disabled_services, ...project.services };
  const enabled = project.services;
  for (const [name, svc] of Object.entries(enabled)) {
    const sp = ["services", name];
    for (const [dep, d] of Object.entries(svc.depends_on)) {
      if (!own(all, dep)) {
        const near = suggest(dep, Object.keys(all));
        const msg = `depends on undefined service '${dep}'`;
        if (d.required) diags.error([...sp, "depends_on", dep], "compose.unknown_service", msg, near ? `did you mean '${near}'?` : "define the service or remove the dependency");
        else diags.warn([...sp, "depends_on", dep], "compose.unknown_service", `${msg} (required: false, ignored)`);
      } else if (d.condition === "service_healthy" && own(enabled, dep)?.healthcheck?.disable === true) {
        diags.error([...sp, "depends_on", dep], "compose.conflict", `waits for '${dep}' to be healthy, but its healthcheck is disabled (healthcheck.disable: true)`, `use condition: service_started, or give ${dep} a healthcheck`);
      } else if (!own(enabled, dep)) {
        const msg = `depends on service '${dep}', which is disabled by its profiles (${own(all, dep)!.profiles.join(", ")})`;
        if (d.required) diags.error([...sp, "depends_on", dep], "compose.disabled_service", msg, `enable it with --profile ${own(all, dep)!.profiles[0]}`);
        else diags.warn([...sp, "depends_on", dep], "compose.disabled_service", msg);
      }
    }
    (svc.links ?? []).forEach((l, i) => {
      const target = l.split(":")[0]!;
      if (!own(all, target)) diags.error([...sp, "links", i], "compose.unknown_service", `links to undefined service '${target}'`, hintFor(target, Object.keys(all), "services"));
    });
    (svc.volumes_from ?? []).forEach((v, i) => {
      const [kind, ref] = v.startsWith("container:") ? ["container", v.slice(10)] : ["service", v.replace(/^service:/, "").split(":")[0]!];
      if (kind === "service" && !own(all, ref!)) diags.error([...sp, "volumes_from", i], "compose.unknown_service", `volumes_from refers to undefined service '${ref}'`, hintFor(ref!, Object.keys(all), "services"));
    });
    for (const mode of [svc.network_mode, svc.ipc, svc.pid].filter((m): m is string => typeof m === "string")) {
      if (mode.startsWith("service:")) {
        const ref = mode.slice(8);
        if (!own(all, ref)) diags.error([...sp, "network_mode"], "compose.unknown_service", `refers to undefined service '${ref}'`, hintFor(ref, Object.keys(all), "services"));
      }
    }
    for (const net of Object.keys(svc.networks)) {
      if (!own(project.networks, net)) diags.error([...sp, "networks", net], "compose.unknown_network", `uses undefined network '${net}'`, hintFor(net, Object.keys(project.networks), "networks"));
    }
    svc.volumes.forEach((m, i) => {
      if (m.type === "volume" && m.source !== undefined && !own(project.volumes, m.source)) {
        diags.error([...sp, "volumes", i], "compose.unknown_volume", `uses undefined volume '${m.source}'`, hintFor(m.source, Object.keys(project.volumes), "volumes"));
      }
    });
    svc.secrets.forEach((s, i) => {
      if (!own(project.secrets, s.source)) diags.error([...sp, "secrets", i], "compose.unknown_secret", `uses undefined secret '${s.source}'`, hintFor(s.source, Object.keys(project.secrets), "secrets"));
    });
    svc.configs.forEach((s, i) => {
      if (!own(project.configs, s.source)) diags.error([...sp, "configs", i], "compose.unknown_config", `uses undefined config '${s.source}'`, hintFor(s.source, Object.keys(project.configs), "configs"));
    });
    for (const ref of svc.build?.secrets ?? []) {
      if (!own(project.secrets, ref.source)) diags.error([...sp, "build", "secrets"], "compose.unknown_secret", `build uses undefined secret '${ref.source}'`, hintFor(ref.source, Object.keys(project.secrets), "secrets"));
    }
    svc.volumes.forEach((m, i) => {
      if (!m.target.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(m.target)) {
        diags.error([...sp, "volumes", i], "compose.bad_volume", `mount target '${m.target}' must be an absolute path in the container`, `write '/${m.target}'`);
      }
    });
    if (svc.network_mode === "host" && svc.ports.length) {
      diags.warn([...sp, "ports"], "compose.ignored", "ports are ignored with network_mode: host (the container uses the host's ports directly)");
    }
    if (svc.network_mode === "none" && svc.ports.length) {
      diags.error([...sp, "ports"], "compose.conflict", "ports cannot be published with network_mode: none");
    }
    if ((svc.deploy?.mode === "global" || svc.deploy?.mode === "global-job") && svc.deploy.replicas !== undefined) {
      diags.error([...sp, "deploy", "replicas"], "compose.conflict", `deploy.replicas cannot be set with mode: ${svc.deploy.mode} (one per node)`);
    }
    svc.ports.forEach((p, i) => {
      if (p.host_ip !== undefined && !isIp(p.host_ip)) diags.error([...portPath(name, i), "host_ip"], "compose.bad_port", `invalid host IP '${p.host_ip}'`);
    });
    for (const [net, cfg] of Object.entries(svc.networks)) {
      if (cfg?.ipv4_address !== undefined && (!isIp(cfg.ipv4_address) || cfg.ipv4_address.includes(":"))) {
        diags.error([...sp, "networks", net, "ipv4_address"], "compose.bad_value", `invalid IPv4 address '${cfg.ipv4_address}'`);
      }
    }
    const replicas = replicaCount(svc);
    if (svc.container_name !== undefined && replicas > 1) {
      diags.error([...sp, "container_name"], "compose.conflict", `container_name '${svc.container_name}' cannot be used with ${replicas} replicas`, "remove container_name or scale to 1");
    }
    checkFieldValues(name, svc, diags);
    checkFileRefs(name, svc, diags);
    for (const u of UNSUPPORTED_SERVICE_FIELDS) {
      if (hasPath(svc, u.field)) diags.warn([...sp, ...u.field.split(".")], "compose.unsupported", `'${u.field}' is parsed but not honoured by Fizz yet: ${u.why}`);
    }
    svc.volumes.forEach((m, i) => {
      if (m.type === "npipe" || m.type === "cluster") diags.warn([...sp, "volumes", i], "compose.unsupported", `volume type '${m.type}' is not honoured by Fizz`);
    });
  }
  for (const u of UNSUPPORTED_TOP_FIELDS) {
    const [top, , field] = u.field.split(".");
    const defs = (project as unknown as Record<string, Record<string, unknown>>)[top!] ?? {};
    for (const [k, def] of Object.entries(defs)) if (hasPath(def, field!)) diags.warn([top!, k, field!], "compose.unsupported", `'${field}' is parsed but not honoured by Fizz yet: ${u.why}`);
  }
  xfizzWarnings(project, diags);
  checkCycles(project, diags);
  checkPorts(project, diags, portPath);
  // Networks across nodes: external ones are node-local; subnets and ipv4_address checked (core/net).
  networkDiagnostics(project, diags);
  // x-fizz.ingress routes and ports against each other and against published ports (core/ingress).
  for (const c of projectConflicts(project)) diags.error([...c.path], "compose.ingress_conflict", c.message, c.hint);
}

function checkCycles(project: Project, diags: Diags): void {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (name: string): void => {
    const st = state.get(name);
    if (st === "done") return;
    if (st === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const key = [...cycle.slice(0, -1)].sort().join(",");
      if (!reported.has(key)) {
        reported.add(key);
        diags.error(["services", name], "compose.dependency_cycle", `dependency cycle: ${cycle.join(" → ")}`, "remove one of these dependencies (depends_on, links, volumes_from or service: modes)");
      }
      return;
    }
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of implicitDeps(own(project.services, name))) if (own(project.services, dep)) visit(dep);
    stack.pop();
    state.set(name, "done");
  };
  for (const name of Object.keys(project.services).sort()) visit(name);
}

function expandPublished(p: string): number[] {
  const [a, b] = p.split("-").map(Number);
  if (a === undefined || Number.isNaN(a)) return [];
  const end = b === undefined || Number.isNaN(b) ? a : b;
  const out: number[] = [];
  for (let i = a; i <= end && out.length < 70000; i++) out.push(i);
  return out;
}

/** " (line 4)", or " (other.yaml:4)" when the entry is in another file than `here`. */
function lineOf(loc: { file: string; line: number } | undefined, here: { file: string } | undefined): string {
  if (!loc) return "";
  return loc.file === here?.file ? ` (line ${loc.line})` : ` (${loc.file}:${loc.line})`;
}

function checkPorts(project: Project, diags: Diags, portPath: (name: string, i: number) => (string | number)[]): void {
  // Indexed by port/protocol so a 1,000-service file is checked in linear time.
  const seen = new Map<string, { service: string; index: number; ip: string }[]>();
  const wildcard = (ip: string) => ip === "0.0.0.0" || ip === "::";
  const reported = new Set<string>();
  for (const [name, svc] of Object.entries(project.services)) {
    // Scaled to zero (`scale: 0` in an override, to swap a service for another), it binds nothing.
    if (replicaCount(svc) === 0) continue;
    svc.ports.forEach((p, i) => {
      if (p.published === undefined) return;
      const ports = expandPublished(p.published);
      if (ports.length !== 1) return; // a range lets the engine pick a free port from it
      const key = `${ports[0]}/${p.protocol}`;
      const ip = p.host_ip ?? "0.0.0.0";
      const prevs = seen.get(key) ?? [];
      const prev = prevs.find((q) => q.ip === ip || wildcard(ip) || wildcard(q.ip));
      if (prev) {
        const where = portPath(prev.service, prev.index);
        // A range written once conflicts once, not once per port.
        const pair = `${name}.${portPath(name, i)[3]}|${prev.service}.${where[3]}`;
        if (reported.has(pair)) return;
        reported.add(pair);
        diags.error(
          portPath(name, i),
          "compose.port_conflict",
          `published port ${key} is already published by services.${prev.service}.ports[${where[3]}]${lineOf(diags.locations.at(where), diags.locations.at(portPath(name, i)))}`,
          "publish a different host port",
        );
        return;
      }
      prevs.push({ service: name, index: i, ip });
      seen.set(key, prevs);
    });
  }
}
