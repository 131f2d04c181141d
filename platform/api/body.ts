/**
 * Reading a JSON request body under a byte limit. A declared Content-Length
 * over the limit is refused before a byte is read; a chunked body is counted
 * as it arrives and refused the moment it crosses the limit.
 */
import type { IncomingMessage } from "node:http";
import { httpError } from "./errors.ts";

export class BodyTooLarge extends Error {}

export function tooLarge(limit: number) {
  return httpError(413, "api.body_too_large", `request body larger than ${limit} bytes`, "send a smaller body; the agent's limit is api.max_body_bytes");
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

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const len = declaredLength(req);
  if (len !== undefined && len > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
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
  try {
    return JSON.parse(textBody) as unknown;
  } catch (e) {
    const why = e instanceof Error ? e.message : "syntax error";
    throw httpError(400, "api.bad_json", `malformed JSON body: ${why.slice(0, 200)}`);
  }
}
