/**
 * A small schema engine: a table of field specs per compose element drives
 * type checks, coercion of interpolated strings ("8080" → 8080, "true" →
 * true), unit parsing, unknown-field errors with "did you mean", and x-*
 * pass-through. Each reader reports into Diags and returns undefined on error,
 * so one bad field never hides the others.
 */
import { echo } from "../limits.ts";
import { suggest } from "../text/suggest.ts";
import type { Diags } from "./diagnostics.ts";
import type { Path } from "./source.ts";
import { parseBytes, parseDuration } from "./units.ts";
import { isDict, toDict } from "./merge.ts";

export interface Cx {
  diags: Diags;
  /** Resolves a path against the project directory (and ~ against HOME). */
  resolvePath(p: string): string;
  /**
   * Where each port mapping was written: its index in the service's `ports:`
   * list (a short-syntax range becomes one mapping per port, so the model's
   * index is not the file's).
   */
  portOrigins?: Map<object, number>;
}

export type Handler = (v: unknown, path: Path, cx: Cx) => unknown;
export type Spec =
  | "str"
  | "int"
  | "uint"
  | "num"
  | "bool"
  | "dur"
  | "bytes"
  | "strs" // string or list of strings → list
  | "list" // list of strings (numbers allowed)
  | "dict" // list-or-mapping → Record<string,string>
  | "env" // list-or-mapping → Record<string,string|null>
  | "map" // mapping → Record<string,string>
  | "any"
  | { enum: readonly string[] }
  | { obj: Schema; required?: readonly string[] }
  | { listOf: Spec }
  | { mapOf: Spec }
  | { fn: Handler };
export type Schema = Record<string, Spec>;

/** What a value is, for "expected X, got Y": never "got a mapping" for something that is not a plain one. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Map) return "an ordered map (!!omap or !!pairs)";
  if (v instanceof Set) return "a set (!!set)";
  if (v instanceof Uint8Array) return "binary data (!!binary)";
  if (v instanceof Date) return "a timestamp (!!timestamp)";
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
    return proto === Object.prototype || proto === null ? "a mapping" : `a ${proto.constructor?.name ?? "tagged"} value`;
  }
  if (typeof v === "string") return `the string "${echo(v, 40)}"`;
  return `${typeof v} ${String(v)}`;
}

function wrong(cx: Cx, path: Path, expected: string, v: unknown): undefined {
  cx.diags.error(path, "compose.wrong_type", `expected ${expected}, got ${typeName(v)}`);
  return undefined;
}

export function readStr(v: unknown, path: Path, cx: Cx): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return wrong(cx, path, "a string", v);
}

export function readInt(v: unknown, path: Path, cx: Cx, min = -Infinity): number | undefined {
  let n: number | undefined;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) n = Number(v);
  if (n === undefined || !Number.isInteger(n)) return wrong(cx, path, min >= 0 ? "a non-negative integer" : "an integer", v);
  if (n < min) return wrong(cx, path, min >= 0 ? "a non-negative integer" : `an integer ≥ ${min}`, v);
  return n;
}

/**
 * A secret/config file mode, as compose-go reads it (types.FileMode): a
 * string is octal (strconv.ParseInt(v, 8, 64): "0440" is 0o440), a number is
 * taken as is (YAML 1.1 already reads an unquoted 0440 as octal, 288).
 */
export function readFileMode(v: unknown, path: Path, cx: Cx): number | undefined {
  if (typeof v === "number") return readInt(v, path, cx, 0);
  if (typeof v === "string") {
    if (/^[+]?[0-7]+$/.test(v)) return parseInt(v.replace(/^\+/, ""), 8);
    cx.diags.error(path, "compose.bad_value", `file mode '${v.slice(0, 40)}' is not an octal number`, "a quoted mode is octal, like \"0440\"");
    return undefined;
  }
  return wrong(cx, path, "an octal file mode", v);
}

export function readNum(v: unknown, path: Path, cx: Cx): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return wrong(cx, path, "a number", v);
}

export function readBool(v: unknown, path: Path, cx: Cx): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const s = v.toLowerCase();
    if (["true", "yes", "y", "on"].includes(s)) return true;
    if (["false", "no", "n", "off"].includes(s)) return false;
  }
  return wrong(cx, path, "true or false", v);
}

export function readDur(v: unknown, path: Path, cx: Cx): number | undefined {
  if (typeof v === "string" || typeof v === "number") {
    const d = parseDuration(v);
    if (d !== undefined) return d;
  }
  cx.diags.error(path, "compose.bad_duration", `expected a duration like 30s, 1m30s or 500ms, got ${typeName(v)}`);
  return undefined;
}

export function readBytes(v: unknown, path: Path, cx: Cx): number | undefined {
  if (v === -1 || v === "-1") return -1;
  if (typeof v === "string" || typeof v === "number") {
    const b = parseBytes(v);
    if (b !== undefined) return b;
  }
  cx.diags.error(path, "compose.bad_bytes", `expected a size like 512M, 1g or 1024 (bytes), got ${typeName(v)}`);
  return undefined;
}

export function readStrs(v: unknown, path: Path, cx: Cx, allowSingle: boolean): string[] | undefined {
  if (allowSingle && (typeof v === "string" || typeof v === "number")) return [String(v)];
  if (!Array.isArray(v)) return wrong(cx, path, allowSingle ? "a string or a list of strings" : "a list of strings", v);
  const out: string[] = [];
  v.forEach((item, i) => {
    const s = typeof item === "string" || typeof item === "number" ? String(item) : wrong(cx, [...path, i], "a string", item);
    if (s !== undefined) out.push(s);
  });
  return out;
}

function scalarValue(v: unknown, path: Path, cx: Cx, allowNull: boolean): string | null | undefined {
  if (v === null) return allowNull ? null : "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return wrong(cx, path, "a string, number or boolean", v);
}

/** list-or-mapping ("KEY=VAL" items, or KEY: VAL). */
export function readDict(v: unknown, path: Path, cx: Cx, allowNull: boolean): Record<string, string | null> | undefined {
  if (allowNull && Array.isArray(v)) {
    // `- DEBUG = true` would define "DEBUG " (with a space); Compose refuses it, and so do we.
    v.forEach((item, i) => {
      if (typeof item !== "string") return;
      const eq = item.indexOf("=");
      const key = eq < 0 ? item : item.slice(0, eq);
      if (key !== "" && /\s$/.test(key)) {
        cx.diags.error([...path, i], "compose.bad_value", `variable '${key}' is declared with a trailing space`, `write '${key.trim()}=${eq < 0 ? "" : item.slice(eq + 1).trim()}' with no spaces around '='`);
      }
    });
  }
  const d = toDict(v, "=");
  if (!isDict(d)) return wrong(cx, path, "a mapping or a list of KEY=VALUE strings", v);
  const out: Record<string, string | null> = {};
  for (const k in d) {
    const val = d[k];
    const s = scalarValue(val, [...path, k], cx, allowNull);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

export function readObj(v: unknown, path: Path, cx: Cx, schema: Schema, required: readonly string[] = []): Record<string, unknown> | undefined {
  if (!isDict(v)) return wrong(cx, path, "a mapping", v);
  const out: Record<string, unknown> = {};
  const known = Object.keys(schema);
  for (const k in v) {
    const val = v[k];
    if (k.startsWith("x-")) continue;
    const spec = Object.hasOwn(schema, k) ? schema[k] : undefined;
    if (!spec) {
      unknownField(cx, [...path, k], k, known);
      continue;
    }
    const r = readSpec(val, [...path, k], cx, spec);
    if (r !== undefined) out[k] = r;
  }
  for (const r of required) if (!Object.hasOwn(v, r)) cx.diags.error(path, "compose.missing_field", `missing required field '${r}'`);
  return out;
}

export function unknownField(cx: Cx, path: Path, key: string, known: readonly string[]): void {
  const near = suggest(key, known);
  cx.diags.keyError(
    path,
    "compose.unknown_field",
    `unknown field '${key}'`,
    near ? `did you mean '${near}'?` : `expected one of: ${[...known].sort().slice(0, 12).join(", ")}${known.length > 12 ? ", …" : ""}`,
  );
}

export function readSpec(v: unknown, path: Path, cx: Cx, spec: Spec): unknown {
  if (typeof spec === "string") {
    switch (spec) {
      case "str":
        return readStr(v, path, cx);
      case "int":
        return readInt(v, path, cx);
      case "uint":
        return readInt(v, path, cx, 0);
      case "num":
        return readNum(v, path, cx);
      case "bool":
        return readBool(v, path, cx);
      case "dur":
        return readDur(v, path, cx);
      case "bytes":
        return readBytes(v, path, cx);
      case "strs":
        return readStrs(v, path, cx, true);
      case "list":
        return readStrs(v, path, cx, false);
      case "dict":
        return readDict(v, path, cx, false);
      case "env":
        return readDict(v, path, cx, true);
      case "map": {
        if (!isDict(v)) return wrong(cx, path, "a mapping", v);
        return readDict(v, path, cx, false);
      }
      case "any":
        return v;
    }
  }
  if ("enum" in spec) {
    const s = readStr(v, path, cx);
    if (s === undefined) return undefined;
    if (!spec.enum.includes(s)) {
      const near = suggest(s, spec.enum);
      cx.diags.error(path, "compose.bad_value", `'${s}' is not one of ${spec.enum.join(", ")}`, near ? `did you mean '${near}'?` : undefined);
      return undefined;
    }
    return s;
  }
  if ("obj" in spec) return readObj(v, path, cx, spec.obj, spec.required);
  if ("listOf" in spec) {
    if (!Array.isArray(v)) return wrong(cx, path, "a list", v);
    const out: unknown[] = [];
    v.forEach((item, i) => {
      const r = readSpec(item, [...path, i], cx, spec.listOf);
      if (r !== undefined) out.push(r);
    });
    return out;
  }
  if ("mapOf" in spec) {
    if (!isDict(v)) return wrong(cx, path, "a mapping", v);
    const out: Record<string, unknown> = {};
    for (const k in v) {
    const val = v[k];
      const r = readSpec(val, [...path, k], cx, spec.mapOf);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return spec.fn(v, path, cx);
}
