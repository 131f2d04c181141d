/**
 * The one error type that crosses layers. Every failure a user can meet is a
 * FizzError with a stable machine code, a message a person can act on, and
 * (where it helps) a hint and a source location. `cmd/` prints these; the API
 * turns them into `{code, message}` JSON bodies.
 */
import { boundMessage } from "./limits.ts";

/** A place in a user's file, 1-based like editors show it. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface FizzErrorInit {
  /** Stable, dotted, lower-case code, e.g. `compose.unknown_field`, `engine.unreachable`. */
  readonly code: string;
  /** What went wrong, in words a user can act on. */
  readonly message: string;
  /** What to do about it, when there is something concrete to suggest. */
  readonly hint?: string;
  /** Where in the user's input, when the error is about a file. */
  readonly location?: SourceLocation;
  /** The path inside a document, e.g. `services.web.ports[1]`. */
  readonly path?: string;
  /** The exit code the CLI should use (default 1). */
  readonly exitCode?: number;
  /** HTTP status the API should use (default 400 for user errors). */
  readonly status?: number;
  readonly cause?: unknown;
}

export class FizzError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;
  readonly path: string | undefined;
  readonly exitCode: number;
  readonly status: number;

  constructor(init: FizzErrorInit) {
    // Bounded here, once for every user-facing failure: a 1 MiB value must not become a 1 MiB error or log line.
    super(boundMessage(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "FizzError";
    this.code = init.code;
    this.hint = init.hint === undefined ? undefined : boundMessage(init.hint);
    this.location = init.location;
    this.path = init.path === undefined ? undefined : boundMessage(init.path);
    this.exitCode = init.exitCode ?? 1;
    this.status = init.status ?? 400;
  }

  /** `file:line:col: message` when located, else the message. */
  where(): string {
    const loc = this.location;
    const at = loc ? `${loc.file}:${loc.line}:${loc.column}: ` : "";
    // A message that names its path already (the API's input checks do, so that a JSON body reads whole) gets it once.
    const path = this.path && !this.message.startsWith(`${this.path}: `) ? `${this.path}: ` : "";
    return `${at}${path}${this.message}`;
  }

  toJSON(): { code: string; message: string; hint?: string; path?: string; location?: SourceLocation } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.path ? { path: this.path } : {}),
      ...(this.location ? { location: this.location } : {}),
    };
  }
}

export function isFizzError(e: unknown): e is FizzError {
  return e instanceof FizzError;
}

/** Usage errors (bad flags, unknown commands) exit 2, like most Unix tools. */
export function usageError(message: string, hint?: string): FizzError {
  return new FizzError({ code: "cli.usage", message, exitCode: 2, ...(hint ? { hint } : {}) });
}
