/**
 * The registry on HTTP (node:http): routes of core/registry/routes.ts onto
 * Registry operations, with the headers clients rely on (Location,
 * Docker-Content-Digest, Range, Docker-Upload-UUID, OCI-Subject,
 * OCI-Filters-Applied, Link, Docker-Distribution-API-Version) and the spec's
 * JSON errors. Bodies are streamed both ways with backpressure; a blob is
 * never buffered whole. `authorize` gates every request (the agent's
 * non-loopback listeners require the cluster's credentials).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { describeLimit, limitMessage } from "../../core/limits.ts";
import { open } from "node:fs/promises";
import {
  contentRangeHeader,
  errorBody,
  isRegistryError,
  MAX_MANIFEST_BYTES,
  nextLink,
  parseDigest,
  parseRoute,
  regErr,
  RegistryError,
  resolveRange,
  ROUTE_METHODS,
  uploadRangeHeader,
  type Page,
  type PeerAsk,
  type Route,
  type RepoName,
} from "../../core/registry/index.ts";
import type { Registry, BlobSource } from "./registry.ts";

export interface RegistryHttpOptions {
  /** Decides whether a request may proceed; false answers 401 with a Basic challenge. */
  readonly authorize?: (req: IncomingMessage) => boolean;
  /** Served bytes by where they came from (metrics). */
  readonly onServed?: (bytes: number, from: "store" | "inflight") => void;
  readonly onError?: (e: unknown, req: IncomingMessage) => void;
  /**
   * The peer listener: reads only. `Fizz-Peer-Ask: fetcher` marks a peer
   * asking this node as the digest's fetcher; anything else is asked of a
   * holder, which serves only what it has (or is fetching).
   */
  readonly peer?: boolean;
}

/** How a peer asks (see core/registry/sources.ts PeerAsk). */
export const PEER_ASK_HEADER = "fizz-peer-ask";

const API_VERSION = { "Docker-Distribution-API-Version": "registry/2.0" };

function query(url: string): URLSearchParams {
  const q = url.indexOf("?");
  return new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
}

function sendError(res: ServerResponse, e: RegistryError, head: boolean, extra: Record<string, string> = {}): void {
  const body = errorBody(e);
  res.writeHead(e.status, { ...API_VERSION, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...extra });
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { ...API_VERSION, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(s), ...headers });
  res.end(s);
}

function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number>): void {
  res.writeHead(status, { ...API_VERSION, "Content-Length": 0, ...headers });
  res.end();
}

function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", closed);
      resolve();
    };
    const closed = () => {
      res.off("drain", done);
      reject(new Error("client went away"));
    };
    res.on("drain", done);
    res.on("close", closed);
  });
}

/** Streams bytes [start, end] of a file. */
async function* fileRange(path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  try {
    let pos = start;
    while (pos <= end) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, end + 1 - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) throw new Error(`file ${path} ended early`);
      pos += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Reads a body of at most `limit` bytes; more is a 413 before anything is kept. */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw regErr("MANIFEST_INVALID", limitMessage("manifestBytes", "the manifest", declared), { size: declared, limit }, 413);
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.byteLength;
    if (n > limit) {
      req.destroy();
      throw regErr("MANIFEST_INVALID", `the manifest is over ${describeLimit("manifestBytes")}`, { limit }, 413);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers["content-length"];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

function linkHeader(res: Record<string, string>, path: string, q: URLSearchParams, page: Page): Record<string, string> {
  if (page.next === undefined) return res;
  const n = Number(q.get("n") ?? page.items.length);
  return { ...res, Link: nextLink(path, n, page.next) };
}

export function registryHandler(registry: Registry, o: RegistryHttpOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(registry, o, req, res).catch((e: unknown) => {
      o.onError?.(e, req);
      req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const re = isRegistryError(e) ? e : new RegistryError("UNKNOWN", `the registry failed: ${(e as Error)?.message ?? String(e)}`);
      sendError(res, re, req.method === "HEAD");
    });
  };
}

async function handle(registry: Registry, o: RegistryHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const path = url.split("?")[0]!;
  const method = req.method ?? "GET";
  const head = method === "HEAD";
  if (o.authorize && !o.authorize(req)) {
    req.resume();
    sendError(res, regErr("UNAUTHORIZED", "authentication required: use the cluster's registry credentials (fizz registry login)"), head, { "WWW-Authenticate": 'Basic realm="fizz"' });
    return;
  }
  const route = parseRoute(path);
  if (!route) {
    req.resume();
    sendError(res, new RegistryError("UNSUPPORTED", `no registry endpoint at ${path.slice(0, 120)}`, { status: 404 }), head);
    return;
  }
  if (!ROUTE_METHODS[route.kind].includes(method)) {
    req.resume();
    sendError(res, regErr("UNSUPPORTED", `${method} is not supported on this endpoint`, undefined, 405), head, { Allow: ROUTE_METHODS[route.kind].join(", ") });
    return;
  }
  if (o.peer && method !== "GET" && method !== "HEAD") {
    req.resume();
    sendError(res, regErr("DENIED", "the peer listener serves reads only; push to a node's registry listener"), head);
    return;
  }
  const ask: PeerAsk | undefined = o.peer ? (req.headers[PEER_ASK_HEADER] === "fetcher" ? "fetcher" : "holder") : undefined;
  const q = query(url);
  switch (route.kind) {
    case "base":
      return sendJson(res, 200, {});
    case "catalog": {
      const page = registry.catalog({ n: q.get("n"), last: q.get("last") });
      return sendJson(res, 200, { repositories: page.items }, linkHeader({}, "/v2/_catalog", q, page));
    }
    case "tags": {
      const page = await registry.tags(route.name, { n: q.get("n"), last: q.get("last") });
      return sendJson(res, 200, { name: route.name, tags: page.items }, linkHeader({}, `/v2/${route.name}/tags/list`, q, page));
    }
    case "referrers": {
      const a = registry.referrers(route.name, route.digest, q.get("artifactType"));
      res.writeHead(200, {
        ...API_VERSION,
        "Content-Type": "application/vnd.oci.image.index.v1+json",
        "Content-Length": Buffer.byteLength(a.body),
        ...(a.filtersApplied ? { "OCI-Filters-Applied": a.filtersApplied } : {}),
      });
      res.end(a.body);
      return;
    }
    case "manifest":
      return manifest(registry, route, method, req, res, ask);
    case "blob":
      return blob(registry, o, route, method, req, res, ask);
    case "uploads":
    case "upload":
      return upload(registry, route, method, q, req, res);
  }
}

async function manifest(registry: Registry, route: Route & { kind: "manifest" }, method: string, req: IncomingMessage, res: ServerResponse, ask: PeerAsk | undefined): Promise<void> {
  if (method === "PUT") {
    const bytes = await readLimited(req, MAX_MANIFEST_BYTES);
    const r = registry.putManifest(route.name, route.reference, bytes, req.headers["content-type"]);
    return sendEmpty(res, 201, {
      Location: `/v2/${route.name}/manifests/${r.digest}`,
      "Docker-Content-Digest": r.digest,
      ...(r.subject ? { "OCI-Subject": r.subject } : {}),
    });
  }
  if (method === "DELETE") {
    req.resume();
    registry.deleteManifest(route.name, route.reference);
    return sendEmpty(res, 202, {});
  }
  req.resume();
  // A client's GET reads the blobs next: the registry fetches ahead what it lacks (not for a HEAD, which may only check a tag).
  const m = await registry.getManifest(route.name, route.reference, ask, { prefetch: method === "GET" });
  res.writeHead(200, { ...API_VERSION, "Content-Type": m.mediaType, "Content-Length": m.size, "Docker-Content-Digest": m.digest, ETag: `"${m.digest}"` });
  res.end(method === "HEAD" ? undefined : m.bytes);
}

async function blob(registry: Registry, o: RegistryHttpOptions, route: Route & { kind: "blob" }, method: string, req: IncomingMessage, res: ServerResponse, ask: PeerAsk | undefined): Promise<void> {
  req.resume();
  if (method === "DELETE") {
    registry.deleteBlob(route.name, route.digest);
    return sendEmpty(res, 202, {});
  }
  const src: BlobSource = await registry.blob(route.name, route.digest, ask);
  const size = src.kind === "stored" ? src.size : await src.inflight.sizeKnown();
  const range = resolveRange(typeof req.headers.range === "string" ? req.headers.range : undefined, size);
  const common = { ...API_VERSION, "Docker-Content-Digest": route.digest, "Accept-Ranges": "bytes", ETag: `"${route.digest}"`, "Content-Type": "application/octet-stream" };
  if (range.kind === "unsatisfiable") {
    return sendError(res, new RegistryError("BLOB_UNKNOWN", `range not satisfiable: the blob is ${size} bytes`, { status: 416 }), method === "HEAD", { "Content-Range": `bytes */${size}` });
  }
  const [start, end] = range.kind === "partial" ? [range.start, range.end] : [0, size - 1];
  const head = () =>
    res.writeHead(range.kind === "partial" ? 206 : 200, {
      ...common,
      "Content-Length": end - start + 1,
      ...(range.kind === "partial" ? { "Content-Range": contentRangeHeader(range, size) } : {}),
    });
  if (method === "HEAD" || size === 0) {
    head();
    res.end();
    return;
  }
  const chunks = (src.kind === "stored" ? fileRange(src.path, start, end) : src.inflight.read(start, end))[Symbol.asyncIterator]();
  let sent = 0;
  try {
    // The first bytes before the status line: a fetch that fails before sending any is
    // answered with a registry error, not a 200 cut short (which Bun sends as a bare
    // '200' without a length: a peer took that for a broken peer and went upstream).
    let next: IteratorResult<Uint8Array>;
    try {
      next = await chunks.next();
    } catch (e) {
      throw isRegistryError(e) ? e : regErr("UNAVAILABLE", `blob ${route.digest} could not be read: ${(e as Error).message}`, { digest: route.digest });
    }
    head();
    for (; !next.done; next = await chunks.next()) {
      await write(res, next.value);
      sent += next.value.byteLength;
    }
    res.end();
  } finally {
    await chunks.return?.(undefined);
    o.onServed?.(sent, src.kind === "stored" ? "store" : "inflight");
  }
}

async function upload(registry: Registry, route: Route & { kind: "uploads" | "upload" }, method: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const name: RepoName = route.name;
  const blobDone = (digest: string) => sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest });
  const progress = (id: string, received: number, status: number) =>
    sendEmpty(res, status, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: uploadRangeHeader(received), "Docker-Upload-UUID": id });
  const chunkHeaders = () => {
    const cr = req.headers["content-range"];
    const cl = contentLength(req);
    return { ...(typeof cr === "string" ? { contentRange: cr } : {}), ...(cl !== undefined ? { contentLength: cl } : {}) };
  };

  if (route.kind === "uploads") {
    const mount = q.get("mount");
    if (mount !== null) {
      req.resume();
      const d = parseDigest(mount, "mount digest");
      if (registry.mount(name, d)) return blobDone(d);
      const id = registry.startUpload(name);
      return progress(id, 0, 202);
    }
    const digestParam = q.get("digest");
    const id = registry.startUpload(name);
    if (digestParam === null) {
      req.resume();
      return progress(id, 0, 202);
    }
    // Monolithic upload in a single POST.
    try {
      const d = parseDigest(digestParam);
      await registry.uploads.append(name, id, req, chunkHeaders());
      await registry.finishUpload(name, id, d);
      return blobDone(d);
    } catch (e) {
      try {
        registry.uploads.cancel(name, id);
      } catch {
        // already ended
      }
      throw e;
    }
  }

  const id = route.session;
  if (method === "GET") {
    req.resume();
    return progress(id, registry.uploads.status(name, id), 204);
  }
  if (method === "DELETE") {
    req.resume();
    registry.uploads.cancel(name, id);
    return sendEmpty(res, 204, {});
  }
  if (method === "PATCH") {
    try {
      const received = await registry.uploads.append(name, id, req, chunkHeaders());
      return progress(id, received, 202);
    } catch (e) {
      if (isRegistryError(e) && e.status === 416) {
        req.resume();
        return sendError(res, e, false, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: uploadRangeHeader(registry.uploads.status(name, id)), "Docker-Upload-UUID": id });
      }
      throw e;
    }
  }
  // PUT: close the session, with the last chunk in the body if any.
  const digestParam = q.get("digest");
  if (digestParam === null) {
    req.resume();
    throw regErr("DIGEST_INVALID", "closing an upload needs ?digest=<digest of the whole blob>");
  }
  const d = parseDigest(digestParam);
  const h = chunkHeaders();
  if (h.contentLength !== 0) await registry.uploads.append(name, id, req, h);
  else req.resume();
  await registry.finishUpload(name, id, d);
  return blobDone(d);
}
