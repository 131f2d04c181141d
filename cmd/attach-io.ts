/**
 * Wires this terminal (or pipe) to a container's main process, as `docker
 * run`/`compose run` and `attach` do: attach before start so no output is
 * lost, stdin forwarded (raw mode and window size with a TTY; EOF passed on),
 * stdout and stderr kept apart without a TTY, SIGINT/SIGTERM passed to the
 * container, and the process's exit code returned.
 */
import type { Engine } from "../platform/engine/index.ts";

export interface AttachIo {
  tty: boolean;
  /** Forward our stdin to the container. */
  stdin: boolean;
  /** Pass SIGINT/SIGTERM on to the container (default true); otherwise they only detach us. */
  signals?: boolean;
}

/** Attaches, starts the container when `start` (a created one), pumps I/O until it exits; returns its exit code. */
export async function attachAndWait(engine: Engine, id: string, io: AttachIo, start = true): Promise<number> {
  const stream = await engine.containers.attachInteractive(id, { tty: io.tty, stdin: io.stdin });
  const stdin = process.stdin;
  const resize = () => {
    const { columns, rows } = process.stdout;
    if (columns && rows) void engine.containers.resize(id, { rows, columns }).catch(() => {});
  };
  const forward = (sig: NodeJS.Signals) => () => void engine.containers.kill(id, { signal: sig }).catch(() => {});
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  const onData = (d: Buffer) => void stream.write(d).catch(() => {});
  const onEnd = () => stream.end();
  if (io.stdin) {
    if (io.tty) stdin.setRawMode?.(true);
    stdin.on("data", onData);
    stdin.once("end", onEnd);
    stdin.resume();
  }
  const detach = new AbortController();
  const onDetach = () => detach.abort();
  if (!io.tty && io.signals !== false) {
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  } else if (!io.tty) {
    process.on("SIGINT", onDetach);
  }
  try {
    if (start) await engine.containers.start(id);
    if (io.tty) {
      resize();
      process.stdout.on("resize", resize);
    }
    detach.signal.addEventListener("abort", () => stream.close());
    try {
      for await (const f of stream.output) (f.stream === "stderr" ? process.stderr : process.stdout).write(f.data);
    } catch (e) {
      if (!detach.signal.aborted) throw e;
    }
  } finally {
    if (io.stdin) {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      if (io.tty) stdin.setRawMode?.(false);
      stdin.pause();
    }
    if (io.tty) process.stdout.removeListener("resize", resize);
    process.removeListener("SIGINT", onInt);
    process.removeListener("SIGTERM", onTerm);
    process.removeListener("SIGINT", onDetach);
    stream.close();
  }
  if (detach.signal.aborted) return 0;
  const r = await engine.containers.wait(id);
  return r.StatusCode;
}
