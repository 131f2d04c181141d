/**
 * The resolver's native UDP socket on Bun (Linux, IPv4): a small C part
 * (udp-native-source.ts, compiled once per process by bun:ffi's built-in
 * TinyCC) runs one thread per socket that receives in batches and answers
 * repeated simple questions (single A, the shape core/net/dns-fast.ts
 * answers) from an answer cache this side fills with its own answers
 * (`remember`); everything else comes here through a shared ring, one
 * wake-up of the event loop per burst, with the asker's address as a
 * number. Replies made here leave in one sendmmsg per burst.
 *
 * Why a thread that answers: at a moderate rate every query is a wake-up,
 * and a wake-up of Bun's event loop costs about twice a C program's; the
 * tail latency follows (measured: docs/ENGINEERING.md, issue 12).
 *
 * The cache never outlives the table it came from: the owner calls
 * `forget()` whenever the table changes (server.ts checks the table's
 * identity at every query that reaches it and every TABLE_CHECK_MS).
 *
 * Unavailable (undefined from `nativeUdp()`) off Bun, off Linux, or if the
 * C part does not compile: udp.ts then uses Bun's socket.
 */
import { bunFfi } from "../runtime.ts";
import { UDP_NATIVE_BATCH, UDP_NATIVE_COUNTERS, UDP_NATIVE_IN_SLOT, UDP_NATIVE_OUT_BYTES, UDP_NATIVE_RING, UDP_NATIVE_SOURCE } from "./udp-native-source.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Linux errno values a bind can fail with, by name (as node:dgram reports them). */
const ERRNO_NAMES: Readonly<Record<number, string>> = { 1: "EPERM", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 24: "EMFILE", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL" };

type Ffi = NonNullable<Awaited<ReturnType<typeof bunFfi>>>;
type Pointer = NonNullable<ReturnType<Ffi["ptr"]>>;

interface NativeSymbols {
  nu_open(addr: number, port: number, wake: Pointer, res: Int32Array): Pointer | null;
  nu_take(c: Pointer): number;
  nu_release(c: Pointer, n: number): void;
  nu_put(c: Pointer, q: Uint8Array, qlen: number, asker: number, a: Uint8Array, alen: number): number;
  nu_forget(c: Pointer): void;
  nu_send(c: Pointer, n: number): number;
  nu_close(c: Pointer): void;
  nu_layout(what: number): number;
}

interface NativeLib {
  readonly ffi: Ffi;
  readonly sym: NativeSymbols;
}

let compiled: Promise<NativeLib | undefined> | undefined;

/** The compiled C part, once per process; undefined where it cannot be had. */
export function nativeUdp(): Promise<NativeLib | undefined> {
  compiled ??= compile();
  return compiled;
}

async function compile(): Promise<NativeLib | undefined> {
  if (process.platform !== "linux") return undefined;
  const ffi = await bunFfi();
  if (!ffi || typeof ffi.cc !== "function") return undefined;
  const dir = mkdtempSync(join(tmpdir(), "fizz-dns-udp-"));
  try {
    const source = join(dir, "udp.c");
    writeFileSync(source, UDP_NATIVE_SOURCE, { mode: 0o600 });
    const lib = ffi.cc({
      source,
      symbols: {
        nu_open: { args: ["u32", "i32", "ptr", "ptr"], returns: "ptr" },
        nu_take: { args: ["ptr"], returns: "i32" },
        nu_release: { args: ["ptr", "i32"], returns: "void" },
        nu_put: { args: ["ptr", "ptr", "i32", "u32", "ptr", "i32"], returns: "i32" },
        nu_forget: { args: ["ptr"], returns: "void" },
        nu_send: { args: ["ptr", "i32"], returns: "i32" },
        nu_close: { args: ["ptr"], returns: "void" },
        nu_layout: { args: ["i32"], returns: "i32" },
      },
    });
    return { ffi, sym: lib.symbols as unknown as NativeSymbols };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Called for each datagram that reaches JavaScript; `query` is valid only during the call (copy it to keep it). */
export type OnNativeDatagram = (query: Uint8Array, port: number, address: number, via: NativeUdpSocket) => void;

export class NativeUdpSocket {
  /** Replies not sent here: the socket's buffer was full, or the send failed. */
  private jsSendDrops = 0;
  private ctx: Pointer | undefined;
  private readonly wake: InstanceType<Ffi["JSCallback"]>;
  private ringMeta = new Uint32Array(0);
  private outMeta = new Uint32Array(0);
  private counters = new Uint32Array(UDP_NATIVE_COUNTERS);
  private ring = new Uint8Array(0);
  private outBytes = new Uint8Array(0);
  /** Replies packed in `out` waiting for the send at the end of the burst. */
  private pending = 0;
  private outUsed = 0;
  private reading = false;
  /** What the thread's counters said when last read (they wrap at 2^32). */
  private answeredSeen = 0;
  /** Keeps the process alive while the socket is open, as a runtime socket would. */
  private readonly keepAlive: ReturnType<typeof setInterval>;

  private constructor(
    private readonly lib: NativeLib,
    private readonly onDatagram: OnNativeDatagram,
    readonly host: string,
  ) {
    this.wake = new lib.ffi.JSCallback(() => this.read(), { args: [], returns: "void", threadsafe: true });
    this.keepAlive = setInterval(() => {}, 1 << 30);
  }

  port = 0;

  /** Binds host:port (IPv4 text, host as given; 0 picks a free port). Throws like a bind error. */
  static open(lib: NativeLib, host: string, address: number, port: number, onDatagram: OnNativeDatagram): NativeUdpSocket {
    const s = new NativeUdpSocket(lib, onDatagram, host);
    const res = new Int32Array(2);
    const ctx = lib.sym.nu_open(address >>> 0, port, s.wake.ptr!, res);
    if (!ctx) {
      s.release();
      const code = ERRNO_NAMES[res[1]!] ?? `errno ${res[1]}`;
      const e = new Error(`bind ${code} ${host}:${port}`) as Error & { errno: number; code: string };
      e.errno = res[1]!;
      e.code = code;
      throw e;
    }
    s.ctx = ctx;
    s.port = res[0]!;
    const mem = lib.ffi.toArrayBuffer(ctx, 0, lib.sym.nu_layout(5));
    s.ringMeta = new Uint32Array(mem, lib.sym.nu_layout(0), UDP_NATIVE_RING * 2);
    s.outMeta = new Uint32Array(mem, lib.sym.nu_layout(1), UDP_NATIVE_BATCH * 4);
    s.counters = new Uint32Array(mem, lib.sym.nu_layout(2), UDP_NATIVE_COUNTERS);
    s.ring = new Uint8Array(mem, lib.sym.nu_layout(3), UDP_NATIVE_RING * UDP_NATIVE_IN_SLOT);
    s.outBytes = new Uint8Array(mem, lib.sym.nu_layout(4), UDP_NATIVE_OUT_BYTES);
    return s;
  }

  /** Replies the socket refused (here and on the thread). */
  get sendDrops(): number {
    return this.jsSendDrops + (this.ctx ? this.counters[1]! : this.closedDrops);
  }
  private closedDrops = 0;

  /** Queries the thread answered by itself since the last call. */
  takeAnswered(): number {
    if (!this.ctx) return 0;
    const now = this.counters[0]!;
    const d = (now - this.answeredSeen) >>> 0;
    this.answeredSeen = now;
    return d;
  }

  /**
   * Lets the thread answer `query` from `asker` with `answer` (rotated) from now
   * on, when both are the simple shape (the C part checks; otherwise nothing).
   */
  remember(query: Uint8Array, asker: number, answer: Uint8Array): void {
    if (this.ctx) this.lib.sym.nu_put(this.ctx, query, query.length, asker >>> 0, answer, answer.length);
  }

  /** Forgets every remembered answer (the table changed). */
  forget(): void {
    if (this.ctx) this.lib.sym.nu_forget(this.ctx);
  }

  /** Queues a reply; inside a burst it leaves with the burst, else at once. */
  reply(bytes: Uint8Array, port: number, address: number): void {
    if (!this.ctx || bytes.length > UDP_NATIVE_OUT_BYTES) {
      this.jsSendDrops++;
      return;
    }
    if (this.pending === UDP_NATIVE_BATCH || this.outUsed + bytes.length > UDP_NATIVE_OUT_BYTES) this.flush();
    const i = this.pending++;
    this.outBytes.set(bytes, this.outUsed);
    const m = this.outMeta;
    m[i * 4] = this.outUsed;
    m[i * 4 + 1] = bytes.length;
    m[i * 4 + 2] = port;
    m[i * 4 + 3] = address >>> 0;
    this.outUsed += bytes.length;
    if (!this.reading) this.flush();
  }

  private flush(): void {
    const n = this.pending;
    if (n === 0 || !this.ctx) return;
    this.pending = 0;
    this.outUsed = 0;
    const sent = this.lib.sym.nu_send(this.ctx, n);
    if (sent < n) this.jsSendDrops += n - Math.max(0, sent);
  }

  /** The thread handed datagrams over: take them until none are left (the next one wakes this again). */
  private read(): void {
    if (!this.ctx || this.reading) return;
    this.reading = true;
    try {
      for (;;) {
        const ctx = this.ctx;
        if (!ctx) return;
        const t = this.lib.sym.nu_take(ctx);
        const n = t & 0xffff;
        if (n === 0) break;
        const first = t >>> 16;
        for (let i = 0; i < n; i++) {
          const slot = first + i;
          const lenPort = this.ringMeta[slot * 2]!;
          const at = slot * UDP_NATIVE_IN_SLOT;
          try {
            this.onDatagram(this.ring.subarray(at, at + (lenPort & 0xffff)), lenPort >>> 16, this.ringMeta[slot * 2 + 1]!, this);
          } catch {
            // One bad datagram must not stop the socket; the server counts its own drops.
          }
          if (!this.ctx) return;
        }
        this.lib.sym.nu_release(ctx, n);
        this.flush();
      }
    } finally {
      this.reading = false;
      this.flush();
    }
  }

  close(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    this.closedDrops = this.counters[1]!;
    this.jsSendDrops += this.pending;
    this.pending = 0;
    this.ctx = undefined;
    // The views point into the context's memory, which nu_close frees.
    this.ringMeta = new Uint32Array(0);
    this.outMeta = new Uint32Array(0);
    this.counters = new Uint32Array(UDP_NATIVE_COUNTERS);
    this.ring = new Uint8Array(0);
    this.outBytes = new Uint8Array(0);
    this.lib.sym.nu_close(ctx);
    this.release();
  }

  private release(): void {
    clearInterval(this.keepAlive);
    // A wake the thread queued before it stopped may still be on its way to this
    // thread's event loop: the callback stays callable a while (and does nothing).
    setTimeout(() => this.wake.close(), 1000).unref?.();
  }
}
