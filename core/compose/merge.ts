/**
 * Merging compose documents (later files override earlier ones, and a service
 * over the service it `extends`), following the compose spec's merge rules:
 * mappings merge recursively; `command`, `entrypoint` and `healthcheck.test`
 * are replaced; list-or-mapping fields (environment, labels, …) merge by key;
 * ports, volumes, secrets, configs and devices merge by their identity
 * (target path / normalised port); other sequences append without duplicates.
 * As in compose-go: a string where a list may be written (env_file, dns,
 * dns_search, tmpfs, label_file) is a one-item list, so an override's appends
 * to it; an override key with no value (null) keeps the base's; `logging` with
 * another driver replaces the base's (its options belong to that driver).
 * Works on raw (interpolated, not yet normalised) values.
 */
import { canonicalJson, own } from "./hash.ts";
import { OverrideTag, ResetTag } from "./tags.ts";
import { parseDeviceShort, parsePortShort, parseVolumeShort, splitKeyValue } from "./syntax.ts";

type Dict = Record<string, unknown>;

/** A plain mapping (not a list, not a !reset/!override marker). */
export function isDict(v: unknown): v is Dict {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Fields replaced wholesale by an override. */
const REPLACE = new Set(["command", "entrypoint", "healthcheck.test", "pre_start", "post_start", "pre_stop", "build.dockerfile_inline"]);

/** Fields a string or a list may spell: merged as lists (compose-go's mergeToSequence). */
const STRING_OR_LIST = new Set(["env_file", "dns", "dns_search", "tmpfs", "label_file"]);

/** List-or-mapping fields (and how list items split into key/value). */
const KEYED_DICT: Record<string, string> = {
  environment: "=",
  labels: "=",
  annotations: "=",
  sysctls: "=",
  "build.args": "=",
  "build.labels": "=",
  "build.additional_contexts": "=",
  "build.ssh": "=",
  "deploy.labels": "=",
  "logging.options": "=",
  storage_opt: "=",
  extra_hosts: "",
  "build.extra_hosts": "",
  depends_on: "",
  networks: "",
  ulimits: "",
};

/** Sequences whose items are identified by a key; a later item with the same key replaces the earlier. */
const KEYED_SEQ: Record<string, (item: unknown) => string> = {
  ports: portKey,
  volumes: (v) => (typeof v === "string" ? (parseVolumeShort(v).ok ? (parseVolumeShort(v) as { value: { target: string } }).value.target : v) : isDict(v) ? String(v.target) : canonicalJson(v)),
  secrets: refKey,
  configs: refKey,
  "build.secrets": refKey,
  devices: (v) => {
    if (typeof v === "string") {
      const d = parseDeviceShort(v);
      return d.ok ? d.value.target : v;
    }
    return isDict(v) ? String(v.target ?? v.source) : canonicalJson(v);
  },
};

function portKey(v: unknown): string {
  if (typeof v === "string" || typeof v === "number") {
    const p = parsePortShort(v);
    return p.ok ? canonicalJson(p.value.map((m) => ({ ...m, mode: undefined }))) : String(v);
  }
  if (isDict(v)) {
    return canonicalJson([
      { target: Number(v.target), published: v.published === undefined ? undefined : String(v.published), host_ip: v.host_ip, protocol: v.protocol ?? "tcp" },
    ]);
  }
  return canonicalJson(v);
}

function refKey(v: unknown): string {
  if (typeof v === "string") return v;
  if (isDict(v)) return String(v.target ?? v.source);
  return canonicalJson(v);
}

/** A list-or-mapping field as a mapping ("K=V" → {K: "V"}; "K" → {K: null}). */
export function toDict(v: unknown, sep: string): unknown {
  if (!Array.isArray(v)) return v;
  const out: Dict = {};
  for (const item of v) {
    if (typeof item === "string" || typeof item === "number") {
      const s = String(item);
      if (sep === "") {
        // extra_hosts "host:ip" / "host=ip"; depends_on / networks bare names.
        const eq = s.indexOf("=");
        const colon = s.indexOf(":");
        const i = eq >= 0 ? eq : colon;
        if (i >= 0) out[s.slice(0, i)] = s.slice(i + 1);
        else out[s] = null;
      } else {
        const [k, val] = splitKeyValue(s, sep);
        out[k] = val;
      }
    } else return v; // malformed; leave for the validator to report
  }
  return out;
}

function fieldPath(path: string[]): string {
  // Paths inside a service: drop the "services.<name>." prefix.
  return path.join(".");
}

function mergeAt(path: string[], base: unknown, over: unknown): unknown {
  const fp = fieldPath(path);
  // `environment:` with every entry commented out is null: it adds nothing (compose-go merges nil as no change).
  if (over === undefined || (over === null && base !== undefined)) return base;
  if (base === undefined) return over;
  // !reset / !override: kept as markers so that merging stays associative; stripTags removes them.
  if (over instanceof ResetTag || over instanceof OverrideTag) return over;
  if (base instanceof ResetTag) return new OverrideTag(over);
  if (base instanceof OverrideTag) return new OverrideTag(mergeAt(path, base.value, over));
  if (REPLACE.has(fp)) return over;
  if (STRING_OR_LIST.has(fp) && (typeof base === "string" || typeof over === "string")) {
    return mergeAt(path, typeof base === "string" ? [base] : base, typeof over === "string" ? [over] : over);
  }
  if (fp === "logging" && isDict(base) && isDict(over) && base.driver !== undefined && over.driver !== undefined && base.driver !== over.driver) return over;
  const sep = own(KEYED_DICT, fp);
  if (sep !== undefined) {
    // `depends_on: [db]` is db with service_started, which overrides a base's condition (compose-go's mergeDependsOn).
    const started = (v: unknown) => {
      const d = fp === "depends_on" && Array.isArray(v) ? toDict(v, sep) : undefined;
      return isDict(d) ? Object.fromEntries(Object.keys(d).map((k) => [k, { condition: "service_started", required: true }])) : v;
    };
    const b = toDict(started(base), sep);
    const o = toDict(started(over), sep);
    if (isDict(b) && isDict(o)) return mergeDicts(path, b, o);
    return over;
  }
  const keyOf = own(KEYED_SEQ, fp);
  if (keyOf && Array.isArray(base) && Array.isArray(over)) {
    const out = new Map<string, unknown>();
    for (const item of base) out.set(keyOf(item), item);
    for (const item of over) {
      const k = keyOf(item);
      out.delete(k); // re-insert so the override's order wins for replaced items
      out.set(k, item);
    }
    return [...out.values()];
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    const seen = new Set(base.map((x) => canonicalJson(x)));
    const out = [...base];
    for (const item of over) {
      const k = canonicalJson(item);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(item);
      }
    }
    return out;
  }
  if (isDict(base) && isDict(over)) return mergeDicts(path, base, over);
  return over;
}

function mergeDicts(path: string[], base: Dict, over: Dict): Dict {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = Object.hasOwn(base, k) ? mergeAt([...path, k], base[k], v) : v;
  }
  return out;
}

/** Merge an overriding service definition onto a base one. */
export function mergeService(base: unknown, over: unknown): unknown {
  if (!isDict(base) || !isDict(over)) return over ?? base;
  // `build: ./dir` is the same as `build: {context: ./dir}`.
  const b = typeof base.build === "string" ? { ...base, build: { context: base.build } } : base;
  const o = typeof over.build === "string" ? { ...over, build: { context: over.build } } : over;
  return mergeDicts([], b, o);
}

const TOP_RESOURCES = ["networks", "volumes", "secrets", "configs"];

/** Merge two whole compose documents (raw). */
export function mergeDocuments(base: unknown, over: unknown): unknown {
  if (!isDict(base) || !isDict(over)) return over ?? base;
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (!Object.hasOwn(base, k)) {
      out[k] = v;
      continue;
    }
    const bv = base[k];
    if (k === "services" && isDict(bv) && isDict(v)) {
      const s: Dict = { ...bv };
      for (const [name, svc] of Object.entries(v)) s[name] = Object.hasOwn(bv, name) ? mergeService(bv[name], svc) : svc;
      out[k] = s;
    } else if (TOP_RESOURCES.includes(k) && isDict(bv) && isDict(v)) {
      const r: Dict = { ...bv };
      for (const [name, def] of Object.entries(v)) r[name] = Object.hasOwn(bv, name) ? mergeAt([], bv[name], def) : def;
      out[k] = r;
    } else if (k === "include" && Array.isArray(bv) && Array.isArray(v)) {
      out[k] = [...bv, ...v];
    } else out[k] = mergeAt([], bv, v);
  }
  return out;
}
