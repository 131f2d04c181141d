/**
 * Per-field short hashes of a service's hashable config, stored on containers
 * as `io.fizz.config-fields` so that a recreate can say *which* fields
 * changed ("config changed: environment, ports"), not only that the hash did.
 * Pass the same object the config hash is computed from
 * (`hashableService(service)` in core/compose/hash.ts).
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { canonicalJson } from "../compose/hash.ts";

/** 8 hex chars per top-level field is plenty to notice a change and keeps the label short. */
export function configFieldHashes(hashable: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (hashable === null || typeof hashable !== "object" || Array.isArray(hashable)) return out;
  const obj = hashable as Record<string, unknown>;
  for (const key of Object.keys(obj).sort()) {
    if (obj[key] === undefined) continue;
    out[key] = bytesToHex(sha256(utf8ToBytes(canonicalJson(obj[key])))).slice(0, 8);
  }
  return out;
}
