import { randomBytes as nodeRandom } from "node:crypto";
import { createKeyring, type Keyring } from "../../../core/cluster-crypto/keyring.ts";

export const rng = (n: number): Uint8Array => new Uint8Array(nodeRandom(n));

export function key(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

export function ring(k: Uint8Array): Keyring {
  const r = createKeyring(k);
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}

export function must<T extends { ok: true; keyring: Keyring } | { ok: false; error: { message: string } }>(r: T): Keyring {
  if (!r.ok) throw new Error((r as { error: { message: string } }).error.message);
  return (r as { keyring: Keyring }).keyring;
}
