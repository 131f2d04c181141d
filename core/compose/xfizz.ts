/**
 * `x-fizz` blocks (top level and per service): Fizz's orchestrator settings,
 * validated like any compose field; the project's placement zone carried into
 * every service that does not choose its own (`applyZones`); the x-fizz keys
 * Fizz parses but does not act on yet, named as warnings (`xfizzWarnings`).
 * Reference: examples/x-fizz.md.
 */
import type { Diags } from "./diagnostics.ts";
import type { Project, Service, XFizzIngress, XFizzPlacement, XFizzProject, XFizzService, XFizzUpdate } from "./model.ts";
import { readObj, type Cx, type Schema } from "./schema.ts";
import type { Path } from "./source.ts";

const CONSTRAINT = /^[A-Za-z0-9_.\-/]+\s*(==|!=)\s*\S+$/;
/** A label value (Docker's label syntax is looser; zones are names, and this keeps constraints parseable). */
const ZONE = /^[A-Za-z0-9][A-Za-z0-9_.\-]*$/;
/** `zone: "*"` on a service: any zone, whatever the project's says. */
export const ANY_ZONE = "*";
/** The node label a zone is: nodes are labelled `zone=<z>` (node config `labels:`). */
export const ZONE_LABEL = "zone";

const PLACEMENT: Schema = { constraints: "list", prefer: "list", max_per_node: "uint", zone: "str" };
const UPDATE: Schema = {
  strategy: { enum: ["rolling", "recreate", "blue-green"] },
  parallelism: "uint",
  delay: "dur",
  order: { enum: ["stop-first", "start-first"] },
  failure_action: { enum: ["rollback", "pause", "continue"] },
};
const INGRESS: Schema = {
  host: "str",
  hosts: "list",
  path: "str",
  port: "uint",
  target: "uint",
  protocol: { enum: ["http", "tcp"] },
  tls: "bool",
  tls_port: "uint",
  proxy_protocol: "uint",
};
const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function placement(v: unknown, p: Path, cx: Cx, service: boolean): XFizzPlacement | undefined {
  const o = readObj(v, p, cx, PLACEMENT);
  if (!o) return undefined;
  const constraints = (o.constraints as string[]) ?? [];
  constraints.forEach((c, i) => {
    if (!CONSTRAINT.test(c)) cx.diags.error([...p, "constraints", i], "compose.xfizz", `invalid constraint "${c}"`, 'write "label==value" or "label!=value", e.g. "zone==eu-1"');
  });
  const zone = o.zone as string | undefined;
  if (zone !== undefined && !ZONE.test(zone) && !(service && zone === ANY_ZONE)) {
    cx.diags.error([...p, "zone"], "compose.xfizz", `invalid zone "${zone}"`, `a zone is a node label value: letters, digits, '.', '-' and '_'${service ? `; "${ANY_ZONE}" lets the service run in any zone` : ""}`);
  }
  return {
    constraints,
    prefer: (o.prefer as string[]) ?? [],
    ...(o.max_per_node !== undefined ? { max_per_node: o.max_per_node as number } : {}),
    ...(zone !== undefined ? { zone } : {}),
  };
}

function update(v: unknown, p: Path, cx: Cx): XFizzUpdate | undefined {
  const o = readObj(v, p, cx, UPDATE);
  if (!o) return undefined;
  const u: XFizzUpdate = {
    strategy: (o.strategy as XFizzUpdate["strategy"]) ?? "rolling",
    parallelism: (o.parallelism as number) ?? 1,
    delay: (o.delay as number) ?? 0,
    order: (o.order as XFizzUpdate["order"]) ?? "stop-first",
    failure_action: (o.failure_action as XFizzUpdate["failure_action"]) ?? "rollback",
  };
  if (u.parallelism === 0) cx.diags.error([...p, "parallelism"], "compose.xfizz", "parallelism must be at least 1");
  return u;
}

function ingress(v: unknown, p: Path, cx: Cx, needTarget: boolean): XFizzIngress[] | undefined {
  const items = Array.isArray(v) ? v : [v];
  const out: XFizzIngress[] = [];
  items.forEach((item, i) => {
    const ip = Array.isArray(v) ? [...p, i] : p;
    const o = readObj(item, ip, cx, INGRESS, needTarget ? ["target"] : []);
    if (!o) return;
    const protocol = (o.protocol as XFizzIngress["protocol"]) ?? "http";
    if (typeof o.port !== "number" && protocol === "tcp") {
      cx.diags.error([...ip, "port"], "compose.xfizz", "a tcp ingress needs a port", "add port: <the port every node accepts on>");
      return;
    }
    const port = typeof o.port === "number" ? o.port : 80;
    for (const k of ["port", "target", "tls_port"] as const) {
      const n = o[k];
      if (typeof n === "number" && (n < 1 || n > 65535)) cx.diags.error([...ip, k], "compose.xfizz", `${k} ${n} is not a port (1-65535)`);
    }
    const path = (o.path as string) ?? "/";
    if (!path.startsWith("/")) cx.diags.error([...ip, "path"], "compose.xfizz", `path "${path}" must start with /`);
    const hosts = ((o.hosts as string[] | undefined) ?? []).map(String);
    [...hosts.map((h, j) => [h, [...ip, "hosts", j]] as const), ...(o.host !== undefined ? [[String(o.host), [...ip, "host"]] as const] : [])].forEach(([h, hp]) => {
      if (!HOST_NAME.test(h)) cx.diags.error(hp, "compose.xfizz", `"${h}" is not a host name`, "write a lower-case DNS name like shop.example.com or *.example.com");
    });
    const pp = o.proxy_protocol;
    if (pp !== undefined && pp !== 1 && pp !== 2) cx.diags.error([...ip, "proxy_protocol"], "compose.xfizz", `proxy_protocol ${String(pp)} is not 1 or 2`);
    if (protocol === "tcp") {
      for (const k of ["host", "hosts", "tls", "tls_port"] as const) {
        if (o[k] !== undefined) cx.diags.error([...ip, k], "compose.xfizz", `${k} applies to http ingress only`, "remove it, or use protocol: http");
      }
      if (o.path !== undefined && o.path !== "/") cx.diags.error([...ip, "path"], "compose.xfizz", "path applies to http ingress only", "remove it, or use protocol: http");
    } else if (pp !== undefined) {
      cx.diags.error([...ip, "proxy_protocol"], "compose.xfizz", "proxy_protocol applies to tcp ingress only (HTTP backends get X-Forwarded-For and Forwarded)");
    }
    out.push({
      ...(o.host !== undefined ? { host: o.host as string } : {}),
      ...(hosts.length > 0 ? { hosts } : {}),
      path,
      port,
      target: (o.target as number) ?? 0,
      protocol,
      ...(o.tls !== undefined ? { tls: o.tls as boolean } : {}),
      ...(o.tls_port !== undefined ? { tls_port: o.tls_port as number } : {}),
      ...(pp === 1 || pp === 2 ? { proxy_protocol: pp } : {}),
    });
  });
  return out;
}

export function readXFizzService(v: unknown, p: Path, cx: Cx): XFizzService | undefined {
  const o = readObj(v, p, cx, { placement: "any", spread: "str", scaling: "any", update: "any", ingress: "any", secrets: "any" });
  if (!o) return undefined;
  const x: XFizzService = {};
  if (o.secrets !== undefined) {
    const s = readObj(o.secrets, [...p, "secrets"], cx, { rotate: "str", signal: "str" });
    if (s) {
      const rotate = s.rotate ?? "none";
      if (rotate !== "none" && rotate !== "restart" && rotate !== "signal") cx.diags.error([...p, "secrets", "rotate"], "compose.xfizz", `secrets.rotate is '${String(rotate)}'; use none (the file changes in place), signal or restart`);
      else if (s.signal !== undefined && rotate !== "signal") cx.diags.error([...p, "secrets", "signal"], "compose.xfizz", "secrets.signal is only used with rotate: signal");
      else if (s.signal !== undefined && !/^(SIG)?[A-Z0-9]{2,10}$/.test(String(s.signal))) cx.diags.error([...p, "secrets", "signal"], "compose.xfizz", `secrets.signal '${String(s.signal)}' is not a signal name like SIGHUP`);
      else x.secrets = { rotate, ...(s.signal !== undefined ? { signal: String(s.signal) } : {}) };
    }
  }
  if (o.placement !== undefined) {
    const pl = placement(o.placement, [...p, "placement"], cx, true);
    if (pl) x.placement = pl;
  }
  if (o.spread !== undefined) x.spread = o.spread as string;
  if (o.scaling !== undefined) {
    const s = readObj(o.scaling, [...p, "scaling"], cx, { min: "uint", max: "uint" }, ["min", "max"]);
    if (s && typeof s.min === "number" && typeof s.max === "number") {
      if (s.min > s.max) cx.diags.error([...p, "scaling"], "compose.xfizz", `scaling.min (${s.min}) is above scaling.max (${s.max})`);
      x.scaling = { min: s.min, max: s.max };
    }
  }
  if (o.update !== undefined) {
    const u = update(o.update, [...p, "update"], cx);
    if (u) x.update = u;
  }
  if (o.ingress !== undefined) {
    const g = ingress(o.ingress, [...p, "ingress"], cx, true);
    if (g) x.ingress = g;
  }
  return x;
}

export function readXFizzProject(v: unknown, p: Path, cx: Cx): XFizzProject | undefined {
  const o = readObj(v, p, cx, { placement: "any", update: "any" });
  if (!o) return undefined;
  const x: XFizzProject = {};
  if (o.placement !== undefined) {
    const pl = placement(o.placement, [...p, "placement"], cx, false);
    if (pl) x.placement = pl;
  }
  if (o.update !== undefined) {
    const u = update(o.update, [...p, "update"], cx);
    if (u) x.update = u;
  }
  return x;
}

/** The label a constraint tests, for bare x-fizz keys (`zone==a`) and compose's (`node.labels.zone == a`). */
function constraintLabel(constraint: string): string | undefined {
  const key = /^\s*([^=!\s]+)\s*(?:==|!=)/.exec(constraint)?.[1]?.toLowerCase();
  if (key === undefined) return undefined;
  if (key.startsWith("node.labels.")) return key.slice("node.labels.".length);
  return key.startsWith("node.") || key.startsWith("engine.") ? undefined : key;
}

/**
 * The zone a service is held to, if any: its own `x-fizz.placement.zone`
 * (`"*"` for any); else none when the service constrains the zone label
 * itself (x-fizz `constraints` or `deploy.placement.constraints`): the
 * service's placement wins; else the project's zone.
 */
export function serviceZone(projectZone: string | undefined, s: Pick<Service, "x_fizz" | "deploy">): string | undefined {
  const own = s.x_fizz?.placement;
  if (own?.zone !== undefined) return own.zone === ANY_ZONE ? undefined : own.zone;
  const constraints = [...(own?.constraints ?? []), ...(s.deploy?.placement?.constraints ?? [])];
  if (constraints.some((c) => constraintLabel(c) === ZONE_LABEL)) return undefined;
  return projectZone;
}

/**
 * Writes each service's zone into its `x-fizz.placement.constraints` as
 * `zone==<z>`, so the normalised project (`fizz config`) and the scheduler
 * both see it as the constraint it is. Idempotent: loading `fizz config`'s
 * output again gives the same constraints.
 */
export function applyZones(projectZone: string | undefined, services: Iterable<Service>): void {
  for (const s of services) {
    const zone = serviceZone(projectZone, s);
    if (zone === undefined) continue;
    const c = `${ZONE_LABEL}==${zone}`;
    const pl: XFizzPlacement = s.x_fizz?.placement ?? { constraints: [], prefer: [] };
    if (pl.constraints.includes(c)) continue;
    s.x_fizz = { ...s.x_fizz, placement: { ...pl, constraints: [...pl.constraints, c] } };
  }
}

/**
 * `x-fizz.scaling` is a declared contract even without an autoscaler: a
 * replica count outside [min, max] (from `deploy.replicas`, `fizz scale` or
 * `up --scale`) is refused, naming both bounds. Undefined when `replicas`
 * is within them (or the service declares none).
 */
export function scalingViolation(service: Pick<Service, "name" | "x_fizz">, replicas: number, source = "replicas"): { message: string; hint: string } | undefined {
  const b = service.x_fizz?.scaling;
  if (!b || (replicas >= b.min && replicas <= b.max)) return undefined;
  return {
    message: `${source} for service '${service.name}' is ${replicas}, ${replicas < b.min ? "below" : "above"} its x-fizz.scaling bounds (min ${b.min}, max ${b.max})`,
    hint: `choose between ${b.min} and ${b.max}, or change x-fizz.scaling in the compose file`,
  };
}

/** x-fizz keys that are read and checked but not acted on yet: each is a warning, never silence. */
export function xfizzWarnings(project: Pick<Project, "services">, diags: Diags): void {
  for (const [name, s] of Object.entries(project.services)) {
    const p = ["services", name, "x-fizz"];
    if (s.x_fizz?.scaling) {
      const count = s.deploy?.replicas ?? s.scale;
      const bad = count === undefined ? undefined : scalingViolation(s, count, s.deploy?.replicas !== undefined ? "deploy.replicas" : "scale");
      if (bad) diags.error([...p, "scaling"], "compose.xfizz", bad.message, bad.hint);
      diags.warn([...p, "scaling"], "compose.unsupported", "'x-fizz.scaling' is not acted on yet (there is no autoscaler): it bounds deploy.replicas, fizz scale and up --scale, and without a count the service starts at min", "set the replica count with deploy.replicas or fizz scale");
    }
    const strategy = s.x_fizz?.update?.strategy;
    if (strategy !== undefined && strategy !== "rolling") {
      diags.warn([...p, "update", "strategy"], "compose.unsupported", `'x-fizz.update.strategy: ${strategy}' is parsed but not honoured by Fizz yet: services update rolling`);
    }
  }
}
