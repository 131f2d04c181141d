/**
 * What every command gets: the global flags, resolved once, and lazily built
 * shared services. Heavy modules (pino, undici) load only when a command
 * asks for them, which keeps `fizz --version` fast.
 */
import type { Logger, LogFormat, LogLevel } from "../platform/log.ts";

export interface GlobalOptions {
  logLevel: LogLevel;
  logFormat: LogFormat | undefined;
  color: boolean;
  /** Agent address from -H/--host or FIZZ_HOST. */
  host: string | undefined;
}

export interface Context {
  readonly global: GlobalOptions;
  /** Process-wide logger (stderr). */
  logger(): Promise<Logger>;
  /** Write command output (stdout). */
  out(text: string): void;
  /** Write diagnostics (stderr). */
  err(text: string): void;
}

export function createContext(global: GlobalOptions): Context {
  let logger: Promise<Logger> | undefined;
  return {
    global,
    logger() {
      logger ??= import("../platform/log.ts").then((m) =>
        m.createLogger({ level: global.logLevel, format: global.logFormat, color: global.color }),
      );
      return logger;
    },
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
}

/** ANSI styling that respects --no-color / NO_COLOR. */
export function paint(ctx: Context, code: string, text: string): string {
  return ctx.global.color ? `\x1b[${code}m${text}\x1b[0m` : text;
}
