/**
 * Collects every finding while a project loads, located through the
 * Locations table, so validation reports all errors at once instead of
 * stopping at the first.
 */
import { FizzError } from "../errors.ts";
import { boundMessage, echo, MAX_ECHO_CHARS } from "../limits.ts";
import type { Diagnostic } from "./model.ts";
import { fmtPath, Locations, type Path } from "./source.ts";

export class Diags {
  readonly list: Diagnostic[] = [];
  constructor(public locations: Locations = new Locations()) {}

  private add(severity: Diagnostic["severity"], path: Path, code: string, message: string, hint?: string, atKey = false): void {
    const loc = this.locations.at(path, atKey);
    const d: Diagnostic = {
      severity,
      code,
      message: boundMessage(message),
      ...(hint ? { hint: boundMessage(hint) } : {}),
      // Keys are user input too: each long one is cut like an echoed value.
      ...(path.length ? { path: boundMessage(fmtPath(path.map((seg) => (typeof seg === "string" && seg.length > MAX_ECHO_CHARS ? echo(seg) : seg)))) } : {}),
      ...(loc ? { file: loc.file, line: loc.line, column: loc.column } : {}),
    };
    this.list.push(d);
  }

  error(path: Path, code: string, message: string, hint?: string): void {
    this.add("error", path, code, message, hint);
  }
  /** An error about a mapping key itself (unknown field): points at the key. */
  keyError(path: Path, code: string, message: string, hint?: string): void {
    this.add("error", path, code, message, hint, true);
  }
  warn(path: Path, code: string, message: string, hint?: string): void {
    this.add("warning", path, code, message, hint);
  }
  /** Keeps `d` itself (callers may update its message later), bounded in place. */
  push(d: Diagnostic): void {
    d.message = boundMessage(d.message);
    if (d.hint) d.hint = boundMessage(d.hint);
    if (d.path) d.path = boundMessage(d.path);
    this.list.push(d);
  }

  get errors(): Diagnostic[] {
    return this.list.filter((d) => d.severity === "error");
  }
  get warnings(): Diagnostic[] {
    return this.list.filter((d) => d.severity === "warning");
  }
}

/** `file:line:col: error: path: message (hint)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const at = d.file ? `${d.file}${d.line ? `:${d.line}:${d.column ?? 1}` : ""}: ` : "";
  const path = d.path ? `${d.path}: ` : "";
  return `${at}${d.severity}: ${path}${d.message}${d.hint ? ` (${d.hint})` : ""}`;
}

/** One FizzError carrying all error diagnostics (the first one's location). */
export function diagnosticsError(diags: readonly Diagnostic[]): FizzError {
  const errors = diags.filter((d) => d.severity === "error");
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})` : "";
  return new FizzError({
    code: first?.code ?? "compose.invalid",
    message: `${first?.message ?? "invalid compose project"}${more}`,
    ...(first?.hint ? { hint: first.hint } : { hint: "run 'fizz validate' to see every problem" }),
    ...(first?.path ? { path: first.path } : {}),
    ...(first?.file ? { location: { file: first.file, line: first.line ?? 1, column: first.column ?? 1 } } : {}),
  });
}
