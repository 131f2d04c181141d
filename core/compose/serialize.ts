/**
 * The normalised project back to a compose document, in the style of
 * `docker compose config`: long syntax everywhere, keys sorted, durations as
 * Go duration strings, empty defaults omitted. `fizz config` prints this as
 * YAML or JSON, and it is itself a valid compose file.
 */
import { stringify } from "yaml";
import type { Project, Service } from "./model.ts";
import { formatDuration } from "./units.ts";

type Dict = Record<string, unknown>;

const DURATION_KEYS = new Set([
  "interval",
  "timeout",
  "start_period",
  "start_interval",
  "stop_grace_period",
  "delay",
  "window",
  "monitor",
  "cpu_rt_runtime",
  "cpu_rt_period",
]);

/** Strings are printed with `$` escaped as `$$`, so the output is itself a compose file with the same meaning. */
function clean(v: unknown, key = ""): unknown {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v.replace(/\$/g, "$$$$");
  if (typeof v === "number" && DURATION_KEYS.has(key)) return formatDuration(v);
  if (Array.isArray(v)) return v.map((x) => clean(x));
  if (v !== null && typeof v === "object") {
    const out: Dict = {};
    for (const k of Object.keys(v).sort()) {
      const c = clean((v as Dict)[k], k);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return v;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
}

export function serviceDocument(s: Service): Dict {
  const { name: _n, x_fizz, extensions, healthcheck, ...rest } = s;
  const out: Dict = {};
  for (const [k, v] of Object.entries(rest)) if (!isEmpty(v) || k === "command" || k === "entrypoint") if (v !== undefined) out[k] = v;
  if (healthcheck) {
    const { disable, ...h } = healthcheck;
    out.healthcheck = disable ? { ...h, disable: true } : h;
  }
  if (x_fizz) out["x-fizz"] = x_fizz;
  Object.assign(out, extensions);
  return clean(out) as Dict;
}

function resourceDoc(r: { extensions: Dict; x_fizz?: unknown } & Dict): Dict {
  const { extensions, x_fizz: _x, ...rest } = r;
  const out: Dict = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k === "external" && v === false) continue;
    if (!isEmpty(v)) out[k] = v;
  }
  Object.assign(out, extensions);
  return clean(out) as Dict;
}

export function projectDocument(p: Project): Dict {
  const doc: Dict = { name: p.name };
  const services: Dict = {};
  for (const k of Object.keys(p.services).sort()) services[k] = serviceDocument(p.services[k]!);
  doc.services = services;
  for (const kind of ["networks", "volumes", "secrets", "configs"] as const) {
    const defs = p[kind] as unknown as Record<string, { extensions: Dict } & Dict>;
    if (!Object.keys(defs).length) continue;
    const o: Dict = {};
    for (const k of Object.keys(defs).sort()) o[k] = resourceDoc(defs[k]!);
    doc[kind] = o;
  }
  if (p.x_fizz) doc["x-fizz"] = clean(p.x_fizz);
  for (const [k, v] of Object.entries(p.extensions)) doc[k] = clean(v);
  return doc;
}

export function projectYaml(p: Project): string {
  return stringify(projectDocument(p), { aliasDuplicateObjects: false, lineWidth: 0, version: "1.1" });
}
