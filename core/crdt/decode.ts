/**
 * Validation of untrusted CRDT data (from the wire or from disk). Decoders
 * return a typed result; a malformed or hostile input gives a FizzError with
 * code `crdt.decode` and the path of the bad field, never any other exception.
 * Parsers build fresh null-prototype dicts, so a hostile `__proto__` key is
 * just a key.
 */
import { MAX_CLUSTER_MESSAGE_BYTES, MAX_NESTING_DEPTH } from "../limits.ts";
import { jsonTooDeepAt } from "../nesting.ts";
import { FizzError } from "../errors.ts";
import { newDict, type Dict } from "./dict.ts";
import type { Json } from "./json.ts";

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: FizzError };

/** Thrown inside parsers only; `runDecode` turns it into a typed result. */
export class DecodeFailure extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || "(root)"}: ${reason}`);
  }
}

export function decodeError(message: string, path?: string, cause?: unknown): FizzError {
  return new FizzError({
    code: "crdt.decode",
    message,
    ...(path ? { path } : {}),
    ...(cause !== undefined ? { cause } : {}),
    hint: "the peer or the store sent state this version cannot read; it was ignored",
  });
}

export function fail(path: string, reason: string): never {
  throw new DecodeFailure(path, reason);
}

/** Run a parser over a parsed value; any failure (even an unexpected one) becomes a typed error. */
export function runDecode<T>(input: unknown, parse: (v: unknown, path: string) => T): Decoded<T> {
  try {
    return { ok: true, value: parse(input, "") };
  } catch (e) {
    if (e instanceof DecodeFailure) return { ok: false, error: decodeError(e.message, e.path) };
    // Stack overflow on absurd nesting, etc.: still typed, never rethrown.
    return { ok: false, error: decodeError(`invalid input: ${e instanceof Error ? e.message : String(e)}`, "", e) };
  }
}

export const DEFAULT_MAX_BYTES = MAX_CLUSTER_MESSAGE_BYTES;

/** Bytes (UTF-8 JSON) or a string → parsed → validated. */
export function decodeJsonBytes<T>(
  input: Uint8Array | string,
  parse: (v: unknown, path: string) => T,
  maxBytes = DEFAULT_MAX_BYTES,
): Decoded<T> {
  let text: string;
  try {
    if (typeof input === "string") text = input;
    else if (input instanceof Uint8Array) {
      if (input.length > maxBytes) return { ok: false, error: decodeError(`input is ${input.length} bytes, limit ${maxBytes}`) };
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } else return { ok: false, error: decodeError("input must be bytes or a string") };
    if (text.length > maxBytes) return { ok: false, error: decodeError(`input is ${text.length} chars, limit ${maxBytes}`) };
  } catch (e) {
    return { ok: false, error: decodeError("input is not valid UTF-8", "", e) };
  }
  // A peer's 100,000-level nesting is refused before JSON.parse builds it (readJson would refuse it at 64 anyway).
  const deep = jsonTooDeepAt(text, MAX_NESTING_DEPTH + 8);
  if (deep >= 0) return { ok: false, error: decodeError(`input nests deeper than ${MAX_NESTING_DEPTH + 8} levels (at character ${deep})`) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: decodeError(`input is not JSON: ${e instanceof Error ? e.message : String(e)}`, "", e) };
  }
  return runDecode(parsed, parse);
}

export function at(path: string, key: string | number): string {
  return typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

export function readObject(v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) fail(path, "expected an object");
  return v;
}

/** An object with exactly the listed keys allowed (optional ones may be absent). */
export function readRecord(
  v: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  const o = readObject(v, path);
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) fail(at(path, k), "unknown field");
  }
  for (const k of required) if (!Object.prototype.hasOwnProperty.call(o, k)) fail(at(path, k), "missing field");
  return o;
}

export function field(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

export function readString(v: unknown, path: string, maxLen = 1 << 20): string {
  if (typeof v !== "string") fail(path, "expected a string");
  if (v.length > maxLen) fail(path, `string longer than ${maxLen}`);
  return v;
}

export function readInt(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(path, "expected an integer");
  if (v < min || v > max) fail(path, `expected an integer in [${min}, ${max}]`);
  return v;
}

export function readBool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, "expected a boolean");
  return v;
}

export function readArray<T>(v: unknown, path: string, item: (x: unknown, p: string) => T, maxLen = 1 << 24): T[] {
  if (!Array.isArray(v)) fail(path, "expected an array");
  if (v.length > maxLen) fail(path, `array longer than ${maxLen}`);
  return v.map((x, i) => item(x, at(path, i)));
}

export function readDict<V>(
  v: unknown,
  path: string,
  value: (x: unknown, p: string, key: string) => V,
  key?: (k: string, p: string) => void,
): Dict<V> {
  const o = readObject(v, path);
  const out = newDict<V>();
  for (const k of Object.keys(o)) {
    const p = at(path, k);
    if (key) key(k, p);
    out[k] = value(o[k], p, k);
  }
  return out;
}

/** Values inside state records (deployment specs): the one nesting depth limit. */
const MAX_JSON_DEPTH = MAX_NESTING_DEPTH;

/** Any JSON value, depth-limited, copied into null-prototype objects. */
export function readJson(v: unknown, path: string, depth = 0): Json {
  if (depth > MAX_JSON_DEPTH) fail(path, `nesting deeper than ${MAX_JSON_DEPTH}`);
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) fail(path, "expected a finite number");
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => readJson(x, at(path, i), depth + 1));
  if (isPlainObject(v)) {
    const out = newDict<Json>();
    for (const k of Object.keys(v)) out[k] = readJson(v[k], at(path, k), depth + 1);
    return out;
  }
  return fail(path, "expected a JSON value");
}
