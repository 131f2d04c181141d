import { describe, expect, test } from "bun:test";
import { createServer, request } from "node:https";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { PEER_TLS_NAME, peerCredentials, type PeerCredentials } from "../../../core/registry/index.ts";

function get(port: number, trust: PeerCredentials, present?: PeerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host: "127.0.0.1", port, path: "/", ca: [trust.cert], servername: PEER_TLS_NAME, ...(present ? { cert: present.cert, key: present.key } : {}) }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    r.on("error", reject);
    r.end();
  });
}

describe("peer TLS credentials from the cluster key", () => {
  const a = peerCredentials(new Uint8Array(32).fill(1));
  const other = peerCredentials(new Uint8Array(32).fill(2));

  test("every node derives the same certificate and key; another key derives others", () => {
    expect(peerCredentials(new Uint8Array(32).fill(1))).toEqual(a);
    expect(other.cert).not.toBe(a.cert);
    expect(other.fingerprint).not.toBe(a.fingerprint);
  });

  test("a valid self-signed Ed25519 certificate whose key matches", () => {
    const x = new X509Certificate(a.cert);
    expect(x.subject).toBe(`CN=${PEER_TLS_NAME}`);
    expect(x.checkHost(PEER_TLS_NAME)).toBe(PEER_TLS_NAME);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.ca).toBe(false);
    const pub = createPublicKey(createPrivateKey(a.key)).export({ format: "der", type: "spki" });
    expect(Buffer.from(x.publicKey.export({ format: "der", type: "spki" })).equals(Buffer.from(pub))).toBe(true);
  });

  test("mutual TLS: the same key gets in, another key or no certificate does not", async () => {
    const s = createServer({ cert: a.cert, key: a.key, ca: [a.cert], requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end("ok"));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as { port: number }).port;
    try {
      expect(await get(port, a, a)).toBe(200);
      await expect(get(port, a, other)).rejects.toThrow();
      await expect(get(port, a)).rejects.toThrow();
      // and a client that trusts only another key refuses this server
      await expect(get(port, other, other)).rejects.toThrow();
    } finally {
      s.close();
    }
  });
});
