/**
 * Compose/swarm placement constraints: `node.labels.zone == a`,
 * `node.role != manager`, `engine.labels.gpu==true`, … Parsed once per service,
 * matched against every node. Matching follows swarmkit: values compare
 * case-insensitively, and `!=` matches a node that lacks the label.
 */
import { FizzError } from "../errors.ts";
import { suggest } from "../text/suggest.ts";
import type { SchedNode } from "./types.ts";

export type ConstraintKey =
  | { readonly kind: "id" }
  | { readonly kind: "hostname" }
  | { readonly kind: "role" }
  | { readonly kind: "os" }
  | { readonly kind: "arch" }
  | { readonly kind: "nodeLabel"; readonly name: string }
  | { readonly kind: "engineLabel"; readonly name: string };

export interface Constraint {
  /** The constraint as the user wrote it, for explanations. */
  readonly source: string;
  readonly key: ConstraintKey;
  readonly op: "==" | "!=";
  readonly value: string;
}

const FIXED_KEYS: Record<string, ConstraintKey> = {
  "node.id": { kind: "id" },
  "node.hostname": { kind: "hostname" },
  "node.role": { kind: "role" },
  "node.platform.os": { kind: "os" },
  "node.platform.arch": { kind: "arch" },
};
const KNOWN = [...Object.keys(FIXED_KEYS), "node.labels.<name>", "engine.labels.<name>"];

function invalid(source: string, message: string, hint: string, path?: string): FizzError {
  return new FizzError({
    code: "scheduler.constraint_invalid",
    message: `placement constraint "${source}": ${message}`,
    hint,
    ...(path ? { path } : {}),
  });
}

export interface ParseOptions {
  /** x-fizz syntax: a key that is not `node.…`/`engine.…` names a node label. */
  readonly bareLabels?: boolean;
}

/** Parses one constraint; `path` (e.g. `services.web.deploy.placement.constraints[0]`) goes into errors. */
export function parseConstraint(source: string, path?: string, options: ParseOptions = {}): Constraint {
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(source);
  if (!m) {
    const hint = source.includes("=") && !source.includes("==")
      ? `use "==" to compare, e.g. "${source.replace(/\s*=\s*/, " == ")}"`
      : `write it as "<key> == <value>" or "<key> != <value>", e.g. "node.labels.zone == a"`;
    throw invalid(source, "expected <key> == <value> or <key> != <value>", hint, path);
  }
  const [, keyText, op, value] = m as unknown as [string, string, "==" | "!=", string];
  const key = parseKey(keyText, (message, hint) => invalid(source, message, hint, path), options);
  if (value === "") throw invalid(source, "missing value after the operator", `e.g. "${keyText} ${op} something"`, path);
  return { source: source.trim(), key, op, value };
}

function parseKey(keyText: string, fail: (message: string, hint: string) => FizzError, options: ParseOptions = {}): ConstraintKey {
  const fixed = FIXED_KEYS[keyText.toLowerCase()];
  if (fixed) return fixed;
  const lower = keyText.toLowerCase();
  if (options.bareLabels && !lower.startsWith("node.") && !lower.startsWith("engine.")) return { kind: "nodeLabel", name: keyText };
  for (const [prefix, kind] of [["node.labels.", "nodeLabel"], ["engine.labels.", "engineLabel"]] as const) {
    if (lower.startsWith(prefix)) {
      const name = keyText.slice(prefix.length);
      if (name === "") throw fail(`"${prefix}" needs a label name`, `e.g. "${prefix}zone == a"`);
      return { kind, name };
    }
  }
  // Label keys carry a user part (`node.lables.zone`): suggest on the fixed prefix, keep the rest.
  const parts = keyText.split(".");
  let guess = suggest(keyText, Object.keys(FIXED_KEYS));
  if (!guess && parts.length >= 3) {
    const head = suggest(parts.slice(0, 2).join("."), ["node.labels", "engine.labels"]);
    if (head) guess = `${head}.${parts.slice(2).join(".")}`;
  }
  throw fail(
    `unknown key "${keyText}"`,
    guess ? `did you mean "${guess}"? Known keys: ${KNOWN.join(", ")}` : `known keys: ${KNOWN.join(", ")}`,
  );
}

export function parseConstraints(sources: readonly string[], pathPrefix?: string, options: ParseOptions = {}): Constraint[] {
  return sources.map((s, i) => parseConstraint(s, pathPrefix === undefined ? undefined : `${pathPrefix}[${i}]`, options));
}

/** Every constraint holds on the node. */
export function matchesAll(node: SchedNode, cs: readonly Constraint[]): boolean {
  for (const c of cs) if (!matches(node, c)) return false;
  return true;
}

function lookupLabel(labels: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = labels[name];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const k of Object.keys(labels)) if (k.toLowerCase() === lower) return labels[k];
  return undefined;
}

function attribute(node: SchedNode, key: ConstraintKey): string | undefined {
  switch (key.kind) {
    case "id": return node.id;
    case "hostname": return node.hostname;
    case "role": return node.role;
    case "os": return node.platform?.os;
    case "arch": return node.platform?.arch;
    case "nodeLabel": return lookupLabel(node.labels, key.name);
    case "engineLabel": return lookupLabel(node.engineLabels, key.name);
  }
}

export function matches(node: SchedNode, c: Constraint): boolean {
  const v = attribute(node, c.key);
  const equal = v !== undefined && v.toLowerCase() === c.value.toLowerCase();
  return c.op === "==" ? equal : !equal;
}

/** The first constraint the node fails, or undefined when it passes them all. */
export function firstMismatch(node: SchedNode, cs: readonly Constraint[]): Constraint | undefined {
  for (const c of cs) if (!matches(node, c)) return c;
  return undefined;
}

/**
 * Parses a spread preference (`node.labels.zone`, `node.hostname`, …). A node
 * without the attribute falls in the "unset" group, as in swarm.
 */
export function parseSpreadKey(spread: string, path?: string, options: ParseOptions = {}): ConstraintKey {
  const key = spread.trim();
  // x-fizz's `spread: node` spreads over nodes themselves.
  if (options.bareLabels && key.toLowerCase() === "node") return { kind: "id" };
  return parseKey(key, (message, hint) =>
    new FizzError({
      code: "scheduler.preference_invalid",
      message: `placement preference "spread: ${spread}": ${message}`,
      hint,
      ...(path ? { path } : {}),
    }),
    options,
  );
}

/** Validate-time check of a service's placement rules: every problem, as FizzErrors (empty when fine). */
export function checkPlacement(
  constraints: readonly string[],
  spreads: readonly string[],
  pathPrefix = "deploy.placement",
  xfizz?: { readonly constraints?: readonly string[]; readonly prefer?: readonly string[]; readonly spread?: string; readonly pathPrefix?: string },
): FizzError[] {
  const errors: FizzError[] = [];
  const collect = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (e instanceof FizzError) errors.push(e);
      else throw e;
    }
  };
  if (xfizz) {
    const xp = xfizz.pathPrefix ?? "x-fizz";
    const bare = { bareLabels: true };
    (xfizz.constraints ?? []).forEach((c, i) => collect(() => parseConstraint(c, `${xp}.placement.constraints[${i}]`, bare)));
    (xfizz.prefer ?? []).forEach((c, i) => collect(() => parseConstraint(c, `${xp}.placement.prefer[${i}]`, bare)));
    if (xfizz.spread !== undefined) collect(() => parseSpreadKey(xfizz.spread!, `${xp}.spread`, bare));
  }
  constraints.forEach((c, i) => {
    try {
      parseConstraint(c, `${pathPrefix}.constraints[${i}]`);
    } catch (e) {
      if (e instanceof FizzError) errors.push(e);
      else throw e;
    }
  });
  spreads.forEach((sp, i) => {
    try {
      parseSpreadKey(sp, `${pathPrefix}.preferences[${i}].spread`);
    } catch (e) {
      if (e instanceof FizzError) errors.push(e);
      else throw e;
    }
  });
  return errors;
}

export function spreadValue(node: SchedNode, key: ConstraintKey): string {
  return attribute(node, key) ?? "";
}
