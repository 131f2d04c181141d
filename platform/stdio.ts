/**
 * Getting every byte of a command's output out before the process exits, to
 * a pipe, a file or a terminal. Bun writes to a pipe asynchronously and
 * neither 'drain' nor a write callback means the bytes left the process:
 * `fizz config | wc -c` stopped at 64-128 KiB, exit code 0. Ending the stream
 * does wait for them (measured on Bun, the compiled binary and Deno, 10 MB to
 * a slow reader). A reader that goes away (`| head -1`) is EPIPE: we stop at
 * once with 141, the status a shell reports for a process killed by SIGPIPE,
 * and print nothing; any other write error (a full disk) is reported on
 * stderr and exits 1. Both are deliberate: never a silent 0 with output cut.
 */
import type { Writable } from "node:stream";

/** Exit status after the reader of stdout went away (128 + SIGPIPE). */
export const EXIT_BROKEN_PIPE = 141;

let guarded = false;

/** Installs the write-error handling on stdout and stderr; call once, early. */
export function guardStdio(exit: (code: number) => never = (c) => process.exit(c)): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") exit(EXIT_BROKEN_PIPE);
    try {
      process.stderr.write(`error: cannot write the output: ${e.code ?? e.message}\n`);
    } catch {
      /* stderr is gone too */
    }
    exit(1);
  });
  // Diagnostics nobody reads are not a reason to fail a command that did its job.
  process.stderr.on("error", () => undefined);
}

/** Resolves once everything written to the stream so far has left the process (or the stream failed). */
function drained(stream: Writable): Promise<void> {
  if (stream.writableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once("error", () => resolve());
    stream.end(() => resolve());
  });
}

/** Flushes stdout, then stderr. Nothing may be written to either afterwards. */
export async function flushStdio(): Promise<void> {
  await drained(process.stdout);
  await drained(process.stderr);
}
