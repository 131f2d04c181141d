/**
 * Turns engine response bodies into async iterators: multiplexed frames (logs,
 * attach, exec; raw bytes when the container has a TTY) and concatenated JSON
 * values (events, pull/build progress). Decoding lives in core/engine; this
 * only pumps bytes. Breaking out of the loop, or aborting the signal, closes
 * the connection.
 */
import type { Duplex } from "node:stream";
import { FrameDecoder, JsonStreamDecoder, type StreamName } from "../../core/engine/index.ts";

export interface OutputFrame {
  /** "tty" when the container has a terminal: the bytes are stdout and stderr interleaved, undemuxed. */
  readonly stream: StreamName | "tty";
  readonly data: Uint8Array;
}

type ByteSource = AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => unknown };

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
}

export async function* outputFrames(body: ByteSource, tty: boolean): AsyncGenerator<OutputFrame> {
  try {
    if (tty) {
      for await (const chunk of body) {
        const bytes = toBytes(chunk);
        if (bytes.length) yield { stream: "tty", data: bytes };
      }
      return;
    }
    const dec = new FrameDecoder();
    for await (const chunk of body) for (const f of dec.push(toBytes(chunk))) yield f;
    dec.end();
  } finally {
    body.destroy?.();
  }
}

export async function* jsonValues<T>(body: ByteSource): AsyncGenerator<T> {
  try {
    const dec = new JsonStreamDecoder();
    for await (const chunk of body) for (const v of dec.push(toBytes(chunk))) yield v as T;
    dec.end();
  } finally {
    body.destroy?.();
  }
}

/** Collects frames into stdout/stderr text (tty output counts as stdout). */
export async function collectOutput(frames: AsyncIterable<OutputFrame>): Promise<{ stdout: string; stderr: string }> {
  const out = new TextDecoder();
  const err = new TextDecoder();
  let stdout = "";
  let stderr = "";
  for await (const f of frames) {
    if (f.stream === "stderr") stderr += err.decode(f.data, { stream: true });
    else if (f.stream === "stdout" || f.stream === "tty") stdout += out.decode(f.data, { stream: true });
  }
  return { stdout: stdout + out.decode(), stderr: stderr + err.decode() };
}

/** A two-way stream to a process in a container (attach or exec with stdin). */
export interface InteractiveStream {
  /** stdout/stderr frames (or raw bytes with a TTY) until the process ends. */
  readonly output: AsyncGenerator<OutputFrame>;
  /** Sends bytes to the process's stdin. */
  write(data: Uint8Array | string): Promise<void>;
  /** Closes stdin (the process reads EOF); output keeps flowing. */
  end(): void;
  /** Drops the connection. */
  close(): void;
}

export function interactive(socket: Duplex, tty: boolean): InteractiveStream {
  return {
    output: outputFrames(socket, tty),
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    end: () => void socket.end(),
    close: () => void socket.destroy(),
  };
}
