/**
 * Keep-alive connections to backends, per address: a request takes an idle
 * one (most recently used first, so the set shrinks when load drops) or
 * connects anew; a finished exchange gives it back if both sides allow reuse.
 * An idle connection the backend closes just leaves the pool. Idle ones are
 * closed after `idleMs` and when a backend leaves the route table.
 */
import type { UpstreamSpec } from "../../core/ingress/plan.ts";
import { TLV_FIZZ_REPLICA, encodeProxyV2 } from "../../core/ingress/proxy-protocol.ts";
import { connectTcp, type Conn, type ConnHandlers } from "./sockets.ts";

export interface Upstream extends UpstreamSpec {
  /** host:port[/relay target], cached by the pool (it is looked up per request). */
  key?: string;
}

/**
 * Connects to a replica: directly, or through another node's relay, whose
 * header (PROXY v2 LOCAL with the replica in a TLV) goes first.
 */
export async function connectUpstream(u: UpstreamSpec, timeoutMs: number): Promise<Conn> {
  const conn = await connectTcp(u.host, u.port, timeoutMs);
  if (u.relay !== undefined) conn.write(encodeProxyV2({ command: "local", tlvs: [{ type: TLV_FIZZ_REPLICA, value: new TextEncoder().encode(u.relay) }] }));
  return conn;
}

/** Who gets a pooled connection's events: the pool while idle, a session while in use. */
export interface UpstreamOwner {
  upData(pc: PooledConn, d: Uint8Array): void;
  upDrain(pc: PooledConn): void;
  upEnd(pc: PooledConn): void;
  upClose(pc: PooledConn): void;
}

export interface PooledConn {
  readonly conn: Conn;
  readonly key: string;
  /** Set by whoever holds it; the connection's handlers (made once) forward to it. */
  owner: UpstreamOwner;
  /** Whether it served a request before (a reused connection may have been closed by the server meanwhile). */
  reused: boolean;
  idleSince: number;
}

function handlersOf(pc: PooledConn): ConnHandlers {
  return {
    onData: (d) => pc.owner.upData(pc, d),
    onDrain: () => pc.owner.upDrain(pc),
    onEnd: () => pc.owner.upEnd(pc),
    onClose: () => pc.owner.upClose(pc),
  };
}

export class UpstreamPool implements UpstreamOwner {
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
    return (u.key ??= u.relay === undefined ? `${u.host}:${u.port}` : `${u.host}:${u.port}/${u.relay}`);
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
    const conn = await connectUpstream(u, this.connectTimeoutMs);
    const pc: PooledConn = { conn, key: UpstreamPool.key(u), owner: this, reused: false, idleSince: 0 };
    conn.setHandlers(handlersOf(pc));
    return pc;
  }

  // While idle: a response nobody asked for, or the server closing, means the connection is no good.
  upData(pc: PooledConn): void {
    pc.conn.destroy();
  }
  upDrain(): void {}
  upEnd(pc: PooledConn): void {
    pc.conn.destroy();
  }
  upClose(pc: PooledConn): void {
    this.forget(pc);
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
    pc.owner = this;
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
