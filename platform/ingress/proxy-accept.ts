/**
 * Reads the PROXY protocol header a trusted load balancer sends first, then
 * hands the connection on with the client address it names (v2 LOCAL and
 * UNKNOWN keep the socket's). A connection whose header is missing, malformed
 * or late is closed: from a peer configured to send one, anything else means
 * a misconfiguration, and guessing would hide the client.
 */
import { decodeProxyHeader, type ProxyEndpoint, type ProxyHeader } from "../../core/ingress/proxy-protocol.ts";
import type { Conn } from "./sockets.ts";

/** The client a header names (undefined for LOCAL and UNKNOWN: use the socket's). */
export function headerClient(h: ProxyHeader): ProxyEndpoint | undefined {
  return h.command === "proxy" && h.transport !== "unknown" ? h.source : undefined;
}

export function readProxyHeader(c: Conn, timeoutMs: number, done: (header: ProxyHeader) => void): void {
  let buf = new Uint8Array(0);
  const timer = setTimeout(() => c.destroy(), timeoutMs);
  c.setHandlers({
    onData(d) {
      const all = new Uint8Array(buf.length + d.length);
      all.set(buf);
      all.set(d, buf.length);
      buf = all;
      const r = decodeProxyHeader(buf);
      if (r.kind === "need-more") return;
      clearTimeout(timer);
      if (r.kind === "invalid") {
        c.destroy();
        return;
      }
      const rest = r.length < buf.length ? buf.subarray(r.length) : undefined;
      // What came after the header goes to whoever takes the connection next.
      if (rest) c.prepend(rest);
      done(r.header);
    },
    onDrain() {},
    onEnd() {
      clearTimeout(timer);
      c.destroy();
    },
    onClose() {
      clearTimeout(timer);
    },
  });
}

