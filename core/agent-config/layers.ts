/**
 * The sources of option values, each a `ConfigLayer` (dotted path → typed
 * value, with where it came from), and the pure merge:
 * defaults < config file < FIZZ_* environment < flags.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { FizzError } from "../errors.ts";
import { suggest } from "../text/suggest.ts";
import { coerce } from "./values.ts";
import { envName, fields, isSection, SCHEMA, type AgentConfig, type FieldSpec, type SectionSpec } from "./schema.ts";

export interface ConfigLayer {
  /** `file /etc/fizz/config.yaml`, `environment`, `flags`. */
  readonly source: string;
  readonly values: ReadonlyMap<string, { readonly value: unknown; readonly origin: string }>;
}

const FIELD_BY_PATH = new Map(fields());

function configError(message: string, where: { file: string; line: number; column: number } | undefined, hint?: string): FizzError {
  return new FizzError({
    code: "config.invalid",
    message,
    exitCode: 2,
    ...(where ? { location: where } : {}),
    ...(hint ? { hint } : {}),
  });
}

/** Parses a config file. Unknown keys and wrong types are errors with file:line:column. */
export function parseConfigFile(text: string, file: string): ConfigLayer {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined) => {
    const p = lc.linePos(offset ?? 0);
    return { file, line: p.line, column: p.col };
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw configError(`invalid YAML: ${e.message.split("\n")[0]}`, at(e.pos[0]));
  }
  const values = new Map<string, { value: unknown; origin: string }>();
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) return { source: `file ${file}`, values };
  const walk = (node: Node, spec: SectionSpec, prefix: string) => {
    if (!isMap(node)) throw configError(`${prefix || "the file"}: expected a mapping`, at(node.range?.[0]));
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = keyNode && isScalar(keyNode) ? String(keyNode.value) : undefined;
      const keyAt = at(keyNode?.range?.[0]);
      if (key === undefined) throw configError("keys must be plain strings", keyAt);
      const path = prefix ? `${prefix}.${key}` : key;
      const child = spec.fields[key];
      if (!child) {
        const near = suggest(key, Object.keys(spec.fields));
        throw configError(`unknown option '${path}'`, keyAt, near ? `did you mean '${prefix ? `${prefix}.` : ""}${near}'?` : `known here: ${Object.keys(spec.fields).join(", ")}`);
      }
      const valueNode = pair.value as Node | null;
      if (isSection(child)) {
        if (valueNode === null || (isScalar(valueNode) && valueNode.value === null)) continue;
        walk(valueNode, child, path);
        continue;
      }
      const raw = valueNode === null ? null : (valueNode.toJSON() as unknown);
      if (raw === null) continue; // `key:` with no value keeps the default
      if (child.type.t === "list" && !isSeq(valueNode) && typeof raw !== "string") {
        throw configError(`${path}: expected a list`, at(valueNode?.range?.[0]));
      }
      const c = coerce(child.type, raw, false);
      const vAt = at(valueNode?.range?.[0]);
      if (!c.ok) throw configError(`${path}: ${c.message}`, vAt);
      values.set(path, { value: c.value, origin: `${file}:${vAt.line}` });
    }
  };
  walk(root, SCHEMA, "");
  return { source: `file ${file}`, values };
}

/** FIZZ_* variables naming options (FIZZ_API_TCP_LISTEN …); other FIZZ_* variables are ignored. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): ConfigLayer {
  const values = new Map<string, { value: unknown; origin: string }>();
  for (const [path, spec] of FIELD_BY_PATH) {
    const name = envName(path);
    const raw = env[name];
    if (raw === undefined) continue;
    const c = coerce(spec.type, raw, true);
    if (!c.ok) throw configError(`${name}: ${c.message}`, undefined);
    values.set(path, { value: c.value, origin: name });
  }
  return { source: "environment", values };
}

/** Flag values by option path, e.g. `{ "data_dir": ["--data-dir", "/tmp/x"] }`. */
export function flagLayer(flags: ReadonlyMap<string, { flag: string; value: unknown }>): ConfigLayer {
  const values = new Map<string, { value: unknown; origin: string }>();
  for (const [path, { flag, value }] of flags) {
    const spec = FIELD_BY_PATH.get(path);
    if (!spec) throw new Error(`flag ${flag} maps to unknown option ${path}`);
    const c = coerce(spec.type, value, true);
    if (!c.ok) throw new FizzError({ code: "cli.usage", message: `${flag}: ${c.message}`, exitCode: 2 });
    values.set(path, { value: c.value, origin: flag });
  }
  return { source: "flags", values };
}

export interface ResolvedConfig {
  readonly config: AgentConfig;
  /** Where each non-default value came from. */
  readonly origins: ReadonlyMap<string, string>;
}

/** Pure merge: later layers win, option by option. Checks cross-option rules. */
export function mergeConfig(base: AgentConfig, layers: readonly ConfigLayer[]): ResolvedConfig {
  const config = structuredClone(base);
  const origins = new Map<string, string>();
  for (const layer of layers) {
    for (const [path, { value, origin }] of layer.values) {
      setPath(config as unknown as Record<string, unknown>, path, value);
      origins.set(path, origin);
    }
  }
  const tls = config.api.tcp.tls;
  if ((tls.cert === "") !== (tls.key === "")) {
    const given = tls.cert ? "api.tcp.tls.cert" : "api.tcp.tls.key";
    throw configError(`${given} is set but ${tls.cert ? "api.tcp.tls.key" : "api.tcp.tls.cert"} is not (from ${origins.get(given)})`, undefined, "TLS needs both a certificate and its key");
  }
  if (tls.cert && !config.api.tcp.listen) {
    throw configError("TLS is configured but api.tcp.listen is empty", undefined, "TLS applies to the TCP listener; set api.tcp.listen (or --api <ip>:<port>)");
  }
  if (!config.api.socket && !config.api.tcp.listen) {
    throw configError("the API has no listener: api.socket and api.tcp.listen are both empty", undefined, "keep the default socket or set api.tcp.listen");
  }
  return { config, origins };
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1]!] = value;
}

export function fieldSpec(path: string): FieldSpec | undefined {
  return FIELD_BY_PATH.get(path);
}
