/**
 * TLS connections from a trusted load balancer that sends a PROXY protocol
 * header first: the header is read from the raw socket, then the TLS
 * handshake runs over the rest of the stream (whatever followed the header in
 * the same segment included). The certificate is chosen from the ClientHello's
 * server name read here (core/ingress/client-hello.ts): Bun's TLS server does
 * not call an SNI callback on a stream handed to it this way. A missing, bad
 * or late header, or a stream that is not TLS, closes the connection.
 */
import type net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { clientHelloServerName } from "../../core/ingress/client-hello.ts";
import { decodeProxyHeader } from "../../core/ingress/proxy-protocol.ts";
import type { CertStore } from "./certs.ts";
import { headerClient } from "./proxy-accept.ts";
import { plainAddress } from "./sockets.ts";

/** A duplex over `sock` that yields `head` first (bytes already read from it). */
function withHead(sock: net.Socket, head: Uint8Array): Duplex {
  const d = new Duplex({
    read() {
      sock.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      sock.write(chunk, cb);
    },
    final(cb) {
      sock.end();
      cb();
    },
    destroy(err, cb) {
      sock.destroy();
      cb(err);
    },
  });
  if (head.length > 0) d.push(head);
  sock.on("data", (c: Buffer) => {
    if (!d.push(c)) sock.pause();
  });
  sock.on("end", () => d.push(null));
  sock.on("close", () => d.destroy());
  sock.on("error", () => d.destroy());
  return d;
}

/**
 * Reads the PROXY header and the ClientHello, then hands the secured socket
 * and the client's address (from the header; the socket's own for LOCAL) to
 * `secured`.
 */
export function acceptProxiedTls(sock: net.Socket, certs: CertStore, timeoutMs: number, secured: (s: tls.TLSSocket, client: string) => void): void {
  let buf = new Uint8Array(0);
  let client: string | undefined;
  let headerLen = -1;
  const timer = setTimeout(() => sock.destroy(), timeoutMs);
  sock.on("error", () => {});
  sock.on("close", () => clearTimeout(timer));
  const onData = (d: Buffer) => {
    const all = new Uint8Array(buf.length + d.length);
    all.set(buf);
    all.set(d, buf.length);
    buf = all;
    if (headerLen < 0) {
      const h = decodeProxyHeader(buf);
      if (h.kind === "need-more") return;
      if (h.kind === "invalid") return void sock.destroy();
      headerLen = h.length;
      client = headerClient(h.header)?.address ?? plainAddress(sock.remoteAddress);
    }
    const rest = buf.subarray(headerLen);
    const hello = clientHelloServerName(rest);
    if (hello.kind === "need-more") return;
    sock.off("data", onData);
    sock.pause();
    clearTimeout(timer);
    const ctx = hello.kind === "ok" && hello.serverName !== undefined ? certs.lookup(hello.serverName) : undefined;
    if (!ctx) return void sock.destroy();
    const t = new tls.TLSSocket(withHead(sock, rest) as unknown as net.Socket, { isServer: true, secureContext: ctx, ALPNProtocols: ["http/1.1"] } as tls.TLSSocketOptions);
    t.on("error", () => t.destroy());
    t.once("secure", () => secured(t, client!));
  };
  sock.on("data", onData);
}
