/**
 * Forwarding a query the cluster does not answer to the node's upstream
 * resolvers, with a deadline: over UDP every upstream is asked at once (an
 * IPv4 and an IPv6 socket as the upstreams need) and the first answer with
 * our id wins; over TCP (a query that came over TCP) they are asked in
 * turn until one answers. Undefined when none answered in time (the server
 * then answers SERVFAIL rather than silence).
 */
import { Buffer } from "node:buffer";
import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import type { Upstream } from "../../core/net/resolv-conf.ts";

export function forwardUdp(q: Uint8Array, ups: readonly Upstream[], deadlineMs: number): Promise<Uint8Array | undefined> {
  if (ups.length === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    // One socket per address family the upstreams need (resolv.conf may name IPv6 servers).
    const sockets: Socket[] = [];
    let failed = 0;
    let done = false;
    const finish = (r: Uint8Array | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          // already closed by its error
        }
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), deadlineMs);
    for (const family of ["udp4", "udp6"] as const) {
      const mine = ups.filter((u) => u.host.includes(":") === (family === "udp6"));
      if (mine.length === 0) continue;
      let s: Socket;
      try {
        s = createSocket(family);
      } catch {
        continue;
      }
      sockets.push(s);
      // An upstream this family cannot reach fails alone: the others may still answer.
      s.on("error", () => {
        if (++failed === sockets.length) finish(undefined);
      });
      s.on("message", (m) => {
        if (m.length >= 2 && m[0] === q[0] && m[1] === q[1]) finish(new Uint8Array(m));
      });
      for (const u of mine) {
        try {
          s.send(q, u.port, u.host);
        } catch {
          // An address the socket refuses outright.
        }
      }
    }
    if (sockets.length === 0) finish(undefined);
  });
}

/** Over TCP the upstreams are asked in turn, each for what is left of the deadline, until one answers. */
export async function forwardTcp(q: Uint8Array, ups: readonly Upstream[], deadlineMs: number): Promise<Uint8Array | undefined> {
  const end = Date.now() + deadlineMs;
  for (const u of ups) {
    const left = end - Date.now();
    if (left <= 0) break;
    const r = await askTcp(q, u, left);
    if (r) return r;
  }
  return undefined;
}

function askTcp(q: Uint8Array, u: Upstream, deadlineMs: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let buf: Buffer = Buffer.alloc(0);
    let c: ReturnType<typeof connect>;
    try {
      c = connect(u.port, u.host);
    } catch {
      return resolve(undefined);
    }
    const finish = (r: Uint8Array | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), deadlineMs);
    c.on("error", () => finish(undefined));
    c.on("connect", () => {
      const f = Buffer.alloc(2 + q.length);
      f.writeUInt16BE(q.length, 0);
      f.set(q, 2);
      c.write(f);
    });
    c.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
    c.on("close", () => finish(undefined));
  });
}
