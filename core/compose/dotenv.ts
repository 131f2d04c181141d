/**
 * The `.env` / `--env-file` / `env_file:` format as Compose reads it:
 * `KEY=value`, optional `export `, `#` comments, single quotes literal,
 * double quotes with \n \t \" \\ escapes, unquoted values trimmed with inline
 * ` #` comments cut. Unquoted and double-quoted values are interpolated
 * against `outer` first, then the variables this file defined so far, as
 * Compose does (so `NAME=${NAME:-x}` takes the shell's NAME when it is set).
 * A bare `NAME` line inherits NAME from `outer` when it is set there.
 *
 * `env_file: [{path, format: raw}]` takes the `docker run --env-file` format
 * instead (parseRawEnv), which Docker Compose registers as "raw".
 */
import { interpolate, type Lookup } from "./interpolate.ts";

export interface DotenvError {
  line: number;
  message: string;
}

export interface DotenvResult {
  vars: Record<string, string>;
  errors: DotenvError[];
}

export function parseDotenv(text: string, outer: Lookup = () => undefined): DotenvResult {
  const vars: Record<string, string> = {};
  const errors: DotenvError[] = [];
  const lookup: Lookup = (n) => outer(n) ?? (Object.hasOwn(vars, n) ? vars[n] : undefined);
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\uFEFF/, "");
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    line = trimmed.replace(/^export\s+/, "");
    const eq = line.indexOf("=");
    if (eq < 0) {
      // A bare name inherits its value from outside the file, or is skipped when unset there.
      if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(line)) {
        const inherited = outer(line);
        if (inherited !== undefined) vars[line] = inherited;
        continue;
      }
      errors.push({ line: i + 1, message: `expected KEY=VALUE, got "${trimmed}"` });
      continue;
    }
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      errors.push({ line: i + 1, message: `invalid variable name "${key}"` });
      continue;
    }
    let raw = line.slice(eq + 1).trimStart();
    let value: string;
    const q = raw[0];
    if (q === "'" || q === '"') {
      // Quoted values may span lines.
      let body = raw.slice(1);
      let close = findClose(body, q);
      while (close < 0 && i + 1 < lines.length) {
        body += "\n" + lines[++i]!;
        close = findClose(body, q);
      }
      if (close < 0) {
        errors.push({ line: i + 1, message: `unterminated ${q === "'" ? "single" : "double"}-quoted value for ${key}` });
        continue;
      }
      body = body.slice(0, close);
      if (q === "'") value = body;
      else {
        body = body.replace(/\\([nrt"\\$])/g, (_m, c: string) => ({ n: "\n", r: "\r", t: "\t" })[c] ?? (c === "$" ? "$$" : c));
        const r = interpolate(body, lookup);
        if (!r.ok) {
          errors.push({ line: i + 1, message: r.message });
          continue;
        }
        value = r.value;
      }
    } else {
      const hash = raw.search(/\s#/);
      if (hash >= 0) raw = raw.slice(0, hash);
      raw = raw.trim();
      const r = interpolate(raw, lookup);
      if (!r.ok) {
        errors.push({ line: i + 1, message: r.message });
        continue;
      }
      value = r.value;
    }
    vars[key] = value;
  }
  return { vars, errors };
}

function findClose(body: string, q: string): number {
  for (let i = 0; i < body.length; i++) {
    if (q === '"' && body[i] === "\\") {
      i++;
      continue;
    }
    if (body[i] === q) return i;
  }
  return -1;
}

/** The env_file formats Compose knows: its dotenv parser (the default) and `raw`. */
export const ENV_FILE_FORMATS = ["dotenv", "raw"] as const;

/** Parses an env file in its declared format (undefined: dotenv). */
export function parseEnvFile(text: string, format: string | undefined, outer: Lookup = () => undefined): DotenvResult {
  return format === "raw" ? parseRawEnv(text, outer) : parseDotenv(text, outer);
}

/**
 * The `raw` format, as Docker Compose reads it (docker/cli's kvfile, the
 * `docker run --env-file` parser): leading whitespace is dropped, empty lines
 * and lines starting with `#` are skipped, and `KEY=VALUE` is taken as is:
 * no quote removal, no interpolation, no inline comments, trailing spaces
 * kept. A bare `KEY` takes its value from `outer`, or is left out. A key that
 * is empty or holds whitespace is an error.
 */
export function parseRawEnv(text: string, outer: Lookup = () => undefined): DotenvResult {
  const vars: Record<string, string> = {};
  const errors: DotenvError[] = [];
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/\r$/, "");
    if (i === 0) line = line.replace(/^\uFEFF/, "");
    line = line.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === "") {
      errors.push({ line: i + 1, message: `no variable name on line '${line.slice(0, 80)}'` });
      continue;
    }
    if (/\s/.test(key)) {
      errors.push({ line: i + 1, message: `variable '${key.slice(0, 80)}' contains whitespaces` });
      continue;
    }
    if (eq >= 0) vars[key] = line.slice(eq + 1);
    else {
      const inherited = outer(key);
      if (inherited !== undefined) vars[key] = inherited;
    }
  }
  return { vars, errors };
}
