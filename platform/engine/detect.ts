/**
 * Which engine to talk to. In order: an explicit `--engine` (docker, podman,
 * or an address), then FIZZ_ENGINE (same values), then DOCKER_HOST, then the first socket that exists among
 * /var/run/docker.sock, /run/podman/podman.sock and
 * $XDG_RUNTIME_DIR/podman/podman.sock. Only looks at the file system; the
 * client pings the chosen endpoint.
 */
import { existsSync } from "node:fs";
import type { EngineName } from "../../core/engine/errors.ts";
import { usageError } from "../../core/errors.ts";

export type EngineEndpoint =
  | {
      readonly transport: "unix";
      readonly socketPath: string;
      readonly address: string;
      /** The engine we expect there (from --engine or the socket's well-known path). */
      readonly expected: EngineName | undefined;
      readonly source: EndpointSource;
    }
  | {
      readonly transport: "tcp";
      /** http://host:port */
      readonly origin: string;
      readonly address: string;
      readonly expected: EngineName | undefined;
      readonly source: EndpointSource;
    };

export type EndpointSource = "flag" | "FIZZ_ENGINE" | "DOCKER_HOST" | "default";

export interface DetectOptions {
  /** --engine: "docker", "podman", "unix:///path" or "tcp://host:port". */
  readonly engine?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** For tests: which paths exist. */
  readonly exists?: (path: string) => boolean;
  readonly uid?: number;
}

export const DOCKER_SOCKET = "/var/run/docker.sock";
export const PODMAN_ROOT_SOCKET = "/run/podman/podman.sock";

function unix(socketPath: string, expected: EngineName | undefined, source: EndpointSource): EngineEndpoint {
  return { transport: "unix", socketPath, address: `unix://${socketPath}`, expected, source };
}

/** Parses a DOCKER_HOST-style address. */
export function parseEngineAddress(addr: string, source: EndpointSource, expected?: EngineName): EngineEndpoint {
  const what = source === "flag" ? "--engine" : source;
  if (addr.startsWith("unix://")) {
    const path = addr.slice("unix://".length);
    if (!path.startsWith("/")) throw usageError(`${what} '${addr}' needs an absolute socket path`, "e.g. unix:///var/run/docker.sock");
    return unix(path, expected ?? guessEngine(path), source);
  }
  if (addr.startsWith("tcp://") || addr.startsWith("http://")) {
    let url: URL;
    try {
      url = new URL(addr.replace(/^tcp:/, "http:"));
    } catch {
      throw usageError(`${what} '${addr}' is not a valid address`, "e.g. tcp://127.0.0.1:2375");
    }
    const port = url.port || "2375";
    return { transport: "tcp", origin: `http://${url.hostname}:${port}`, address: `tcp://${url.hostname}:${port}`, expected, source };
  }
  if (addr.startsWith("https://") || addr.startsWith("ssh://") || addr.startsWith("npipe://")) {
    throw usageError(`${what} '${addr}': only unix:// and tcp:// engine addresses are supported`, "use a unix socket, or tcp:// through an SSH tunnel");
  }
  throw usageError(`${what} '${addr}' is not an engine address`, "use docker, podman, unix:///path/to.sock or tcp://host:port");
}

function guessEngine(path: string): EngineName | undefined {
  if (path.includes("podman")) return "podman";
  if (path.includes("docker")) return "docker";
  return undefined;
}

function podmanSockets(env: DetectOptions["env"], uid: number): string[] {
  const xdg = env?.XDG_RUNTIME_DIR ? `${env.XDG_RUNTIME_DIR}/podman/podman.sock` : undefined;
  const rootless = xdg ?? (uid > 0 ? `/run/user/${uid}/podman/podman.sock` : undefined);
  // Root uses the system socket first; a user their own.
  const list = uid === 0 ? [PODMAN_ROOT_SOCKET, rootless] : [rootless, PODMAN_ROOT_SOCKET];
  return list.filter((s): s is string => s !== undefined);
}

/** The endpoints to try, best first. The first is also the one named in errors when none exists. */
export function candidateEndpoints(opts: DetectOptions = {}): EngineEndpoint[] {
  const env = opts.env ?? process.env;
  const uid = opts.uid ?? (typeof process.getuid === "function" ? process.getuid() : 0);
  const flag = opts.engine?.trim();
  const engine = flag || env.FIZZ_ENGINE?.trim();
  if (engine) {
    const source: EndpointSource = flag ? "flag" : "FIZZ_ENGINE";
    if (engine === "docker") return [unix(DOCKER_SOCKET, "docker", source)];
    if (engine === "podman") return podmanSockets(env, uid).map((s) => unix(s, "podman", source));
    if (engine.includes("://")) return [parseEngineAddress(engine, source)];
    const what = flag ? "--engine" : "FIZZ_ENGINE";
    throw usageError(`unknown engine '${engine}' (${what})`, `use ${what} docker, podman, or an address like unix:///var/run/docker.sock`);
  }
  const host = env.DOCKER_HOST?.trim();
  if (host) return [parseEngineAddress(host, "DOCKER_HOST")];
  return [unix(DOCKER_SOCKET, "docker", "default"), ...podmanSockets(env, uid).map((s) => unix(s, "podman", "default"))];
}

/** Picks the endpoint: the first candidate whose socket exists, else the first candidate. */
export function detectEndpoint(opts: DetectOptions = {}): EngineEndpoint {
  const exists = opts.exists ?? existsSync;
  const candidates = candidateEndpoints(opts);
  return candidates.find((c) => c.transport === "tcp" || exists(c.socketPath)) ?? candidates[0]!;
}
