/**
 * The event log as a live feed. Writers append through `EventFeed.append`
 * (which stores the event and wakes subscribers at once); subscribers replay
 * what they missed from the store (resume by event id) and then follow. A
 * slow poll also picks up events other code wrote to the store directly.
 * Memory per subscriber is one page of events, whatever the backlog.
 * With a logger, every appended event is also one JSON log line carrying its
 * deployment/service/container fields.
 */
import type { Logger } from "pino";
import type { EventRecord, NewEvent } from "../store/index.ts";

/** The part of AgentStore the feed needs. */
export interface EventLog {
  appendEvent(e: NewEvent): EventRecord;
  /** Several events in one transaction (one durable write). */
  appendEvents?(es: readonly NewEvent[]): EventRecord[];
  events(afterId?: number, limit?: number): EventRecord[];
}

export interface EventFilter {
  /** Event types; `container.*` matches every `container.` type. Empty = all. */
  readonly types?: readonly string[];
  readonly deployment?: string;
  readonly service?: string;
  readonly container?: string;
}

export function matchesFilter(e: EventRecord, f: EventFilter): boolean {
  if (f.deployment !== undefined && e.deployment !== f.deployment) return false;
  if (f.service !== undefined && e.service !== f.service) return false;
  if (f.container !== undefined && e.container !== f.container) return false;
  if (f.types && f.types.length) {
    const ok = f.types.some((t) => (t.endsWith(".*") ? e.type.startsWith(t.slice(0, -1)) : e.type === t));
    if (!ok) return false;
  }
  return true;
}

export interface SubscribeOptions {
  /** Deliver events with id > after. */
  readonly after: number;
  readonly filter: EventFilter;
  /** Stop after the backlog instead of following. */
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

export class EventFeed {
  private waiters = new Set<() => void>();
  private readonly pageSize: number;
  private readonly pollMs: number;
  private readonly logger: Logger | undefined;
  private pending: NewEvent[] = [];
  private flushing: ReturnType<typeof setImmediate> | undefined;

  constructor(
    private readonly log: EventLog,
    opts: { pageSize?: number; pollMs?: number; logger?: Logger } = {},
  ) {
    this.pageSize = opts.pageSize ?? 500;
    this.pollMs = opts.pollMs ?? 1000;
    this.logger = opts.logger;
  }

  append(e: NewEvent): EventRecord {
    this.flush();
    const rec = this.log.appendEvent(e);
    this.logged(rec);
    this.notify();
    return rec;
  }

  /**
   * Appends `e` with the others of this tick in one transaction (one fsync
   * instead of one per event: a change of 4,000 replicas logs 16,000 steps).
   * Order is kept: `append` and readers flush what waits first.
   */
  appendSoon(e: NewEvent): void {
    this.pending.push(e);
    this.flushing ??= setImmediate(() => {
      try {
        this.flush();
      } catch (err) {
        // The store closed under a late batch (shutdown): progress lines only.
        this.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, "writing step events failed");
      }
    });
  }

  /** Writes the events `appendSoon` holds. */
  flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const recs = this.log.appendEvents ? this.log.appendEvents(batch) : batch.map((e) => this.log.appendEvent(e));
    for (const rec of recs) this.logged(rec);
    this.notify();
  }

  private logged(rec: EventRecord): void {
    this.logger?.info(
      {
        event: rec.type,
        eventId: rec.id,
        ...(rec.deployment !== undefined ? { deployment: rec.deployment } : {}),
        ...(rec.service !== undefined ? { service: rec.service } : {}),
        ...(rec.container !== undefined ? { container: rec.container } : {}),
      },
      rec.message,
    );
  }

  /** Wakes subscribers; call after writing events to the store by other means. */
  notify(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }

  async *subscribe(o: SubscribeOptions): AsyncGenerator<EventRecord> {
    let after = o.after;
    while (!o.signal.aborted) {
      this.flush();
      const page = this.log.events(after, this.pageSize);
      for (const e of page) {
        after = e.id;
        if (matchesFilter(e, o.filter)) yield e;
        if (o.signal.aborted) return;
      }
      if (page.length === this.pageSize) continue;
      if (!o.follow) return;
      await this.wait(o.signal);
    }
  }

  private wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
