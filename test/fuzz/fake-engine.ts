/**
 * A Docker-API endpoint that owns nothing, for fuzzing the agent without
 * creating real containers: it answers the pings, version, info and (empty)
 * lists an agent starts with, keeps an event stream open, and refuses
 * everything else the way Docker does for an image no registry has (404 with
 * a message). A fuzzed deployment that validates is stored and then fails to
 * pull, as it would on a machine without a registry.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface FakeEngine {
  readonly socket: string;
  /** Requests seen, by "METHOD /path" without the version prefix and query. */
  readonly seen: Map<string, number>;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "api-version": "1.45" });
  res.end(text);
};

export async function startFakeEngine(socket: string): Promise<FakeEngine> {
  const seen = new Map<string, number>();
  const streams = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!.replace(/^\/v\d+\.\d+/, "");
    const key = `${req.method} ${path.replace(/^\/(images|containers|networks|volumes)\/[^/]+(\/.*)?$/, "/$1/{id}$2")}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    req.resume();
    if (path === "/_ping") {
      res.writeHead(200, { "api-version": "1.45", server: "Docker/26.1.5 (linux)", ostype: "linux", "content-type": "text/plain" });
      return void res.end(req.method === "HEAD" ? undefined : "OK");
    }
    if (req.method === "GET" && path === "/version") return json(res, 200, { Version: "26.1.5", ApiVersion: "1.45", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64" });
    if (req.method === "GET" && path === "/info") return json(res, 200, { ID: "FUZZ:ENGINE:0000", Name: "fuzz-engine", NCPU: 2, MemTotal: 8 * 1024 ** 3, OperatingSystem: "fuzz", ServerVersion: "26.1.5", Labels: [] });
    if (req.method === "GET" && (path === "/containers/json" || path === "/networks" || path === "/images/json")) return json(res, 200, []);
    if (req.method === "GET" && path === "/volumes") return json(res, 200, { Volumes: [], Warnings: null });
    if (req.method === "GET" && path === "/events") {
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      streams.add(res);
      res.on("close", () => streams.delete(res));
      return;
    }
    if (path === "/images/create") return json(res, 404, { message: "pull access denied for fuzz, repository does not exist or may require 'docker login'" });
    if (path.startsWith("/images/")) return json(res, 404, { message: `No such image: ${decodeURIComponent(path.slice(8).replace(/\/json$/, ""))}` });
    return json(res, 404, { message: "fake engine: no such object" });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of streams) s.destroy();
        server.close(() => r());
      }),
  };
}
