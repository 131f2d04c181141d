/**
 * The registry's errors, as the OCI distribution spec names them (v1.1
 * "Error Codes"), each with the HTTP status distribution answers with, so
 * docker, podman and skopeo show the user the same words they would get from
 * any registry. A RegistryError is a FizzError (code `registry.<spec code in
 * lower case>`), so the CLI and logs treat it like every other error; the
 * HTTP server writes `errorBody()` for it.
 */
import { FizzError } from "../errors.ts";

export const SPEC_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "manifest references a manifest or blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown to registry" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  // Not in the spec's table but answered by distribution, and by clients understood:
  /** `n` not a number, negative, or over the page limit (distribution's CVE-2023-2253 fix). */
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested" },
  /** A tag that breaks the tag grammar. */
  TAG_INVALID: { status: 400, message: "manifest tag did not match URI" },
  /** Anything the registry itself failed at (disk full, upstream broke mid-way). */
  UNKNOWN: { status: 500, message: "unknown error" },
  /** The upstream of a pull-through repository could not be reached and nothing is cached. */
  UNAVAILABLE: { status: 503, message: "service unavailable" },
} as const satisfies Record<string, { status: number; message: string }>;

export type SpecErrorCode = keyof typeof SPEC_ERRORS;

export class RegistryError extends FizzError {
  /** The spec's code (`BLOB_UNKNOWN`), what goes on the wire. */
  readonly spec: SpecErrorCode;
  /** Structured detail for the client (the spec's unstructured `detail`). */
  readonly detail: unknown;

  constructor(spec: SpecErrorCode, message?: string, o: { detail?: unknown; status?: number; hint?: string; cause?: unknown } = {}) {
    super({
      code: `registry.${spec.toLowerCase()}`,
      message: message ?? SPEC_ERRORS[spec].message,
      status: o.status ?? SPEC_ERRORS[spec].status,
      ...(o.hint ? { hint: o.hint } : {}),
      ...(o.cause !== undefined ? { cause: o.cause } : {}),
    });
    this.name = "RegistryError";
    this.spec = spec;
    this.detail = o.detail;
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}

/** The spec's JSON error body: `{"errors":[{"code","message","detail"}]}`. */
export function errorBody(e: RegistryError): string {
  return JSON.stringify({ errors: [{ code: e.spec, message: e.message, ...(e.detail !== undefined ? { detail: e.detail } : {}) }] });
}

/** Shorthand for throwing: `throw regErr("BLOB_UNKNOWN", ...)`. */
export function regErr(spec: SpecErrorCode, message?: string, detail?: unknown, status?: number): RegistryError {
  return new RegistryError(spec, message, { ...(detail !== undefined ? { detail } : {}), ...(status !== undefined ? { status } : {}) });
}
