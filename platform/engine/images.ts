/**
 * Image calls: list, inspect, exists, pull (progress as an async iterator),
 * build from a context directory, tag, remove. A pull or build that fails
 * mid-stream (the engine reports `error` inside a 200 answer) throws the same
 * FizzError as an up-front failure.
 */
import { engineHttpError } from "../../core/engine/errors.ts";
import { isFizzError } from "../../core/errors.ts";
import type { Transport } from "./transport.ts";
import { encodeFilters, type FilterInput } from "./filters.ts";
import { packContext } from "./build-context.ts";
import { jsonValues } from "./streams.ts";
import type { ImageDeleteItem, ImageInspect, ImageSummary, Labels, ProgressEvent } from "./types.ts";

const subject = (name: string) => ({ kind: "image" as const, name });
/** Image names keep their slashes in the path (the engine routes `/images/{name:.*}/json`). */
const refPath = (ref: string) => ref.split("/").map(encodeURIComponent).join("/");

/** Splits "repo:tag" / "repo@digest" for the pull query; a bare repo means :latest. */
export function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

export type { PullPolicy } from "../../core/reconcile/types.ts";
import type { PullPolicy } from "../../core/reconcile/types.ts";

export interface BuildOptions {
  /** Name:tag for the result. */
  readonly tag?: string;
  readonly dockerfile?: string;
  readonly buildArgs?: Record<string, string>;
  readonly labels?: Labels;
  readonly target?: string;
  readonly pull?: boolean;
  readonly noCache?: boolean;
  readonly signal?: AbortSignal;
}

function streamError(ev: ProgressEvent, ctx: { action: string; ref: string }, path: string) {
  const msg = ev.errorDetail?.message ?? ev.error ?? "unknown error";
  return engineHttpError(ev.errorDetail?.code && ev.errorDetail.code >= 400 ? ev.errorDetail.code : 500, msg, {
    method: "POST",
    path,
    action: ctx.action,
    subject: subject(ctx.ref),
  });
}

export class Images {
  constructor(private readonly t: Transport) {}

  list(opts: FilterInput & { all?: boolean } = {}): Promise<ImageSummary[]> {
    return this.t.json({ method: "GET", path: "/images/json", query: { all: opts.all, filters: encodeFilters(opts) }, ctx: { action: "list images" } });
  }

  inspect(ref: string): Promise<ImageInspect> {
    return this.t.json({ method: "GET", path: `/images/${refPath(ref)}/json`, ctx: { action: "inspect image", subject: subject(ref) } });
  }

  async exists(ref: string): Promise<boolean> {
    try {
      await this.inspect(ref);
      return true;
    } catch (e) {
      if (isFizzError(e) && (e.code === "engine.image_not_found" || e.code === "engine.not_found")) return false;
      throw e;
    }
  }

  /** Pulls `ref`, yielding progress; throws when the pull fails. */
  async *pull(ref: string, opts: { signal?: AbortSignal; platform?: string } = {}): AsyncGenerator<ProgressEvent> {
    const { repo, tag } = splitRef(ref);
    const res = await this.t.stream({
      method: "POST",
      path: "/images/create",
      query: { fromImage: repo, tag, platform: opts.platform },
      signal: opts.signal,
      headersTimeoutMs: 120_000,
      ctx: { action: "pull image", subject: subject(ref) },
    });
    for await (const ev of jsonValues<ProgressEvent>(res.body)) {
      if (ev.error || ev.errorDetail) throw streamError(ev, { action: "pull image", ref }, "/images/create");
      yield ev;
    }
  }

  /** Builds the context directory, yielding build output; the last event with `aux.ID` carries the image ID. */
  async *build(contextDir: string, opts: BuildOptions = {}): AsyncGenerator<ProgressEvent> {
    const ref = opts.tag ?? contextDir;
    const res = await this.t.stream({
      method: "POST",
      path: "/build",
      query: {
        t: opts.tag,
        dockerfile: opts.dockerfile,
        buildargs: opts.buildArgs ? JSON.stringify(opts.buildArgs) : undefined,
        labels: opts.labels ? JSON.stringify(opts.labels) : undefined,
        target: opts.target,
        pull: opts.pull,
        nocache: opts.noCache,
        rm: true,
        // Failed steps leave their container behind unless forced.
        forcerm: true,
      },
      body: packContext(contextDir, opts.dockerfile),
      contentType: "application/x-tar",
      signal: opts.signal,
      headersTimeoutMs: 0,
      ctx: { action: "build image", subject: subject(ref) },
    });
    for await (const ev of jsonValues<ProgressEvent>(res.body)) {
      if (ev.error || ev.errorDetail) throw streamError(ev, { action: "build image", ref }, "/build");
      yield ev;
    }
  }

  /**
   * Makes sure `ref` is on the engine under a compose `pull_policy`:
   * "missing" pulls only when absent, "always" pulls anyway, "never" and
   * "build" never pull and fail with a hint that says so.
   */
  async ensure(
    ref: string,
    policy: PullPolicy = "missing",
    opts: { signal?: AbortSignal; onProgress?: (ev: ProgressEvent) => void } = {},
  ): Promise<"present" | "pulled"> {
    if (policy !== "always" && (await this.exists(ref))) return "present";
    if (policy === "never" || policy === "build") {
      throw engineHttpError(404, `No such image: ${ref}`, {
        method: "GET",
        path: `/images/${ref}/json`,
        action: "find image",
        subject: subject(ref),
        pull: policy,
      });
    }
    for await (const ev of this.pull(ref, opts.signal ? { signal: opts.signal } : {})) opts.onProgress?.(ev);
    return "pulled";
  }

  async tag(ref: string, repo: string, tag: string): Promise<void> {
    await this.t.empty({ method: "POST", path: `/images/${refPath(ref)}/tag`, query: { repo, tag }, ctx: { action: "tag image", subject: subject(ref) } });
  }

  remove(ref: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    return this.t.json({
      method: "DELETE",
      path: `/images/${refPath(ref)}`,
      query: { force: opts.force, noprune: opts.noPrune },
      ctx: { action: "remove image", subject: subject(ref) },
    });
  }
}
