// HttpSession over fake connections, deterministic: a session reuses one
// exchange, its trackers and scans for every request on its connection, and
// builds upstream heads in a buffer shared by all sessions. These pin down
// that nothing leaks from one request to the next or from one session to
// another: varied requests and responses on one keep-alive connection, a
// head waiting for a connection while another session builds its own, a
// retry after a reused upstream closed, a connect that fails after the client
// left, and a body that arrives with its head in one read.
import { describe, expect, test } from "bun:test";
import { BackendSet } from "../../../platform/ingress/backends.ts";
import { HttpSession, type ExchangeRecord } from "../../../platform/ingress/http-proxy.ts";
import type { Conn, ConnHandlers } from "../../../platform/ingress/sockets.ts";
import type { PooledConn, UpstreamOwner, UpstreamPool } from "../../../platform/ingress/upstream-pool.ts";

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

class FakeConn implements Conn {
  h: ConnHandlers | undefined;
  out = "";
  ended = false;
  closed = false;
  paused = false;
  constructor(readonly remoteAddress = "10.0.0.7", readonly remotePort = 40000, readonly localAddress = "127.0.0.1", readonly localPort = 80) {}
  setHandlers(h: ConnHandlers) {
    this.h = h;
  }
  prepend() {}
  write(b: Uint8Array) {
    this.out += text(b);
    return true;
  }
  writeScratch(b: Uint8Array, n: number) {
    // Read now: the caller reuses b right after.
    this.out += text(b.subarray(0, n));
    return true;
  }
  end() {
    this.ended = true;
  }
  destroy() {
    this.closed = true;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  /** Bytes from the peer, as the socket delivers them (a Buffer). */
  send(s: string | Uint8Array) {
    this.h!.onData(typeof s === "string" ? Buffer.from(s, "latin1") : s);
  }
}

/** An upstream pool whose connections the test drives: idle ones to take, connects it settles. */
class FakePool {
  idle: PooledConn[] = [];
  given: PooledConn[] = [];
  pending: { resolve(pc: PooledConn): void; reject(e: Error): void }[] = [];
  take(): PooledConn | undefined {
    return this.idle.pop();
  }
  connect(): Promise<PooledConn> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  give(pc: PooledConn) {
    pc.reused = true;
    this.given.push(pc);
    this.idle.push(pc);
  }
  static conn(key = "u"): PooledConn & { conn: FakeConn } {
    return { conn: new FakeConn("127.0.0.1", 8080), key, owner: undefined as unknown as UpstreamOwner, reused: false, idleSince: 0 };
  }
}

function setup() {
  const pool = new FakePool();
  const set = new BackendSet("shop/web:80");
  set.update([{ key: "web/1", state: "ready", target: { host: "127.0.0.1", port: 8080 } }]);
  const records: ExchangeRecord[] = [];
  const session = (client = new FakeConn()) =>
    new HttpSession(client, {
      scheme: "http",
      trusted: [],
      resolve: () => set.hit,
      pool: pool as unknown as UpstreamPool,
      waitForReadyMs: 1000,
      maxAttempts: 3,
      clientIdleMs: 60_000,
      responseTimeoutMs: 60_000,
      // The record object is reused: keep a copy.
      record: (r) => records.push({ ...r }),
      now: () => 0,
    });
  return { pool, set, records, session };
}

/** Answers on the upstream connection as a backend would. */
function answer(pc: PooledConn, s: string) {
  pc.owner.upData(pc, Buffer.from(s, "latin1"));
}

const FWD = "x-forwarded-for: 10.0.0.7\r\nforwarded: for=10.0.0.7;host=\"shop.test\";proto=http\r\nx-forwarded-proto: http\r\nx-forwarded-host: shop.test\r\n";

describe("HttpSession reuses its state per request", () => {
  test("varied requests and responses on one keep-alive connection each arrive whole and in order", () => {
    const { pool, records, session } = setup();
    const up = FakePool.conn();
    pool.idle.push(up);
    const client = new FakeConn();
    session(client);
    const cases: { req: string; up: string; res: string }[] = [
      { req: "GET /a HTTP/1.1\r\nHost: shop.test\r\n\r\n", up: `GET /a HTTP/1.1\r\nHost: shop.test\r\n${FWD}\r\n`, res: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" },
      { req: "POST /a/longer/path?q=1 HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\nConnection: keep-alive\r\nX-Custom: 1\r\n\r\nhello", up: `POST /a/longer/path?q=1 HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\nX-Custom: 1\r\n${FWD}\r\nhello`, res: "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" },
      { req: "HEAD /h HTTP/1.1\r\nHost: shop.test\r\n\r\n", up: `HEAD /h HTTP/1.1\r\nHost: shop.test\r\n${FWD}\r\n`, res: "HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n" },
      { req: "PUT /c HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", up: `PUT /c HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n${FWD}\r\n2\r\nhi\r\n0\r\n\r\n`, res: "HTTP/1.1 204 No Content\r\n\r\n" },
      { req: "GET /a HTTP/1.1\r\nHost: shop.test\r\n\r\n", up: `GET /a HTTP/1.1\r\nHost: shop.test\r\n${FWD}\r\n`, res: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" },
    ];
    let expectedClient = "";
    for (const c of cases) {
      up.conn.out = "";
      client.send(c.req);
      expect(up.conn.out).toBe(c.up);
      // The response in two reads: the head with part of the body, then the rest.
      const cut = c.res.length - 2;
      answer(up, c.res.slice(0, cut));
      answer(up, c.res.slice(cut));
      expectedClient += c.res;
      expect(client.out).toBe(expectedClient);
    }
    expect(records.map((r) => r.status)).toEqual([200, 201, 200, 204, 200]);
    expect(pool.given.length).toBe(cases.length);
    expect(client.ended).toBe(false);
  });

  test("pipelined requests are answered in order, each head built from its own bytes", () => {
    const { pool, session } = setup();
    const up = FakePool.conn();
    pool.idle.push(up);
    const client = new FakeConn();
    session(client);
    client.send("GET /first HTTP/1.1\r\nHost: shop.test\r\n\r\nGET /second-and-longer HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n");
    expect(up.conn.out).toBe(`GET /first HTTP/1.1\r\nHost: shop.test\r\n${FWD}\r\n`);
    answer(up, "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1");
    expect(up.conn.out).toBe(`GET /first HTTP/1.1\r\nHost: shop.test\r\n${FWD}\r\nGET /second-and-longer HTTP/1.1\r\nHost: shop.test\r\n${FWD}\r\n`);
    answer(up, "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n2");
    expect(client.out).toBe("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n2");
    expect(client.ended).toBe(true);
  });

  test("a head waiting for a connection is its own when it goes out, whatever other sessions built meanwhile", async () => {
    const { pool, session } = setup();
    const a = new FakeConn("10.0.0.1");
    session(a);
    a.send("GET /from-a HTTP/1.1\r\nHost: shop.test\r\n\r\n");
    expect(pool.pending.length).toBe(1);
    // Meanwhile another session builds and sends a different head.
    const other = FakePool.conn();
    pool.idle.push(other);
    const b = new FakeConn("10.0.0.2");
    session(b);
    b.send("GET /from-b/a-much-longer-target-than-the-first HTTP/1.1\r\nHost: shop.test\r\n\r\n");
    expect(other.conn.out).toStartWith("GET /from-b/");
    const late = FakePool.conn();
    pool.pending[0]!.resolve(late);
    await Promise.resolve();
    await Promise.resolve();
    expect(late.conn.out).toBe(`GET /from-a HTTP/1.1\r\nHost: shop.test\r\n${FWD.replaceAll("10.0.0.7", "10.0.0.1")}\r\n`);
  });

  test("a reused upstream that closed without answering: the request is sent again, the same bytes", () => {
    const { pool, set, records, session } = setup();
    // A retry goes to another replica.
    set.update([
      { key: "web/1", state: "ready", target: { host: "127.0.0.1", port: 8080 } },
      { key: "web/2", state: "ready", target: { host: "127.0.0.1", port: 8081 } },
    ]);
    const stale = FakePool.conn();
    stale.reused = true;
    const fresh = FakePool.conn();
    pool.idle.push(fresh, stale);
    const client = new FakeConn();
    session(client);
    client.send("POST /retry HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 3\r\n\r\nabc");
    const sent = stale.conn.out;
    expect(sent).toBe(`POST /retry HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 3\r\n${FWD}\r\nabc`);
    // Another session uses the shared head buffer before the retry.
    const other = FakePool.conn();
    pool.idle.push(other);
    const c2 = new FakeConn("10.0.0.9");
    session(c2);
    c2.send("GET /something-else-entirely HTTP/1.1\r\nHost: shop.test\r\n\r\n");
    stale.conn.closed = true;
    stale.owner.upClose(stale);
    expect(fresh.conn.out).toBe(sent);
    answer(fresh, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    expect(client.out).toBe("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    expect(records[0]).toMatchObject({ status: 200, retries: 1, upstreamErrors: 1 });
  });

  test("a connect that fails after the client left does not count against the replica twice", async () => {
    const { pool, set, session } = setup();
    const client = new FakeConn();
    session(client);
    client.send("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n");
    const web1 = set.balancer.get("web/1")!;
    expect(web1.outstanding).toBe(1);
    expect(pool.pending.length).toBe(1);
    // A second request in flight on the same replica from another connection.
    const busy = FakePool.conn();
    pool.idle.push(busy);
    const c2 = new FakeConn("10.0.0.8");
    session(c2);
    c2.send("GET /busy HTTP/1.1\r\nHost: shop.test\r\n\r\n");
    expect(web1.outstanding).toBe(2);
    client.h!.onClose();
    expect(web1.outstanding).toBe(1);
    pool.pending[0]!.reject(new Error("connection refused"));
    await Promise.resolve();
    await Promise.resolve();
    expect(web1.outstanding).toBe(1);
    expect(web1.failures).toBe(0);
  });

  test("a body that comes in one read with its head, past the retry bound, reaches the replica whole", async () => {
    const { pool, session } = setup();
    const client = new FakeConn();
    session(client);
    const body = "x".repeat(200 * 1024);
    client.send(`POST /upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const up = FakePool.conn();
    pool.pending[0]!.resolve(up);
    await Promise.resolve();
    await Promise.resolve();
    expect(up.conn.out).toBe(`POST /upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${body.length}\r\n${FWD}\r\n${body}`);
    answer(up, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    expect(client.out).toBe("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  });
});
