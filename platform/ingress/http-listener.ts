/**
 * One HTTP ingress port: accepts connections (plain TCP, or TLS with the
 * certificate chosen by SNI), reads a PROXY header first from trusted load
 * balancers (on TLS ports too: tls-accept.ts), and runs an HttpSession per
 * connection. A one-second sweep
 * closes idle keep-alive connections and times out silent backends.
 */
import net from "node:net";
import tls from "node:tls";
import { inAnyCidr, type Cidr } from "../../core/ingress/address.ts";
import type { CertStore } from "./certs.ts";
import { HttpSession, type HttpProxyConfig } from "./http-proxy.ts";
import { headerClient, readProxyHeader } from "./proxy-accept.ts";
import { listenTcp, plainAddress, wrapNodeSocket, type Conn, type TcpListener } from "./sockets.ts";
import { acceptProxiedTls } from "./tls-accept.ts";

export interface HttpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly proxy: HttpProxyConfig;
  /** Peers whose PROXY protocol header is read (and required); plain HTTP ports only. */
  readonly acceptProxyFrom: readonly Cidr[];
  /** Serve HTTPS with these certificates (chosen by SNI). */
  readonly tls?: CertStore;
}

export class HttpListener {
  private sessions = new Set<HttpSession>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private tcp: TcpListener | undefined;

  private constructor(private readonly opts: HttpListenerOptions) {}

  static async open(opts: HttpListenerOptions): Promise<HttpListener> {
    const l = new HttpListener(opts);
    if (opts.tls) {
      const certs = opts.tls;
      const srv = tls.createServer({ SNICallback: certs.sniCallback(), ALPNProtocols: ["http/1.1"] }, (s) => l.start(wrapNodeSocket(s), undefined));
      srv.on("tlsClientError", () => {});
      // With load balancers that send PROXY first, a plain listener reads their header before TLS starts.
      const lbs = opts.acceptProxyFrom;
      const front: net.Server =
        lbs.length === 0
          ? srv
          : net.createServer((sock) => {
              if (!inAnyCidr(lbs, plainAddress(sock.remoteAddress))) srv.emit("connection", sock);
              else acceptProxiedTls(sock, certs, 5_000, (t, client) => l.start(wrapNodeSocket(t), client));
            });
      await new Promise<void>((resolve, reject) => {
        front.once("error", reject);
        front.listen({ host: opts.host, port: opts.port, exclusive: true }, () => {
          front.off("error", reject);
          resolve();
        });
      });
      const addr = front.address();
      l.tcp = { port: typeof addr === "object" && addr ? addr.port : opts.port, close: () => front.close() };
    } else {
      l.tcp = await listenTcp(opts.host, opts.port, (c) => l.accept(c));
    }
    l.timer = setInterval(() => l.sweep(), 1000);
    l.timer.unref?.();
    return l;
  }

  get port(): number {
    return this.tcp?.port ?? this.opts.port;
  }

  /** Runs a connection (also TLS connections after their handshake). */
  accept(c: Conn): void {
    if (inAnyCidr(this.opts.acceptProxyFrom, c.remoteAddress)) {
      readProxyHeader(c, 5_000, (h) => this.start(c, headerClient(h)?.address));
      return;
    }
    this.start(c, undefined);
  }

  private start(c: Conn, peer: string | undefined): void {
    const s = new HttpSession(c, this.opts.proxy, peer);
    this.sessions.add(s);
  }

  private sweep(): void {
    const now = this.opts.proxy.now();
    for (const s of this.sessions) {
      if (s.closed) this.sessions.delete(s);
      else s.tick(now);
    }
    this.opts.proxy.pool.sweep(now);
  }

  connections(): number {
    let n = 0;
    for (const s of this.sessions) if (!s.closed) n++;
    return n;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.tcp?.close();
  }
}
