/**
 * Gossip payloads (SWIM user broadcasts) carrying cluster-state deltas. One
 * tag byte: 1 = the encoded delta as is, 2 = the same deflated (raw), used
 * when the plain form does not fit one UDP packet; compose specs shrink ~5×,
 * so most deployments still travel by gossip instead of push-pull. Inflating
 * is capped, so a small packet cannot expand into a large allocation.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeDelta, encodeDelta, type ClusterDelta } from "../../core/state/index.ts";

const PLAIN = 1;
const DEFLATED = 2;
/** One packet can only carry ~1.3 KB; nothing sane inflates beyond this. */
const MAX_INFLATED_BYTES = 1 << 20;

function tagged(tag: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

/** The plain payload, and lazily the deflated one (only computed when the plain one is too big). */
export function deltaPayloads(delta: ClusterDelta): { plain: Uint8Array; deflated: () => Uint8Array } {
  const bytes = encodeDelta(delta);
  return { plain: tagged(PLAIN, bytes), deflated: () => tagged(DEFLATED, new Uint8Array(deflateRawSync(bytes))) };
}

export type PayloadResult = { readonly ok: true; readonly delta: ClusterDelta } | { readonly ok: false; readonly reason: string };

export function readDeltaPayload(p: Uint8Array): PayloadResult {
  if (p.length < 2) return { ok: false, reason: "empty payload" };
  let body = p.subarray(1);
  if (p[0] === DEFLATED) {
    try {
      body = new Uint8Array(inflateRawSync(body, { maxOutputLength: MAX_INFLATED_BYTES }));
    } catch (e) {
      return { ok: false, reason: `cannot inflate: ${e instanceof Error ? e.message : String(e)}` };
    }
  } else if (p[0] !== PLAIN) return { ok: false, reason: `unknown payload tag ${p[0]}` };
  const d = decodeDelta(body);
  return d.ok ? { ok: true, delta: d.value } : { ok: false, reason: d.error.message };
}
