/**
 * Turning one raw option value into its typed form. YAML gives typed scalars;
 * environment variables and flags give text. Errors are plain messages; the
 * caller adds where the value came from (file:line, FIZZ_X, --flag).
 */
import { formatMs, parseDurationMs } from "../duration.ts";
import { parseApiAddress } from "./address.ts";
import type { FieldType } from "./schema.ts";

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

const ok = (value: unknown): Coerced => ({ ok: true, value });
const fail = (message: string): Coerced => ({ ok: false, message });
const show = (v: unknown) => (typeof v === "string" ? `'${v.slice(0, 80)}'` : Array.isArray(v) ? "a list" : v === null ? "null" : typeof v === "object" ? "a mapping" : String(v));

/** `10s`, `500ms`, `1m30s`, `2h`, `7d`; a bare number is seconds. Returns ms or undefined (core/duration.ts). */
export function parseDuration(s: string): number | undefined {
  return parseDurationMs(s, { days: true });
}

/** `10s`, `1h30m`, `168h`: parses back to the same ms. */
export const formatDuration = formatMs;

export function coerce(type: FieldType, raw: unknown, fromText: boolean): Coerced {
  switch (type.t) {
    case "string":
    case "path":
      if (typeof raw !== "string") return fail(`expected a string, got ${show(raw)}`);
      if (raw.includes("\0")) return fail("contains a NUL byte");
      return ok(raw);
    case "int": {
      let n: number;
      if (typeof raw === "number") n = raw;
      else if (fromText && typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw)) n = Number(raw);
      else return fail(`expected an integer, got ${show(raw)}`);
      if (!Number.isInteger(n)) return fail(`expected an integer, got ${n}`);
      if (n < type.min || n > type.max) return fail(`must be between ${type.min} and ${type.max}, got ${n}`);
      return ok(n);
    }
    case "bool":
      if (typeof raw === "boolean") return ok(raw);
      if (fromText && typeof raw === "string") {
        const v = raw.trim().toLowerCase();
        if (["true", "1", "yes", "on"].includes(v)) return ok(true);
        if (["false", "0", "no", "off"].includes(v)) return ok(false);
      }
      return fail(`expected true or false, got ${show(raw)}`);
    case "duration": {
      const ms = typeof raw === "number" ? (raw >= 0 ? Math.round(raw * 1000) : undefined) : typeof raw === "string" ? parseDuration(raw) : undefined;
      if (ms === undefined) return fail(`expected a duration like 10s, 500ms or 1m, got ${show(raw)}`);
      if (ms < type.minMs) return fail(`must be at least ${formatDuration(type.minMs)}, got ${show(raw)}`);
      return ok(ms);
    }
    case "mode": {
      // YAML 1.2 reads `0660` as the decimal 660, so a number is taken digit by digit as octal.
      const s = typeof raw === "number" && Number.isInteger(raw) ? String(raw) : typeof raw === "string" ? raw.trim().replace(/^0o/i, "") : undefined;
      if (s === undefined || !/^[0-7]{1,4}$/.test(s)) return fail(`expected an octal file mode like '0660', got ${show(raw)}`);
      return ok(parseInt(s, 8));
    }
    case "enum":
      if (typeof raw !== "string" || !type.values.includes(raw)) return fail(`must be one of ${type.values.join(", ")}, got ${show(raw)}`);
      return ok(raw);
    case "hostport": {
      if (typeof raw !== "string") return fail(`expected '<ip>:<port>', got ${show(raw)}`);
      if (raw === "") return ok("");
      try {
        const a = parseApiAddress(raw);
        if (a.kind !== "tcp" || /^[a-z]+:\/\//i.test(raw)) return fail(`expected '<ip>:<port>', got ${show(raw)}`);
      } catch (e) {
        return fail(e instanceof Error ? e.message : String(e));
      }
      return ok(raw);
    }
    case "list":
      if (fromText && typeof raw === "string") return ok(raw.split(",").map((x) => x.trim()).filter((x) => x !== ""));
      if (!Array.isArray(raw)) return fail(`expected a list, got ${show(raw)}`);
      for (const [i, x] of raw.entries()) if (typeof x !== "string") return fail(`item ${i + 1}: expected a string, got ${show(x)}`);
      return ok([...(raw as string[])]);
    case "map": {
      if (fromText && typeof raw === "string") {
        const out: Record<string, string> = {};
        for (const part of raw.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
          const i = part.indexOf("=");
          if (i <= 0) return fail(`expected key=value pairs separated by commas, got '${part}'`);
          out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
        }
        return ok(out);
      }
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(`expected a mapping of strings, got ${show(raw)}`);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v === "object" && v !== null) return fail(`'${k}': expected a string, got ${show(v)}`);
        out[k] = String(v);
      }
      return ok(out);
    }
  }
}
