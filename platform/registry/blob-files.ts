/**
 * Stored blobs served with sendfile(2), on Bun: a loopback-only side
 * listener (runtime.sendfileServer) that a blob GET from a loopback client
 * is redirected to (307), the way registries hand blobs to a CDN. No byte
 * of a warm pull passes through JavaScript: measured 0.2 against 1.0-1.3 ms
 * of CPU per MB for pread + node:http writes (bench/support/registry-cpu.ts).
 * Only stored (complete, verified) blobs come here: a blob still being
 * fetched is streamed by the main listener, with its length, because
 * Bun.serve drops the length of a streamed body. Undefined on Deno and Node,
 * where every blob is served by the main listener as before.
 *
 * Loopback clients need no credentials on any registry listener, so this
 * one, bound to 127.0.0.1, exposes nothing they could not read already; its
 * paths also carry a random token, so only redirected clients find them.
 */
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { contentRangeHeader, errorBody, isDigest, RegistryError, resolveRange, type Digest } from "../../core/registry/index.ts";
import { sendfileServer, type SendfileAnswer, type SendfileServer } from "../runtime.ts";
import type { BlobStore } from "./blob-store.ts";

const API_VERSION = { "Docker-Distribution-API-Version": "registry/2.0" };

function error(e: RegistryError, extra: Record<string, string> = {}): SendfileAnswer {
  const body = errorBody(e);
  return { status: e.status, headers: { ...API_VERSION, "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), ...extra }, body };
}

export class BlobFiles {
  private constructor(
    private readonly server: SendfileServer,
    private readonly prefix: string,
  ) {}

  /** Starts the side listener on 127.0.0.1; undefined where the runtime has no sendfile server. */
  static start(store: BlobStore): BlobFiles | undefined {
    const token = randomBytes(16).toString("hex");
    const prefix = `/${token}/blobs/`;
    const server = sendfileServer("127.0.0.1", (method, path, range) => answer(store, prefix, method, path, range));
    return server ? new BlobFiles(server, prefix) : undefined;
  }

  /** Where a loopback client gets stored blob `d`. */
  url(d: Digest): string {
    return `http://127.0.0.1:${this.server.port}${this.prefix}${d}`;
  }

  close(): void {
    this.server.stop();
  }
}

async function answer(store: BlobStore, prefix: string, method: string, path: string, rangeHeader: string | null): Promise<SendfileAnswer> {
  if (method !== "GET" && method !== "HEAD") return error(new RegistryError("UNSUPPORTED", `${method} is not supported here`, { status: 405 }), { Allow: "GET, HEAD" });
  const d = path.startsWith(prefix) ? path.slice(prefix.length) : "";
  if (!isDigest(d)) return error(new RegistryError("UNSUPPORTED", "no blob at this address", { status: 404 }));
  const file = store.path(d);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return error(new RegistryError("BLOB_UNKNOWN", `blob ${d} is not in this registry`, { detail: { digest: d }, status: 404 }));
  }
  const range = resolveRange(rangeHeader ?? undefined, size);
  if (range.kind === "unsatisfiable") return error(new RegistryError("BLOB_UNKNOWN", `range not satisfiable: the blob is ${size} bytes`, { status: 416 }), { "Content-Range": `bytes */${size}` });
  const [start, end] = range.kind === "partial" ? [range.start, range.end] : [0, size - 1];
  const headers = {
    ...API_VERSION,
    "Docker-Content-Digest": d,
    "Accept-Ranges": "bytes",
    ETag: `"${d}"`,
    "Content-Type": "application/octet-stream",
    ...(range.kind === "partial" ? { "Content-Range": contentRangeHeader(range, size) } : {}),
  };
  if (size === 0) return { status: 200, headers: { ...headers, "Content-Length": "0" }, body: "" };
  return { status: range.kind === "partial" ? 206 : 200, headers, file: { path: file, start, end } };
}
