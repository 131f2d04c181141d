/**
 * The stream side of a cluster node: push-pull exchanges (client and server)
 * over the transport's streams, and the join loop that contacts seeds until
 * one answers. SWIM decides what is said (core/swim receiveStream); this only
 * carries it, with deadlines.
 */
import { FizzError } from "../../core/errors.ts";
import { sleep, type Clock } from "../../core/clock.ts";
import { decodeStream, encodeStream, type StreamMessage, type StreamRequest, type SwimNode } from "../../core/swim/index.ts";
import type { ClusterStream, StreamIntent } from "./transport.ts";

export function asFizz(e: unknown, fallbackCode: string): FizzError {
  return e instanceof FizzError ? e : new FizzError({ code: fallbackCode, message: e instanceof Error ? e.message : String(e), cause: e });
}

function withTimeout<T>(clock: Clock, p: Promise<T>, ms: number, to: string): Promise<T> {
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    const t = clock.setTimeout(() => reject(new FizzError({ code: "cluster.join_timeout", message: `${to} did not complete the join exchange within ${ms} ms` })), ms);
    cancel = () => t.cancel();
  });
  return Promise.race([p, timeout]).finally(cancel);
}

export interface StreamHost {
  readonly swim: SwimNode;
  readonly clock: Clock;
  readonly stats: { opened: number; failed: number; served: number; badMessages: number };
  /** Traffic to or from this address is dropped (the test link filter). */
  blocked(addr: string): boolean;
  onBlocked(): void;
  stopped(): boolean;
  /** Sends what SWIM produced and re-arms its timer. */
  pump(): void;
  open(to: string, intent: StreamIntent, limits?: { connectTimeoutMs: number }): Promise<ClusterStream>;
  readonly connectTimeoutMs: number;
  log(level: "debug" | "info" | "warn", obj: Record<string, unknown>, msg: string): void;
}

export class StreamExchange {
  private readonly open = new Set<ClusterStream>();

  constructor(private readonly h: StreamHost) {}

  closeAll(): void {
    for (const s of this.open) s.close();
    this.open.clear();
  }

  /** Client side: request → reply → (our answer → …) until SWIM has nothing more to say. */
  async exchange(to: string, req: StreamRequest | StreamMessage, connectTimeoutMs?: number): Promise<void> {
    const h = this.h;
    if (h.stopped()) throw new FizzError({ code: "cluster.stopped", message: "the cluster node is stopped" });
    if (h.blocked(to)) {
      h.onBlocked();
      throw new FizzError({ code: "cluster.link_blocked", message: `traffic to ${to} is blocked by the link filter` });
    }
    const intent: StreamIntent = req.type === "pp-request" && req.join ? "join" : "push-pull";
    const limits = connectTimeoutMs === undefined ? undefined : { connectTimeoutMs: Math.min(connectTimeoutMs, h.connectTimeoutMs) };
    let s: ClusterStream;
    try {
      s = await h.open(to, intent, limits);
    } catch (e) {
      h.stats.failed++;
      throw e;
    }
    if (h.stopped()) {
      s.close();
      throw new FizzError({ code: "cluster.stopped", message: "the cluster node is stopped" });
    }
    h.stats.opened++;
    this.open.add(s);
    try {
      let out: StreamMessage | undefined = req;
      let last = false;
      while (out !== undefined) {
        await s.send(encodeStream(out));
        if (last) break;
        const bytes = await s.receive();
        if (bytes === null) throw new FizzError({ code: "transport.no_reply", message: `${to} closed the stream without replying` });
        const d = decodeStream(bytes);
        if (!d.ok) {
          h.stats.badMessages++;
          throw new FizzError({ code: "cluster.bad_stream_message", message: `${to} sent an unreadable ${req.type} reply: ${d.error.message}` });
        }
        if (h.stopped()) return;
        out = h.swim.receiveStream(to, d.value, h.clock.monotonic());
        h.pump();
        // After a pp-response we send the final message and are done.
        last = d.value.type === "pp-response";
      }
      // Half-close and give the peer a moment to read the last frame before the stream goes.
      s.end();
      await Promise.race([s.receive().catch(() => null), sleep(h.clock, 2000)]);
    } catch (e) {
      h.stats.failed++;
      throw e;
    } finally {
      s.close();
      this.open.delete(s);
    }
  }

  /** Server side: answer until SWIM has no reply (pp-final, tcp-ack) or the peer hangs up. */
  async serve(s: ClusterStream): Promise<void> {
    const h = this.h;
    if (h.stopped()) return void s.close();
    const peerAddr = h.swim.member(s.peer.nodeId)?.addr ?? (s.peer.host.includes(":") ? `[${s.peer.host}]:${s.peer.port}` : `${s.peer.host}:${s.peer.port}`);
    if (h.blocked(peerAddr)) {
      h.onBlocked();
      return void s.close();
    }
    h.stats.served++;
    this.open.add(s);
    try {
      for (let i = 0; i < 4; i++) {
        const bytes = await s.receive();
        if (bytes === null || h.stopped()) break;
        const d = decodeStream(bytes);
        if (!d.ok) {
          h.stats.badMessages++;
          break;
        }
        const reply = h.swim.receiveStream(peerAddr, d.value, h.clock.monotonic());
        h.pump();
        if (reply === undefined) break;
        await s.send(encodeStream(reply));
      }
    } catch (e) {
      h.log("debug", { peer: peerAddr, err: asFizz(e, "cluster.stream_failed").message }, "incoming stream failed");
    } finally {
      s.close();
      this.open.delete(s);
    }
  }
}

/** Not worth retrying: the seed answered and said no. */
const FATAL_JOIN_CODES = new Set(["cluster.wrong_key", "cluster.wrong_cluster", "cluster.version_mismatch", "cluster.handshake_refused"]);

/**
 * Contacts the seeds by push-pull until one answers; returns the seed that
 * did. Rejects with a seed's refusal at once (e.g. `cluster.wrong_key`), or
 * with `cluster.join_failed` after `timeoutMs`.
 */
export async function joinSeeds(
  targets: readonly string[],
  timeoutMs: number,
  h: { clock: Clock; running(): void; stopped(): boolean; exchange(to: string, budgetMs: number): Promise<void> },
): Promise<string> {
  const deadline = h.clock.now() + timeoutMs;
  const errors = new Map<string, FizzError>();
  for (;;) {
    h.running();
    const budget = Math.max(100, deadline - h.clock.now());
    // A seed that accepts a stream but never answers must not outlast the deadline.
    const attempts = targets.map((to) => withTimeout(h.clock, h.exchange(to, budget), budget, to).then(() => to));
    // The first seed that answers is enough; the others finish in the background.
    const first = await Promise.any(attempts).then(
      (via) => ({ via }),
      (agg: unknown) => ({ failures: agg instanceof AggregateError ? agg.errors : [agg] }),
    );
    if ("via" in first) return first.via;
    first.failures.forEach((e, i) => errors.set(targets[i]!, asFizz(e, "cluster.join_failed")));
    const fatal = [...errors.values()].find((e) => FATAL_JOIN_CODES.has(e.code));
    if (fatal) throw fatal;
    if (h.stopped()) throw new FizzError({ code: "cluster.stopped", message: "the cluster node was stopped while joining" });
    if (h.clock.now() + 250 >= deadline) {
      const why = [...errors].map(([a, e]) => `${a}: ${e.message}`).join("; ");
      throw new FizzError({
        code: "cluster.join_failed",
        message: `could not join the cluster within ${timeoutMs} ms (${why})`,
        hint: "check that a fizz agent runs at the seed address and that UDP and TCP on that port are open between the nodes",
        cause: [...errors.values()][0],
      });
    }
    await sleep(h.clock, Math.min(1000, Math.max(0, deadline - h.clock.now() - 250)));
  }
}
