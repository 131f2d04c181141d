/**
 * Reading a JSON request body under a byte limit. A declared Content-Length
 * over the limit is refused before a byte is read; a chunked body is counted
 * as it arrives and refused the moment it crosses the limit.
 */
import type { IncomingMessage } from "node:http";
import { describeLimit, limitMessage, MAX_NESTING_DEPTH } from "../../core/limits.ts";
import { jsonTooDeepAt } from "../../core/nesting.ts";
import { httpError } from "./errors.ts";

export class BodyTooLarge extends Error {}

export function tooLarge(limit: number) {
  return httpError(413, "api.body_too_large", `the request body is larger than ${describeLimit("bodyBytes", limit)}`, "send a smaller body; the agent's limit is api.max_body_bytes in its node config");
}

/** True for `application/json` and `application/<x>+json`, with any parameters. */
export function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const type = ct.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export function declaredLength(req: IncomingMessage): number | undefined {
  const cl = req.headers["content-length"];
  if (cl === undefined) return undefined;
  if (!/^\d{1,15}$/.test(cl)) throw httpError(400, "api.bad_content_length", "Content-Length is not a number");
  return Number(cl);
}

export function hasBody(req: IncomingMessage): boolean {
  const len = declaredLength(req);
  if (len !== undefined) return len > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const len = declaredLength(req);
  if (len !== undefined && len > limit) return Promise.reject(tooLarge(limit));
  // Listeners rather than `for await`: leaving an async iterator early
  // destroys the stream, and the rest of an oversized body must stay readable
  // so the server can drain it and still deliver its 413.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        reject(tooLarge(limit));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = () => {
      cleanup();
      reject(httpError(400, "api.body_aborted", "the request body was cut off"));
    };
    const onClose = () => {
      if (!req.readableEnded) onError();
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export function parseJson(buf: Buffer): unknown {
  let textBody: string;
  try {
    textBody = decoder.decode(buf);
  } catch {
    throw httpError(400, "api.bad_json", "request body is not valid UTF-8");
  }
  if (textBody.trim() === "") return undefined;
  // Before parsing: every later walk (validation, hashing, the store, replies) may recurse.
  const deep = jsonTooDeepAt(textBody);
  if (deep >= 0) {
    throw httpError(400, "api.too_deep", limitMessage("nestingDepth", "the request body", `nested more than ${MAX_NESTING_DEPTH} levels deep (at character ${deep})`), "flatten the structure");
  }
  try {
    return JSON.parse(textBody) as unknown;
  } catch (e) {
    const why = e instanceof Error ? e.message : "syntax error";
    throw httpError(400, "api.bad_json", `malformed JSON body: ${why.slice(0, 200)}`);
  }
}
