/**
 * Running a command in a container: create the exec, start it and read its
 * output frames, inspect the exit code. `run` does all three.
 */
import type { Transport } from "./transport.ts";
import { collectOutput, interactive, outputFrames, type InteractiveStream, type OutputFrame } from "./streams.ts";
import type { ExecCreateBody, ExecInspect } from "./types.ts";

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Exec {
  constructor(private readonly t: Transport) {}

  async create(container: string, body: ExecCreateBody): Promise<string> {
    const res = await this.t.json<{ Id: string }>({
      method: "POST",
      path: `/containers/${encodeURIComponent(container)}/exec`,
      body: { AttachStdout: true, AttachStderr: true, ...body },
      ctx: { action: "create exec in container", subject: { kind: "container", name: container } },
    });
    return res.Id;
  }

  /** Starts the exec and yields its output until the command exits. */
  async *start(execId: string, opts: { tty?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<OutputFrame> {
    const tty = opts.tty ?? false;
    const res = await this.t.stream({
      method: "POST",
      path: `/exec/${encodeURIComponent(execId)}/start`,
      body: { Detach: false, Tty: tty },
      signal: opts.signal,
      headersTimeoutMs: 0,
      ctx: { action: "start exec", subject: { kind: "exec", name: execId } },
    });
    yield* outputFrames(res.body, tty);
  }

  /**
   * Starts an exec created with `AttachStdin: true` and returns a two-way
   * stream: write to its stdin, read its output.
   */
  async startInteractive(execId: string, opts: { tty?: boolean; signal?: AbortSignal } = {}): Promise<InteractiveStream> {
    // The hijack answer carries no error text, so a missing exec is found first.
    await this.inspect(execId);
    const tty = opts.tty ?? false;
    const socket = await this.t.upgrade({
      method: "POST",
      path: `/exec/${encodeURIComponent(execId)}/start`,
      body: { Detach: false, Tty: tty },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ctx: { action: "start exec", subject: { kind: "exec", name: execId } },
    });
    return interactive(socket, tty);
  }

  inspect(execId: string): Promise<ExecInspect> {
    return this.t.json<ExecInspect>({
      method: "GET",
      path: `/exec/${encodeURIComponent(execId)}/json`,
      ctx: { action: "inspect exec", subject: { kind: "exec", name: execId } },
    });
  }

  /** Runs `cmd` to completion and returns its exit code and output. */
  async run(container: string, cmd: string[], opts: Omit<ExecCreateBody, "Cmd"> & { signal?: AbortSignal } = {}): Promise<ExecResult> {
    const { signal, ...body } = opts;
    const execId = await this.create(container, { ...body, Cmd: cmd });
    const { stdout, stderr } = await collectOutput(this.start(execId, { tty: body.Tty ?? false, ...(signal ? { signal } : {}) }));
    return { exitCode: (await this.exitCode(execId)) ?? -1, stdout, stderr };
  }

  /**
   * The exit code of a finished exec. Its output stream can end a moment before
   * the engine records the code, so this polls briefly (bounded: 5 s) rather
   * than report a wrong one; null when it is still not known.
   */
  async exitCode(execId: string): Promise<number | null> {
    let info = await this.inspect(execId);
    for (let waited = 0; (info.Running || info.ExitCode === null) && waited < 5_000; waited += 25) {
      await new Promise((r) => setTimeout(r, 25));
      info = await this.inspect(execId);
    }
    return info.ExitCode;
  }
}
