/**
 * Reads the PROXY protocol header a trusted load balancer sends first, then
 * hands the connection on with the client address it names (v2 LOCAL and
 * UNKNOWN keep the socket's). A connection whose header is missing, malformed
 * or late is closed: from a peer configured to send one, anything else means
 * a misconfiguration, and guessing would hide the client.
 */
import { decodeProxyHeader, type ProxyEndpoint } from "../../core/ingress/proxy-protocol.ts";
import type { Conn } from "./sockets.ts";

export function readProxyHeader(c: Conn, timeoutMs: number, done: (client: ProxyEndpoint | undefined) => void): void {
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
      const client = r.header.command === "proxy" && r.header.transport !== "unknown" ? r.header.source : undefined;
      const rest = r.length < buf.length ? buf.subarray(r.length) : undefined;
      // What came after the header goes to whoever takes the connection next.
      if (rest) c.prepend(rest);
      done(client);
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

