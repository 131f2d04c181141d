/** Query options shared by the log endpoints, and their NDJSON answer. */
import type { AgentBackend, LogLine, LogsQuery } from "./backend.ts";
import { httpError, notFound } from "./errors.ts";
import { stream, type Reply, type RequestContext } from "./reply.ts";
import { queryBool, queryInt } from "./validate.ts";

export function logOptions(c: RequestContext): Omit<LogsQuery, "target"> {
  const tail = queryInt(c.query, "tail", 0, 1_000_000);
  const sinceRaw = c.query.get("since");
  let since: number | undefined;
  if (sinceRaw !== null) {
    since = /^\d{1,15}$/.test(sinceRaw) ? Number(sinceRaw) : Date.parse(sinceRaw);
    if (!Number.isFinite(since)) throw httpError(400, "api.bad_query", "query parameter 'since' must be ms since the epoch or an RFC 3339 time");
  }
  return {
    follow: queryBool(c.query, "follow", false),
    timestamps: queryBool(c.query, "timestamps", false),
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined ? { since } : {}),
  };
}

export async function logsReply(b: AgentBackend, c: RequestContext, q: LogsQuery, missing: string): Promise<Reply> {
  const lines = await b.logs(q, c.signal);
  if (!lines) throw notFound(missing);
  return stream(mapAsync(lines, (l: LogLine) => JSON.stringify(l) + "\n"));
}

export async function* mapAsync<A, B>(src: AsyncIterable<A>, f: (a: A) => B): AsyncGenerator<B> {
  for await (const a of src) yield f(a);
}
