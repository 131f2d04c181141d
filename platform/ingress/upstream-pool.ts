/**
 * Keep-alive connections to backends, per address: a request takes an idle
 * one (most recently used first, so the set shrinks when load drops) or
 * connects anew; a finished exchange gives it back if both sides allow reuse.
 * An idle connection the backend closes just leaves the pool. Idle ones are
 * closed after `idleMs` and when a backend leaves the route table.
 */
import { connectTcp, type Conn, type ConnHandlers } from "./sockets.ts";

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

export interface PooledConn {
  readonly conn: Conn;
  readonly key: string;
  /** Whether it served a request before (a reused connection may have been closed by the server meanwhile). */
  reused: boolean;
  idleSince: number;
}

const IDLE_HANDLERS = (pool: UpstreamPool, pc: PooledConn): ConnHandlers => ({
  // A response nobody asked for, or the server closing: the connection is no good.
  onData: () => pc.conn.destroy(),
  onDrain() {},
  onEnd: () => pc.conn.destroy(),
  onClose: () => pool.forget(pc),
});

export class UpstreamPool {
  private idle = new Map<string, PooledConn[]>();
  private readonly maxIdlePerUpstream: number;

  constructor(
    private readonly connectTimeoutMs: number,
    private readonly idleMs = 30_000,
    maxIdlePerUpstream = 256,
  ) {
    this.maxIdlePerUpstream = maxIdlePerUpstream;
  }

  static key(u: Upstream): string {
    return `${u.host}:${u.port}`;
  }

  /** An idle connection (synchronously), or undefined. */
  take(u: Upstream): PooledConn | undefined {
    const list = this.idle.get(UpstreamPool.key(u));
    while (list && list.length > 0) {
      const pc = list.pop()!;
      if (!pc.conn.closed) return pc;
    }
    return undefined;
  }

  async connect(u: Upstream): Promise<PooledConn> {
    const conn = await connectTcp(u.host, u.port, this.connectTimeoutMs);
    return { conn, key: UpstreamPool.key(u), reused: false, idleSince: 0 };
  }

  give(pc: PooledConn, now: number): void {
    if (pc.conn.closed) return;
    let list = this.idle.get(pc.key);
    if (!list) this.idle.set(pc.key, (list = []));
    if (list.length >= this.maxIdlePerUpstream) {
      pc.conn.destroy();
      return;
    }
    pc.reused = true;
    pc.idleSince = now;
    pc.conn.setHandlers(IDLE_HANDLERS(this, pc));
    list.push(pc);
  }

  forget(pc: PooledConn): void {
    const list = this.idle.get(pc.key);
    if (!list) return;
    const i = list.indexOf(pc);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(pc.key);
  }

  /** Closes idle connections older than idleMs, and all of those to addresses not in `keep`. */
  sweep(now: number, keep?: ReadonlySet<string>): void {
    for (const [key, list] of this.idle) {
      const drop = keep !== undefined && !keep.has(key);
      for (const pc of [...list]) if (drop || now - pc.idleSince > this.idleMs) pc.conn.destroy();
    }
  }

  idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const pc of [...list]) pc.conn.destroy();
    this.idle.clear();
  }
}
