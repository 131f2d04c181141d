/**
 * The engine's event stream as an async iterator of decoded events. Runs until
 * the signal aborts, `until` passes, or the consumer breaks out of the loop.
 */
import type { Transport } from "./transport.ts";
import { encodeFilters, type FilterInput } from "./filters.ts";
import { jsonValues } from "./streams.ts";
import type { EngineEvent } from "./types.ts";

export interface EventsOptions extends FilterInput {
  /** Unix seconds: replay events since then (catches events that raced the subscription). */
  readonly since?: number;
  readonly until?: number;
  readonly signal?: AbortSignal;
}

export async function* engineEvents(t: Transport, opts: EventsOptions = {}): AsyncGenerator<EngineEvent> {
  const res = await t.stream({
    method: "GET",
    path: "/events",
    query: { since: opts.since, until: opts.until, filters: encodeFilters(opts) },
    signal: opts.signal,
    // Some engines send headers only with the first event.
    headersTimeoutMs: 0,
    ctx: { action: "watch events" },
  });
  yield* jsonValues<EngineEvent>(res.body);
}
