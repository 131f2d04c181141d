/**
 * The node's WireGuard key pair: made on first start (X25519, @noble/curves),
 * the private key kept in a file of mode 0600 in the agent's data dir (read
 * by `wg` from there, never gossiped, never logged), the public key derived
 * from it on every start.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { x25519 } from "@noble/curves/ed25519.js";
import { FizzError } from "../../core/errors.ts";
import { fromBase64, toBase64 } from "../../core/state/cluster-state.ts";

export interface WgKeyPair {
  readonly privateKeyFile: string;
  readonly publicKey: string;
  /** True when this start made the key. */
  readonly created: boolean;
}

export function loadOrCreateWgKey(file: string): WgKeyPair {
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const priv = x25519.utils.randomSecretKey ? x25519.utils.randomSecretKey() : new Uint8Array(randomBytes(32));
    // WireGuard clamps on use; clamping here keeps `wg show` and our public key equal.
    priv[0]! &= 248;
    priv[31]! &= 127;
    priv[31]! |= 64;
    writeFileSync(file, `${toBase64(priv)}\n`, { mode: 0o600, flag: "wx" });
    created = true;
  }
  const mode = statSync(file).mode & 0o777;
  if (mode !== 0o600) chmodSync(file, 0o600);
  const text = readFileSync(file, "utf8").trim();
  let priv: Uint8Array;
  try {
    priv = fromBase64(text);
  } catch {
    priv = new Uint8Array(0);
  }
  if (priv.length !== 32) {
    throw new FizzError({ code: "net.bad_wireguard_key", message: `${file} does not hold a WireGuard private key (base64 of 32 bytes)`, hint: `remove it and restart the agent: a new key is made and gossiped to the other nodes` });
  }
  return { privateKeyFile: file, publicKey: toBase64(x25519.getPublicKey(priv)), created };
}
