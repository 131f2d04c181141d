/**
 * Structured logging. JSON lines by default when stderr is not a TTY, a short
 * human format when it is (or with --log-format pretty). One logger per
 * process; modules take a child with their own bindings.
 */
import pino, { type Logger, type DestinationStream } from "pino";

export type { Logger } from "pino";
export type LogFormat = "json" | "pretty";
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export interface LogOptions {
  level?: LogLevel;
  format?: LogFormat;
  color?: boolean;
  /** Where lines go; defaults to stderr so stdout stays clean for command output. */
  write?: (line: string) => void;
}

const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const LEVEL_COLORS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };

/** Formats one pino JSON line for people: `12:00:01 INFO  message key=value`. */
export function prettyLine(json: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = rec;
  const lv = typeof level === "number" ? level : 30;
  const name = (LEVEL_NAMES[lv] ?? String(level)).padEnd(5);
  const t = typeof time === "number" ? new Date(time).toISOString().slice(11, 19) : "";
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const lvl = color ? `\x1b[${LEVEL_COLORS[lv] ?? "0"}m${name}\x1b[0m` : name;
  const extra = fields ? (color ? ` \x1b[2m${fields}\x1b[0m` : ` ${fields}`) : "";
  return `${t} ${lvl} ${String(msg ?? "")}${extra}\n`;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? "pretty" : "json");
  const color = opts.color ?? false;
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  // A plain synchronous stream: pino's worker-thread transports do not survive
  // `bun build --compile`, and logs must not be lost on a crash.
  const stream: DestinationStream = {
    write: format === "pretty" ? (s: string) => write(prettyLine(s, color)) : (s: string) => write(s),
  };
  return pino({ level: opts.level ?? "info", base: undefined, timestamp: pino.stdTimeFunctions.epochTime }, stream);
}
