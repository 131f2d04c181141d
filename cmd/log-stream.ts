/**
 * Multiplexes the logs of a project's containers onto stdout with coloured
 * `name  | ` prefixes, line by line. With `follow`, containers that appear or
 * restart later (health restarts, recreates) are picked up again, resuming
 * from where their previous stream ended.
 */
import { LABEL, projectFilter } from "../core/labels.ts";
import type { Engine } from "../platform/engine/index.ts";
import type { Context } from "./context.ts";

export interface LogStreamOptions {
  project: string;
  services?: readonly string[];
  follow: boolean;
  tail?: number | "all";
  since?: string;
  timestamps?: boolean;
  prefix: boolean;
  signal: AbortSignal;
  /** Only containers whose state is one of these (default: any). */
  onlyRunning?: boolean;
}

const COLORS = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/** Resolves with how many containers' streams ended in an error (each one said so on stderr). */
export async function streamLogs(ctx: Context, engine: Engine, o: LogStreamOptions): Promise<number> {
  const active = new Map<string, Promise<void>>();
  let failed = 0;
  const resumeAt = new Map<string, number>(); // container id → unix seconds to resume from
  const colorOf = new Map<string, string>();
  let width = 0;

  const list = async () => {
    const cs = await engine.containers.list({ all: true, labels: projectFilter(o.project) });
    return cs
      .filter((c) => !o.services?.length || o.services.includes(c.Labels?.[LABEL.service] ?? ""))
      .filter((c) => c.Labels?.[LABEL.oneoff] !== "True")
      .sort((a, b) => (a.Names[0] ?? "").localeCompare(b.Names[0] ?? ""));
  };

  const follow = (id: string, name: string, service: string, running: boolean) => {
    if (!colorOf.has(service)) colorOf.set(service, COLORS[colorOf.size % COLORS.length]!);
    width = Math.max(width, name.length);
    const prefix = () => (o.prefix ? `${ctx.global.color ? `\x1b[${colorOf.get(service)}m` : ""}${name.padEnd(width)}  |${ctx.global.color ? "\x1b[0m" : ""} ` : "");
    const since = resumeAt.get(id);
    const p = (async () => {
      let pending = "";
      try {
        for await (const frame of engine.containers.logs(id, {
          follow: o.follow && running,
          ...(since !== undefined ? { since } : o.since !== undefined ? { since: o.since } : {}),
          ...(since === undefined && o.tail !== undefined ? { tail: o.tail } : {}),
          ...(o.timestamps ? { timestamps: true } : {}),
          signal: o.signal,
        })) {
          pending += Buffer.from(frame.data).toString("utf8");
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            ctx.out(`${prefix()}${pending.slice(0, nl)}\n`);
            pending = pending.slice(nl + 1);
          }
        }
      } catch (e) {
        if (!o.signal.aborted) {
          failed++;
          ctx.err(`${name}: log stream ended: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      } finally {
        if (pending) ctx.out(`${prefix()}${pending}\n`);
        resumeAt.set(id, Math.floor(Date.now() / 1000) + 1);
        active.delete(id);
      }
    })();
    active.set(id, p);
  };

  const sweep = async () => {
    for (const c of await list()) {
      if (active.has(c.Id)) continue;
      const running = String(c.State).toLowerCase() === "running";
      // First pass shows every container's history; later passes only pick up (re)started ones.
      if (resumeAt.has(c.Id) && !running) continue;
      if (o.onlyRunning && !running && resumeAt.has(c.Id)) continue;
      follow(c.Id, (c.Names[0] ?? c.Id).replace(/^\//, ""), c.Labels?.[LABEL.service] ?? "", running);
    }
  };

  await sweep();
  if (!o.follow) {
    await Promise.all(active.values());
    return failed;
  }
  while (!o.signal.aborted) {
    await new Promise((r) => setTimeout(r, 1000));
    if (o.signal.aborted) break;
    await sweep().catch(() => {});
  }
  await Promise.allSettled(active.values());
  return failed;
}
