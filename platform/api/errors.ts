/** HTTP error values the API answers with: a status and a `{code, message}` body. */
import { FizzError, isFizzError } from "../../core/errors.ts";
import { httpStatusOf } from "../../core/error-codes.ts";

export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
  path?: string;
}

export function httpError(status: number, code: string, message: string, hint?: string): FizzError {
  return new FizzError({ status, code, message, ...(hint ? { hint } : {}) });
}

export const notFound = (what: string) => httpError(404, "api.not_found", what);

/**
 * The status and body for anything a handler threw. Only FizzErrors carry
 * their message to the client; anything else is a bug or an I/O failure
 * whose text may leak internals, so it becomes a generic 500.
 */
export function errorReply(e: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (isFizzError(e)) {
    // The code decides the status (core/error-codes.ts); a code not listed keeps the thrower's.
    const own = Number.isInteger(e.status) && e.status >= 400 && e.status <= 599 ? e.status : 400;
    const status = httpStatusOf(e.code, own);
    const j = e.toJSON();
    return {
      status,
      internal: false,
      body: { code: j.code, message: j.message, ...(j.hint ? { hint: j.hint } : {}), ...(j.path ? { path: j.path } : {}) },
    };
  }
  return { status: 500, internal: true, body: { code: "internal", message: "internal error; see the agent log" } };
}
