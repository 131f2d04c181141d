/**
 * An open connection to one engine: ping, negotiate the API version, then
 * typed calls grouped by object (images, containers, exec, networks, volumes)
 * and the event stream.
 */
import { engineApiVersionError, engineHttpError, type EngineName } from "../../core/engine/errors.ts";
import { negotiateApiVersion } from "../../core/engine/api-version.ts";
import { existsSync } from "node:fs";
import { isFizzError } from "../../core/errors.ts";
import { candidateEndpoints, detectEndpoint, type DetectOptions, type EngineEndpoint } from "./detect.ts";
import { Transport, type TransportOptions } from "./transport.ts";
import { Containers } from "./containers.ts";
import { Exec } from "./exec.ts";
import { Images } from "./images.ts";
import { Networks } from "./networks.ts";
import { Volumes } from "./volumes.ts";
import { engineEvents, type EventsOptions } from "./events.ts";
import type { EngineEvent, PingResult, SystemInfo, VersionInfo } from "./types.ts";

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Podman announces itself in /_ping; everything else speaking the API we call Docker. */
export function engineNameFromPing(p: PingResult): EngineName {
  return p.libpodApiVersion !== undefined || /^libpod\//i.test(p.server ?? "") ? "podman" : "docker";
}

export class Engine {
  readonly images: Images;
  readonly containers: Containers;
  readonly exec: Exec;
  readonly networks: Networks;
  readonly volumes: Volumes;

  constructor(
    readonly transport: Transport,
    /** What the engine is, from its /_ping answer. */
    readonly name: EngineName,
    readonly apiVersion: string,
    readonly pingResult: PingResult,
  ) {
    this.images = new Images(transport);
    this.containers = new Containers(transport, name);
    this.exec = new Exec(transport);
    this.networks = new Networks(transport);
    this.volumes = new Volumes(transport);
  }

  get endpoint(): EngineEndpoint {
    return this.transport.endpoint;
  }

  ping(signal?: AbortSignal): Promise<PingResult> {
    return ping(this.transport, signal);
  }

  version(): Promise<VersionInfo> {
    return this.transport.json({ method: "GET", path: "/version", ctx: { action: "read the engine version" } });
  }

  info(): Promise<SystemInfo> {
    return this.transport.json({ method: "GET", path: "/info", ctx: { action: "read engine info" } });
  }

  events(opts: EventsOptions = {}): AsyncGenerator<EngineEvent> {
    return engineEvents(this.transport, opts);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

export async function ping(t: Transport, signal?: AbortSignal): Promise<PingResult> {
  const res = await t.raw({ method: "GET", path: "/_ping", unversioned: true, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, ...(signal ? { signal } : {}) });
  try {
    await res.body.dump();
  } catch {
    /* the headers are what we need */
  }
  const result: PingResult = {
    apiVersion: header(res.headers, "api-version"),
    os: header(res.headers, "ostype"),
    server: header(res.headers, "server"),
    libpodApiVersion: header(res.headers, "libpod-api-version"),
  };
  if (res.status !== 200) {
    throw engineHttpError(res.status, `ping answered HTTP ${res.status}`, { method: "GET", path: "/_ping", action: "ping the engine" });
  }
  return result;
}

export interface ConnectOptions extends DetectOptions, TransportOptions {
  /** Use this endpoint instead of detecting one. */
  readonly endpoint?: EngineEndpoint;
  /** Try these in order instead of the auto-detected list; the first that answers wins. */
  readonly candidates?: readonly EngineEndpoint[];
}

/** Finds the engine, pings it and negotiates the API version. Throws a FizzError when it cannot. */
export async function connectEngine(opts: ConnectOptions = {}): Promise<Engine> {
  if (opts.endpoint) return connectTo(opts.endpoint, opts);
  const [first, ...rest] = opts.candidates ?? autoCandidates(opts);
  if (!first) throw new Error("connectEngine: empty candidate list");
  try {
    return await connectTo(first, opts);
  } catch (e) {
    if (!isFizzError(e) || e.code !== "engine.unreachable") throw e;
    for (const c of rest) {
      try {
        return await connectTo(c, opts);
      } catch {
        /* keep the first error: it names the engine the user most likely meant */
      }
    }
    throw e;
  }
}

/**
 * The endpoint to use, then (only when auto-detecting) the other well-known
 * sockets that exist: a stale socket file left by a dead engine should not
 * hide a live engine at the next path.
 */
function autoCandidates(opts: DetectOptions): EngineEndpoint[] {
  const first = detectEndpoint(opts);
  if (first.source !== "default") return [first];
  const exists = opts.exists ?? existsSync;
  return [first, ...candidateEndpoints(opts).filter((c) => c.address !== first.address && c.transport === "unix" && exists(c.socketPath))];
}

async function connectTo(endpoint: EngineEndpoint, opts: TransportOptions): Promise<Engine> {
  const t = new Transport(endpoint, opts);
  try {
    const p = await ping(t);
    const v = negotiateApiVersion(p.apiVersion);
    if (!v.ok) throw engineApiVersionError(v.reason, t.endpointInfo);
    t.apiVersion = v.version;
    return new Engine(t, engineNameFromPing(p), v.version, p);
  } catch (e) {
    t.destroy();
    throw e;
  }
}
