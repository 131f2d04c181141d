/**
 * Checking request input (bodies, query strings, path names) with errors
 * that name the offending field: 400 `api.bad_request` with `path`.
 */
import { FizzError } from "../../core/errors.ts";
import { echo, MAX_CONTAINER_REF_LENGTH, MAX_NAME_LENGTH, nameTooLong } from "../../core/limits.ts";
import { suggest } from "../../core/text/suggest.ts";
import type { RequestContext } from "./reply.ts";

export function badInput(path: string, message: string, hint?: string): FizzError {
  return new FizzError({ status: 400, code: "api.bad_request", message: `${path}: ${message}`, path, ...(hint ? { hint } : {}) });
}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function expectObject(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(v)) throw badInput(path, `expected an object, got ${typeName(v)}`);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      const near = suggest(k, allowed);
      throw badInput(`${path}.${k}`, "unknown field", near ? `did you mean '${near}'?` : `allowed: ${allowed.join(", ")}`);
    }
  }
  return v;
}

export function optString(o: Record<string, unknown>, k: string, path: string, max = 1 << 20): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw badInput(`${path}.${k}`, `expected a string, got ${typeName(v)}`);
  if (v.length > max) throw badInput(`${path}.${k}`, `longer than ${max} characters`);
  return v;
}

export function optBool(o: Record<string, unknown>, k: string, path: string): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw badInput(`${path}.${k}`, `expected true or false, got ${typeName(v)}`);
  return v;
}

export function optInt(o: Record<string, unknown>, k: string, path: string, min: number, max: number): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw badInput(`${path}.${k}`, `expected an integer, got ${typeName(v)}`);
  if (v < min || v > max) throw badInput(`${path}.${k}`, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function optStringArray(o: Record<string, unknown>, k: string, path: string, maxItems = 1000): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw badInput(`${path}.${k}`, `expected an array of strings, got ${typeName(v)}`);
  if (v.length > maxItems) throw badInput(`${path}.${k}`, `more than ${maxItems} items`);
  v.forEach((x, i) => {
    if (typeof x !== "string") throw badInput(`${path}.${k}[${i}]`, `expected a string, got ${typeName(x)}`);
  });
  return v as string[];
}

export function optStringMap(o: Record<string, unknown>, k: string, path: string): Record<string, string> | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!isRecord(v)) throw badInput(`${path}.${k}`, `expected an object of strings, got ${typeName(v)}`);
  for (const [kk, vv] of Object.entries(v)) if (typeof vv !== "string") throw badInput(`${path}.${k}.${kk}`, `expected a string, got ${typeName(vv)}`);
  return v as Record<string, string>;
}

export function optEnum<T extends string>(o: Record<string, unknown>, k: string, path: string, values: readonly T[]): T | undefined {
  const v = optString(o, k, path);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) throw badInput(`${path}.${k}`, `must be one of ${values.join(", ")}, got '${v}'`);
  return v as T;
}

// --- names in paths --------------------------------------------------------

// Lengths are checked first, against the one name length limit compose and the CLI use (core/limits.ts).
/** Compose project names: lower-case letters, digits, '-' and '_', starting with a letter or digit. */
const DEPLOYMENT = /^[a-z0-9][a-z0-9_-]*$/;
/** Compose service names. */
const SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
/** Container ids (hex, full or short) and names. */
const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkName(re: RegExp, v: string, what: string, max: number = MAX_NAME_LENGTH): string {
  if (v.length > max) {
    const message = max === MAX_NAME_LENGTH ? nameTooLong(what, v)! : `${what} name '${echo(v, 40)}' is ${v.length} characters, longer than any ${what} name (${max})`;
    throw new FizzError({ status: 400, code: "api.name_too_long", message });
  }
  if (!re.test(v)) throw new FizzError({ status: 400, code: "api.bad_name", message: `'${echo(v)}' is not a valid ${what} name` });
  return v;
}
export const deploymentName = (v: string) => checkName(DEPLOYMENT, v, "deployment");
export const serviceName = (v: string) => checkName(SERVICE, v, "service");
export const containerRef = (v: string) => checkName(CONTAINER, v, "container", MAX_CONTAINER_REF_LENGTH);

// --- query strings -----------------------------------------------------------

export function checkQuery(q: URLSearchParams, allowed: readonly string[], repeatable: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const k of q.keys()) {
    if (!allowed.includes(k)) {
      const near = suggest(k, allowed);
      throw new FizzError({
        status: 400,
        code: "api.bad_query",
        message: `unknown query parameter '${k.slice(0, 80)}'`,
        hint: near ? `did you mean '${near}'?` : allowed.length ? `allowed: ${allowed.join(", ")}` : "this endpoint takes no query parameters",
      });
    }
    if (seen.has(k) && !repeatable.includes(k)) throw new FizzError({ status: 400, code: "api.bad_query", message: `query parameter '${k}' given more than once` });
    seen.add(k);
  }
}

/** The endpoint takes no query parameters. */
export const noQuery = (c: RequestContext): void => checkQuery(c.query, []);

export function queryBool(q: URLSearchParams, k: string, dflt: boolean): boolean {
  const v = q.get(k);
  if (v === null) return dflt;
  if (v === "" || v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new FizzError({ status: 400, code: "api.bad_query", message: `query parameter '${k}' must be true or false, got '${v.slice(0, 40)}'` });
}

export function queryInt(q: URLSearchParams, k: string, min: number, max: number): number | undefined {
  const v = q.get(k);
  if (v === null) return undefined;
  if (!/^\d{1,15}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new FizzError({ status: 400, code: "api.bad_query", message: `query parameter '${k}' must be an integer between ${min} and ${max}, got '${v.slice(0, 40)}'` });
  }
  return Number(v);
}

export function queryEnum<T extends string>(q: URLSearchParams, k: string, values: readonly T[]): T | undefined {
  const v = q.get(k);
  if (v === null) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw new FizzError({ status: 400, code: "api.bad_query", message: `query parameter '${k}' must be one of ${values.join(", ")}, got '${v.slice(0, 40)}'` });
  }
  return v as T;
}
