/**
 * TLS credentials for registry traffic between nodes, derived from a cluster
 * key: every node holding the key computes the same Ed25519 key pair and the
 * same self-signed certificate (the key from HKDF, the certificate's fields
 * fixed, Ed25519 signatures deterministic), so peers authenticate each other
 * by mutual TLS with the certificate as the only trust anchor, with nothing
 * to distribute. Layer bytes then move with the runtime's native TLS
 * (AES-GCM, ~250-550 MB/s here) instead of the 16 MB/s JavaScript cipher
 * of the gossip transport. Key rotation: derive one per installed key,
 * present the primary's, trust them all.
 *
 * The certificate is a fixed X.509 v3 template (RFC 5280, RFC 8410 for
 * Ed25519): subject and issuer CN=fizz-registry-peer, SAN dNSName
 * fizz-registry-peer, CA:FALSE, digitalSignature, valid 2020–9999. Pure:
 * the DER is assembled here; no clock, no randomness.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** The name peers present and check (TLS servername / SAN). */
export const PEER_TLS_NAME = "fizz-registry-peer";

const INFO = new TextEncoder().encode("fizz-registry-peer-tls/v1");

function der(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const seq = (...p: Uint8Array[]) => der(0x30, cat(...p));
const ascii = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);
const OID_ED25519 = bytes(0x06, 0x03, 0x2b, 0x65, 0x70);
const ALG = seq(OID_ED25519);
const NAME = seq(der(0x31, seq(bytes(0x06, 0x03, 0x55, 0x04, 0x03), der(0x0c, ascii(PEER_TLS_NAME)))));
const VALIDITY = seq(der(0x17, ascii("200101000000Z")), der(0x18, ascii("99991231235959Z")));
const TRUE = bytes(0x01, 0x01, 0xff);
const EXTENSIONS = der(
  0xa3,
  seq(
    // subjectAltName: dNSName
    seq(bytes(0x06, 0x03, 0x55, 0x1d, 0x11), der(0x04, seq(der(0x82, ascii(PEER_TLS_NAME))))),
    // basicConstraints (critical): CA:FALSE
    seq(bytes(0x06, 0x03, 0x55, 0x1d, 0x13), TRUE, der(0x04, seq())),
    // keyUsage (critical): digitalSignature
    seq(bytes(0x06, 0x03, 0x55, 0x1d, 0x0f), TRUE, der(0x04, bytes(0x03, 0x02, 0x07, 0x80))),
  ),
);

function pem(label: string, d: Uint8Array): string {
  let b64 = "";
  const s = btoa(String.fromCharCode(...d));
  for (let i = 0; i < s.length; i += 64) b64 += `${s.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export interface PeerCredentials {
  /** PEM certificate (present it, and trust it). */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
  /** sha256 of the certificate, hex: names the identity in logs without revealing anything. */
  readonly fingerprint: string;
}

/** The credentials every holder of `clusterKey` derives identically. */
export function peerCredentials(clusterKey: Uint8Array): PeerCredentials {
  if (clusterKey.length < 16) throw new Error("a cluster key has at least 16 bytes");
  const seed = hkdf(sha256, clusterKey, undefined, INFO, 32);
  const pub = ed25519.getPublicKey(seed);
  const spki = seq(ALG, der(0x03, cat(bytes(0), pub)));
  const tbs = seq(der(0xa0, bytes(0x02, 0x01, 0x02)), bytes(0x02, 0x01, 0x01), ALG, NAME, VALIDITY, NAME, spki, EXTENSIONS);
  const sig = ed25519.sign(tbs, seed);
  const cert = seq(tbs, ALG, der(0x03, cat(bytes(0), sig)));
  // PKCS#8 (RFC 8410): version 0, algorithm Ed25519, OCTET STRING { OCTET STRING seed }.
  const pkcs8 = seq(bytes(0x02, 0x01, 0x00), ALG, der(0x04, der(0x04, seed)));
  const fp = Array.from(sha256(cert), (b) => b.toString(16).padStart(2, "0")).join("");
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", pkcs8), fingerprint: fp };
}

const PASSWORD_INFO = new TextEncoder().encode("fizz-registry-password/v1");

/**
 * The cluster's registry password (user `fizz`): what clients on other
 * machines log in with (`docker login -u fizz`) to reach a node's registry on
 * a non-loopback address. Every node derives the same one from the cluster
 * key; it reveals nothing about the key.
 */
export function registryPassword(clusterKey: Uint8Array): string {
  const b = hkdf(sha256, clusterKey, undefined, PASSWORD_INFO, 24);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_");
}
