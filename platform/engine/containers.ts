/**
 * Container calls: create, start, stop, kill, restart, remove, inspect, list
 * (by label), wait, logs and attach (decoded frames). 304 "already started /
 * already stopped" is success: callers converge on a state, they do not
 * toggle it.
 */
import type { EngineName } from "../../core/engine/errors.ts";
import type { Transport } from "./transport.ts";
import { encodeFilters, type FilterInput } from "./filters.ts";
import { interactive, outputFrames, type InteractiveStream, type OutputFrame } from "./streams.ts";
import type {
  ContainerCreateBody,
  ContainerCreateResult,
  ContainerInspect,
  ContainerSummary,
  ContainerWaitResult,
  ContainerTop,
  PathStat,
} from "./types.ts";

const id = (s: string) => encodeURIComponent(s);
const subject = (name: string) => ({ kind: "container" as const, name });

export interface LogsOptions {
  readonly follow?: boolean;
  readonly stdout?: boolean;
  readonly stderr?: boolean;
  /** Unix seconds (or a Docker duration string like "10m"). */
  readonly since?: number | string;
  readonly until?: number | string;
  readonly tail?: number | "all";
  readonly timestamps?: boolean;
  /** Whether the container has a TTY; looked up when not given. */
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
}

export interface AttachOptions {
  readonly stdout?: boolean;
  readonly stderr?: boolean;
  /** Replay output produced before attaching. */
  readonly logs?: boolean;
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
}

/** The grace a stop gives before SIGKILL when the service names none: Docker's and Compose's default. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/**
 * Podman's compatible API (4.3, Debian 12's) records a container created without
 * StopTimeout with a stop timeout of 0, so every stop (its own, a recreate, down)
 * kills it at once with no SIGTERM grace. Such a body gets Docker's default.
 */
export function withStopTimeout(body: ContainerCreateBody, engine: EngineName | undefined): ContainerCreateBody {
  return engine === "podman" && body.StopTimeout === undefined ? { ...body, StopTimeout: DEFAULT_STOP_TIMEOUT_S } : body;
}

export class Containers {
  constructor(
    private readonly t: Transport,
    private readonly engine?: EngineName,
  ) {}

  create(body: ContainerCreateBody, opts: { name?: string; signal?: AbortSignal } = {}): Promise<ContainerCreateResult> {
    return this.t.json<ContainerCreateResult>({
      method: "POST",
      path: "/containers/create",
      query: { name: opts.name },
      body: withStopTimeout(body, this.engine),
      signal: opts.signal,
      ctx: { action: "create container", image: body.Image, ...(opts.name ? { subject: subject(opts.name) } : {}) },
    });
  }

  async start(nameOrId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.t.empty({
      method: "POST",
      path: `/containers/${id(nameOrId)}/start`,
      okStatuses: [304],
      signal: opts.signal,
      ctx: { action: "start container", subject: subject(nameOrId) },
    });
  }

  /** Stops with SIGTERM, then SIGKILL after `timeout` seconds (engine default when unset). */
  async stop(nameOrId: string, opts: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.t.empty({
      method: "POST",
      path: `/containers/${id(nameOrId)}/stop`,
      query: { t: opts.timeout },
      okStatuses: [304],
      signal: opts.signal,
      // The engine answers only once the container is down.
      headersTimeoutMs: ((opts.timeout ?? 10) + 30) * 1000,
      ctx: { action: "stop container", subject: subject(nameOrId) },
    });
  }

  async restart(nameOrId: string, opts: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.t.empty({
      method: "POST",
      path: `/containers/${id(nameOrId)}/restart`,
      query: { t: opts.timeout },
      signal: opts.signal,
      headersTimeoutMs: ((opts.timeout ?? 10) + 30) * 1000,
      ctx: { action: "restart container", subject: subject(nameOrId) },
    });
  }

  /** Tells the container's TTY its window size. */
  async resize(nameOrId: string, size: { rows: number; columns: number }): Promise<void> {
    await this.t.empty({ method: "POST", path: `/containers/${id(nameOrId)}/resize`, query: { h: size.rows, w: size.columns }, ctx: { action: "resize container tty", subject: subject(nameOrId) } });
  }

  async kill(nameOrId: string, opts: { signal?: string } = {}): Promise<void> {
    await this.t.empty({
      method: "POST",
      path: `/containers/${id(nameOrId)}/kill`,
      query: { signal: opts.signal },
      ctx: { action: "kill container", subject: subject(nameOrId) },
    });
  }

  async remove(nameOrId: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.t.empty({
      method: "DELETE",
      path: `/containers/${id(nameOrId)}`,
      query: { force: opts.force, v: opts.volumes },
      headersTimeoutMs: 60_000,
      ctx: { action: "remove container", subject: subject(nameOrId) },
    });
  }

  async pause(nameOrId: string): Promise<void> {
    await this.t.empty({ method: "POST", path: `/containers/${id(nameOrId)}/pause`, ctx: { action: "pause container", subject: subject(nameOrId) } });
  }

  async unpause(nameOrId: string): Promise<void> {
    await this.t.empty({ method: "POST", path: `/containers/${id(nameOrId)}/unpause`, ctx: { action: "unpause container", subject: subject(nameOrId) } });
  }

  /** The processes running in the container, `ps` style (Titles + one row per process). */
  top(nameOrId: string, psArgs?: string): Promise<ContainerTop> {
    return this.t.json<ContainerTop>({
      method: "GET",
      path: `/containers/${id(nameOrId)}/top`,
      query: { ps_args: psArgs },
      ctx: { action: "list processes of container", subject: subject(nameOrId) },
    });
  }

  /** A tar stream of `path` in the container (a file or a directory, named by its last component). */
  async getArchive(nameOrId: string, path: string, opts: { signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => unknown }> {
    const res = await this.t.stream({
      method: "GET",
      path: `/containers/${id(nameOrId)}/archive`,
      query: { path },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ctx: { action: `copy ${path} out of container`, subject: subject(nameOrId) },
    });
    return res.body;
  }

  /** Unpacks a tar stream into directory `path` of the container (which must exist). */
  async putArchive(nameOrId: string, path: string, tar: Uint8Array | NodeJS.ReadableStream | import("tar-stream").Pack, opts: { copyUIDGID?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.t.empty({
      method: "PUT",
      path: `/containers/${id(nameOrId)}/archive`,
      query: { path, copyUIDGID: opts.copyUIDGID ? true : undefined },
      body: tar,
      contentType: "application/x-tar",
      ...(opts.signal ? { signal: opts.signal } : {}),
      headersTimeoutMs: 300_000,
      ctx: { action: `copy into ${path} of container`, subject: subject(nameOrId) },
    });
  }

  /** Stat of a path in the container (from the X-Docker-Container-Path-Stat header), or undefined when it does not exist. */
  async statPath(nameOrId: string, path: string): Promise<PathStat | undefined> {
    const res = await this.t.raw({ method: "HEAD", path: `/containers/${id(nameOrId)}/archive`, query: { path }, ctx: { action: `stat ${path} in container`, subject: subject(nameOrId) } });
    try {
      await res.body.dump();
    } catch {
      /* HEAD has no body */
    }
    if (res.status === 404) return undefined;
    const h = res.headers["x-docker-container-path-stat"];
    const raw = Array.isArray(h) ? h[0] : h;
    if (res.status >= 300 || !raw) {
      const { engineHttpError } = await import("../../core/engine/errors.ts");
      throw engineHttpError(res.status, `cannot stat ${path}`, { method: "HEAD", path: `/containers/${nameOrId}/archive`, action: `stat ${path} in container` });
    }
    return JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as PathStat;
  }

  inspect(nameOrId: string): Promise<ContainerInspect> {
    return this.t.json<ContainerInspect>({
      method: "GET",
      path: `/containers/${id(nameOrId)}/json`,
      ctx: { action: "inspect container", subject: subject(nameOrId) },
    });
  }

  /** Inspect, or undefined when there is no such container. */
  async find(nameOrId: string): Promise<ContainerInspect | undefined> {
    try {
      return await this.inspect(nameOrId);
    } catch (e) {
      if ((e as { code?: string }).code === "engine.not_found") return undefined;
      throw e;
    }
  }

  list(opts: FilterInput & { all?: boolean } = {}): Promise<ContainerSummary[]> {
    return this.t.json<ContainerSummary[]>({
      method: "GET",
      path: "/containers/json",
      query: { all: opts.all ?? false, filters: encodeFilters(opts) },
      ctx: { action: "list containers" },
    });
  }

  /** Waits until the container reaches `condition` (default: not running) and returns its exit code. */
  wait(
    nameOrId: string,
    opts: { condition?: "not-running" | "next-exit" | "removed"; signal?: AbortSignal } = {},
  ): Promise<ContainerWaitResult> {
    return this.t.json<ContainerWaitResult>({
      method: "POST",
      path: `/containers/${id(nameOrId)}/wait`,
      query: { condition: opts.condition },
      signal: opts.signal,
      headersTimeoutMs: 0,
      bodyTimeoutMs: 0,
      ctx: { action: "wait for container", subject: subject(nameOrId) },
    });
  }

  /** Log output as decoded frames; with `follow` it runs until the container stops or the signal aborts. */
  async *logs(nameOrId: string, opts: LogsOptions = {}): AsyncGenerator<OutputFrame> {
    const tty = opts.tty ?? (await this.inspect(nameOrId)).Config.Tty;
    const res = await this.t.stream({
      method: "GET",
      path: `/containers/${id(nameOrId)}/logs`,
      query: {
        follow: opts.follow ?? false,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        since: opts.since,
        until: opts.until,
        tail: opts.tail,
        timestamps: opts.timestamps,
      },
      signal: opts.signal,
      headersTimeoutMs: opts.follow ? 0 : undefined,
      ctx: { action: "read logs of container", subject: subject(nameOrId) },
    });
    yield* outputFrames(res.body, tty);
  }

  /** Live output of a running container (read-only attach). */
  async *attach(nameOrId: string, opts: AttachOptions = {}): AsyncGenerator<OutputFrame> {
    const tty = opts.tty ?? (await this.inspect(nameOrId)).Config.Tty;
    const res = await this.t.stream({
      method: "POST",
      path: `/containers/${id(nameOrId)}/attach`,
      query: { stream: true, stdout: opts.stdout ?? true, stderr: opts.stderr ?? true, logs: opts.logs ?? false },
      signal: opts.signal,
      headersTimeoutMs: 0,
      ctx: { action: "attach to container", subject: subject(nameOrId) },
    });
    yield* outputFrames(res.body, tty);
  }

  /**
   * Two-way attach to a container created with `OpenStdin` (and usually
   * `StdinOnce`): write to its stdin, read its output.
   */
  async attachInteractive(nameOrId: string, opts: AttachOptions & { stdin?: boolean } = {}): Promise<InteractiveStream> {
    const tty = opts.tty ?? (await this.inspect(nameOrId)).Config.Tty;
    const socket = await this.t.upgrade({
      method: "POST",
      path: `/containers/${id(nameOrId)}/attach`,
      query: { stream: true, stdin: opts.stdin ?? true, stdout: opts.stdout ?? true, stderr: opts.stderr ?? true, logs: opts.logs ?? false },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ctx: { action: "attach to container", subject: subject(nameOrId) },
    });
    return interactive(socket, tty);
  }
}

export type { OutputFrame };
