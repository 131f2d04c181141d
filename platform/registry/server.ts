/**
 * Listens for the registry on a TCP address (node:http), optionally with
 * TLS (node:https) for listeners that leave the machine. Connections are
 * tracked so close() ends them rather than waiting for idle keep-alives.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";

export interface ListenOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer; readonly ca?: string | Buffer; readonly requestCert?: boolean };
}

export interface RegistryListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenRegistry(handler: (req: IncomingMessage, res: ServerResponse) => void, o: ListenOptions): Promise<RegistryListener> {
  const server: Server = o.tls
    ? (createHttpsServer({ cert: o.tls.cert, key: o.tls.key, ...(o.tls.ca ? { ca: o.tls.ca } : {}), ...(o.tls.requestCert ? { requestCert: true, rejectUnauthorized: true } : {}) }, handler) as unknown as Server)
    : createHttpServer(handler);
  // Blobs take as long as they take; only idle connections time out.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  return {
    host: o.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
