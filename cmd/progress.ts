/**
 * `--progress auto|tty|plain|quiet|json` for up, pull, build, down (and the
 * steps run/watch/create take), as Compose v2 offers it. Executor step
 * events (typed, never parsed from text) feed a ProgressView
 * (core/progress); the mode decides how it is shown:
 * - tty: a block redrawn in place, one row per object with a spinner,
 *   elapsed time, a byte bar for pulls and the last build line;
 * - plain: one line per finished step, build output as `image | line`;
 * - json: one JSON object per event, for tools;
 * - quiet: failures only;
 * - auto: tty when stderr is a terminal (and not CI / TERM=dumb), else plain.
 */
import { usageError } from "../core/errors.ts";
import { reasonText } from "../core/reconcile/describe.ts";
import { readStepProgress, stepSubject, STEP_DONE, STEP_OBJECT } from "../core/reconcile/progress.ts";
import type { EventRecord } from "../platform/store/index.ts";
import type { Step } from "../core/reconcile/types.ts";
import { ProgressView, ttyLines, type ProgressInput } from "../core/progress/index.ts";
import type { StepEvent } from "../platform/deploy/executor.ts";
import { optString, type Options } from "./command.ts";
import { paint, type Context } from "./context.ts";

export const PROGRESS_MODES = ["auto", "tty", "plain", "quiet", "json"] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export const PROGRESS_FLAG = ["--progress <mode>", "How to show progress: auto (default), tty, plain, quiet or json"] as const;

export function progressMode(options: Options, env: NodeJS.ProcessEnv = process.env): Exclude<ProgressMode, "auto"> {
  const raw = optString(options, "progress") ?? env.COMPOSE_PROGRESS ?? "auto";
  if (!(PROGRESS_MODES as readonly string[]).includes(raw)) throw usageError(`unknown progress mode '${raw}'`, `use one of: ${PROGRESS_MODES.join(", ")}`);
  if (raw !== "auto") return raw as Exclude<ProgressMode, "auto">;
  const ci = env.CI === "true" || env.CI === "1";
  return process.stderr.isTTY === true && env.TERM !== "dumb" && !ci ? "tty" : "plain";
}

const WORKING: Record<Step["kind"], string> = {
  createNetwork: "Creating",
  removeNetwork: "Removing",
  createVolume: "Creating",
  removeVolume: "Removing",
  pullImage: "Pulling",
  buildImage: "Building",
  createContainer: "Creating",
  startContainer: "Starting",
  stopContainer: "Stopping",
  renameContainer: "Renaming",
  removeContainer: "Removing",
  waitFor: "Waiting",
  barrier: "Waiting",
};
/** Executor events as view inputs (a recreate's rename and removal are not shown: the row is the container's). */
export function toInputs(e: StepEvent, at: number): ProgressInput[] {
  if (e.type === "rollback") return [{ type: "note", text: `Rolled back ${e.what}`, at }];
  const step = e.step;
  // The row is the container's: a recreate's rename, and its removal of the old one (after the new one started), are not shown.
  if (step.kind === "renameContainer" || (step.kind === "removeContainer" && step.reason.code === "recreate")) return [];
  const id = `${STEP_OBJECT[step.kind]} ${stepSubject(step)}`;
  switch (e.type) {
    case "start":
      return [{ type: "start", id, text: step.kind === "waitFor" ? `Waiting (${step.condition === "service_healthy" ? "healthy" : "completed"})` : WORKING[step.kind], at }];
    case "progress":
      return e.bytes ? [{ type: "bytes", id, layer: e.bytes.layer, status: e.bytes.status, ...(e.bytes.current !== undefined ? { current: e.bytes.current } : {}), ...(e.bytes.total !== undefined ? { total: e.bytes.total } : {}), at }] : e.line ? [{ type: "line", id, line: e.line, at }] : [];
    case "done": {
      const text = step.kind === "waitFor" ? (step.condition === "service_healthy" ? "Healthy" : step.condition === "service_started" ? "Started" : "Completed") : STEP_DONE[step.kind];
      const note = step.kind === "createContainer" && step.replaces ? `recreated: ${reasonText(step.reason)}` : undefined;
      return [{ type: "done", id, text, at, ...(note ? { note } : {}) }];
    }
    case "failed":
      return [{ type: "failed", id, text: e.error.message, at }];
  }
}

const RECREATED = new Set(["config-changed", "image-changed", "force-recreate", "dependency-recreated", "address-changed"]);

/**
 * The agent's events of a change as view inputs: its steps carry the same
 * StepProgress (core/reconcile/progress.ts) as data; a failed change that is
 * reverted, and a change still waiting for other nodes, say so as notes.
 * Nothing is parsed out of message text.
 */
export function agentInputs(e: EventRecord): ProgressInput[] {
  const at = e.at;
  if (e.type === "deployment.reverted" || e.type === "deployment.waiting") return [{ type: "note", text: e.message, at }];
  const p = readStepProgress((e.data as { step?: unknown } | undefined)?.step);
  if (!p || p.kind === "renameContainer" || (p.kind === "removeContainer" && p.reason.code === "recreate")) return [];
  const id = `${STEP_OBJECT[p.kind]} ${p.subject}`;
  if (p.status === "failed") return [{ type: "failed", id, text: p.error?.message ?? "failed", at }];
  const text = p.kind === "waitFor" ? (p.condition === "service_healthy" ? "Healthy" : p.condition === "service_started" ? "Started" : p.condition ? "Completed" : STEP_DONE[p.kind]) : STEP_DONE[p.kind];
  const note = p.kind === "createContainer" && (p.replaces || RECREATED.has(p.reason.code)) ? `recreated: ${reasonText(p.reason)}` : undefined;
  return [{ type: "done", id, text, at, ...(note ? { note } : {}) }];
}

export interface ProgressRenderer {
  readonly onEvent: (e: StepEvent) => void;
  /** Inputs made elsewhere (the agent's events of a change, through `agentInputs`). */
  readonly onInputs: (inputs: readonly ProgressInput[]) => void;
  /** Draws the final state and stops redrawing (call once the operation ends). */
  finish(): void;
}

export function progressRenderer(ctx: Context, mode: Exclude<ProgressMode, "auto">, now: () => number = Date.now): ProgressRenderer {
  const view = new ProgressView();
  const paintIt = (code: string, s: string) => paint(ctx, code, s);
  const ok = paint(ctx, "32", "✔");
  const bad = paint(ctx, "31", "✘");
  if (mode === "json") {
    const feed = (inputs: readonly ProgressInput[]) => {
      for (const i of inputs) ctx.err(`${JSON.stringify(i)}\n`);
    };
    return { onEvent: (e) => feed(toInputs(e, now())), onInputs: feed, finish: () => {} };
  }
  if (mode === "quiet" || mode === "plain") {
    const feed = (inputs: readonly ProgressInput[]) => {
      for (const i of inputs) {
        const row = view.apply(i);
        if (i.type === "failed") ctx.err(` ${bad} ${i.id.padEnd(34)} ${i.text}\n`);
        if (mode === "quiet") continue;
        if (i.type === "note") ctx.err(` ${paint(ctx, "33", "↺")} ${i.text}\n`);
        else if (i.type === "done") ctx.err(` ${ok} ${i.id.padEnd(34)} ${i.text}${i.note ? paint(ctx, "2", ` (${i.note})`) : ""}\n`);
        else if (i.type === "line" && row) ctx.err(`   ${row.id.replace(/^Image /, "")} | ${i.line}\n`);
        else if (i.type === "bytes" && /complete/i.test(i.status)) ctx.err(`   ${i.id.replace(/^Image /, "")} | ${i.layer} ${i.status}\n`);
      }
    };
    return { onEvent: (e) => feed(toInputs(e, now())), onInputs: feed, finish: () => {} };
  }
  // tty: the block of rows is redrawn in place; notes go above it.
  let drawn = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const width = () => Math.max(60, process.stderr.columns ?? 100);
  const draw = () => {
    const lines = ttyLines(view, now(), width(), paintIt);
    let out = drawn ? `\x1b[${drawn}F\x1b[0J` : "";
    while (view.notes.length) out += ` ${paint(ctx, "33", "↺")} ${view.notes.shift()}\n`;
    out += lines.map((l) => `${l}\n`).join("");
    drawn = lines.length;
    ctx.err(out);
  };
  const feed = (inputs: readonly ProgressInput[], now: boolean) => {
    for (const i of inputs) view.apply(i);
    if (!inputs.length) return;
    timer ??= setInterval(draw, 100);
    if (now) draw();
  };
  return {
    // Bytes and build lines arrive fast: the timer redraws; state changes show at once.
    onEvent: (e) => feed(toInputs(e, now()), e.type !== "progress"),
    onInputs: (inputs) => feed(inputs, true),
    finish: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (view.rows().length || view.notes.length) draw();
    },
  };
}
