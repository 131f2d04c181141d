/**
 * Variable interpolation as the compose spec defines it: $VAR, ${VAR},
 * ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt},
 * ${VAR+alt}, nested expressions inside defaults, and $$ for a literal $.
 * Returns the value plus the unset variables (Compose warns about those), or
 * an error that names the variable.
 */

export type Lookup = (name: string) => string | undefined;

export type InterpolationResult =
  | { ok: true; value: string; unset: string[] }
  | { ok: false; variable: string | undefined; message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

class InterpolationError extends Error {
  constructor(
    readonly variable: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export function interpolate(input: string, lookup: Lookup): InterpolationResult {
  if (!input.includes("$")) return { ok: true, value: input, unset: [] };
  const unset: string[] = [];
  try {
    return { ok: true, value: expand(input, lookup, unset), unset };
  } catch (e) {
    if (e instanceof InterpolationError) return { ok: false, variable: e.variable, message: e.message };
    throw e;
  }
}

/** The inverse of interpolation for literal text: every `$` becomes `$$`. */
export function escapeDollars(s: string): string {
  return s.replace(/\$/g, "$$$$");
}

function expand(s: string, lookup: Lookup, unset: string[]): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf("$", i);
    if (dollar < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, dollar);
    const next = s[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
      continue;
    }
    if (next === "{") {
      const end = matchingBrace(s, dollar + 2);
      if (end < 0) throw new InterpolationError(undefined, `invalid interpolation format in "${s}": unclosed "\${"`);
      out += braced(s.slice(dollar + 2, end), s, lookup, unset);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(s.slice(dollar + 1));
    if (!m) {
      throw new InterpolationError(
        undefined,
        `invalid interpolation format in "${s}": "$" must be followed by a variable name or "{"`,
      );
    }
    const name = m[0];
    const v = lookup(name);
    if (v === undefined) unset.push(name);
    out += v ?? "";
    i = dollar + 1 + name.length;
  }
  return out;
}

/** Index of the `}` closing a `${` whose body starts at `from`, honouring nesting and `$$`. */
function matchingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "$" && s[i + 1] === "$") {
      i++;
    } else if (c === "$" && s[i + 1] === "{") {
      depth++;
      i++;
    } else if (c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function braced(body: string, whole: string, lookup: Lookup, unset: string[]): string {
  const m = NAME.exec(body);
  if (!m) throw new InterpolationError(undefined, `invalid interpolation format in "${whole}": "\${${body}}" does not start with a variable name`);
  const name = m[0];
  const rest = body.slice(name.length);
  const value = lookup(name);
  if (rest === "") {
    if (value === undefined) unset.push(name);
    return value ?? "";
  }
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest);
  if (!op) throw new InterpolationError(name, `invalid interpolation format in "${whole}": unexpected "${rest}" after variable ${name}`);
  const word = rest.slice(op[0].length);
  const empty = value === undefined || value === "";
  switch (op[0]) {
    case ":-":
      return empty ? expand(word, lookup, unset) : value!;
    case "-":
      return value === undefined ? expand(word, lookup, unset) : value;
    case ":?":
    case "?": {
      const missing = op[0] === ":?" ? empty : value === undefined;
      if (!missing) return value!;
      const msg = expand(word, lookup, []);
      const why = op[0] === ":?" ? "is not set or empty" : "is not set";
      throw new InterpolationError(name, `required variable ${name} ${why}${msg ? `: ${msg}` : ""}`);
    }
    case ":+":
      return empty ? "" : expand(word, lookup, unset);
    default: // "+"
      return value === undefined ? "" : expand(word, lookup, unset);
  }
}
