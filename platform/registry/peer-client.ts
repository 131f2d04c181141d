/**
 * Fetches blobs and manifests from other nodes' registries over mutual TLS
 * (undici, the runtime's native TLS): this node presents the certificate
 * derived from the cluster's primary key and trusts the certificates of
 * every installed key (core/registry/peer-cert.ts), so rotation works like
 * the gossip keyring's. Each request says why it asks (holder or fetcher),
 * which bounds the hops between nodes.
 */
import type { Dispatcher } from "undici/index.js";
import "../engine/undici-pool.ts";
// @ts-expect-error: undici ships types for its index only
import AgentImpl from "undici/lib/dispatcher/agent.js";
import { bareMediaType, MAX_MANIFEST_BYTES, PEER_TLS_NAME, regErr, type Digest, type PeerAsk, type RepoName } from "../../core/registry/index.ts";
import { PEER_ASK_HEADER } from "./http.ts";
import type { BlobAnswer } from "./upstream.ts";

export interface PeerTls {
  readonly cert: string;
  readonly key: string;
  /** Certificates to trust (every installed cluster key's). */
  readonly trust: readonly string[];
}

export class PeerClient {
  private agent: Dispatcher | undefined;
  private tlsKey = "";

  constructor(
    /** host:port of a node's peer listener (from the replicated state). */
    private readonly addressOf: (node: string) => string | undefined,
    private readonly o: { headersTimeoutMs?: number; bodyTimeoutMs?: number } = {},
  ) {}

  /** Installs (or replaces, on key rotation) the TLS credentials. */
  setTls(tls: PeerTls | undefined): void {
    const key = tls ? `${tls.cert}\n${tls.trust.join("\n")}` : "";
    if (key === this.tlsKey) return;
    const old = this.agent;
    this.tlsKey = key;
    this.agent = tls
      ? new (AgentImpl as new (o: object) => Dispatcher)({
          headersTimeout: this.o.headersTimeoutMs ?? 60_000,
          bodyTimeout: this.o.bodyTimeoutMs ?? 60_000,
          connect: { cert: tls.cert, key: tls.key, ca: [...tls.trust], servername: PEER_TLS_NAME, rejectUnauthorized: true },
        })
      : undefined;
    void old?.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.agent?.close().catch(() => {});
    this.agent = undefined;
  }

  private async get(node: string, path: string, ask: PeerAsk, accept?: string): Promise<Dispatcher.ResponseData> {
    // Said, not skipped: a silent skip made a blob leave the upstream twice with nothing in the log.
    const addr = this.addressOf(node);
    if (!addr) throw regErr("UNAVAILABLE", `peer ${node.slice(0, 8)}'s registry address is not known yet`);
    if (!this.agent) throw regErr("UNAVAILABLE", `this node has no cluster credentials for peer ${node.slice(0, 8)}'s registry yet`);
    try {
      return await this.agent.request({ origin: `https://${addr}`, path, method: "GET", headers: { [PEER_ASK_HEADER]: ask, ...(accept ? { accept } : {}) } });
    } catch (e) {
      throw regErr("UNAVAILABLE", `peer ${node.slice(0, 8)} at ${addr} did not answer: ${(e as Error).message}`);
    }
  }

  async blob(node: string, repo: RepoName, digest: Digest, ask: PeerAsk): Promise<BlobAnswer | undefined> {
    const r = await this.get(node, `/v2/${repo}/blobs/${digest}`, ask);
    if (r.statusCode !== 200) {
      await r.body.dump().catch(() => {});
      if (r.statusCode === 404) return undefined;
      throw regErr("UNAVAILABLE", `peer ${node.slice(0, 8)} answered ${r.statusCode} for blob ${digest}`);
    }
    const size = Number(r.headers["content-length"]);
    if (!Number.isSafeInteger(size)) {
      r.body.destroy();
      const h = r.headers;
      throw regErr("UNAVAILABLE", `peer ${node.slice(0, 8)} sent blob ${digest} without a length (content-length ${JSON.stringify(h["content-length"])}, transfer-encoding ${JSON.stringify(h["transfer-encoding"])}, headers ${Object.keys(h).join(",")})`);
    }
    const body = r.body;
    return { size, body: body as AsyncIterable<Uint8Array>, abort: () => body.destroy() };
  }

  async manifest(node: string, repo: RepoName, digest: Digest, ask: PeerAsk): Promise<{ bytes: Buffer; mediaType: string } | undefined> {
    const r = await this.get(node, `/v2/${repo}/manifests/${digest}`, ask);
    if (r.statusCode !== 200) {
      await r.body.dump().catch(() => {});
      if (r.statusCode === 404) return undefined;
      throw regErr("UNAVAILABLE", `peer ${node.slice(0, 8)} answered ${r.statusCode} for manifest ${digest}`);
    }
    const parts: Buffer[] = [];
    let n = 0;
    for await (const c of r.body as AsyncIterable<Buffer>) {
      n += c.byteLength;
      if (n > MAX_MANIFEST_BYTES) {
        r.body.destroy();
        throw regErr("MANIFEST_INVALID", `peer ${node.slice(0, 8)} sent a manifest over ${MAX_MANIFEST_BYTES} bytes`);
      }
      parts.push(c);
    }
    const ct = r.headers["content-type"];
    return { bytes: Buffer.concat(parts), mediaType: bareMediaType(Array.isArray(ct) ? ct[0] : ct) };
  }
}
