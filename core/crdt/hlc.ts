/**
 * Hybrid logical clock (Kulkarni et al.): physical milliseconds, a logical
 * counter for events within one millisecond or while the wall clock lags a
 * remote one, and the node id as the final tiebreak, so timestamps from
 * different nodes are totally ordered and never equal.
 *
 * The wall time is injected (`now(wallMs)`), never read here. A remote
 * timestamp more than `maxDriftMs` ahead of our wall clock is rejected with a
 * typed result instead of dragging every clock in the cluster into the future.
 *
 * Encodings: the compact string `wwwwwwwwwwww-llll-node` (12 hex digits of wall
 * ms, 4 hex digits of logical, node id) sorts in the same order as `compareHlc`,
 * which is why CRDT entries store timestamps as these strings. The binary form
 * is 6 bytes wall, 2 bytes logical, 1 byte node length, node id UTF-8.
 */
import type { Decoded } from "./decode.ts";
import { decodeError } from "./decode.ts";

export interface Hlc {
  readonly wall: number;
  readonly logical: number;
  readonly node: string;
}

/** An encoded HLC (see module header); string order is timestamp order. */
export type HlcString = string;

export const MAX_WALL = 2 ** 48 - 1;
export const MAX_LOGICAL = 0xffff;
/** Default accepted clock skew between nodes: one minute. */
export const DEFAULT_MAX_DRIFT_MS = 60_000;

/** Node ids: short, printable, no separators that would make encodings ambiguous. */
const NODE_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export function isNodeId(s: unknown): s is string {
  return typeof s === "string" && NODE_RE.test(s);
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The timestamp before every real one (wall 0, logical 0, empty node). */
export const HLC_ZERO: Hlc = { wall: 0, logical: 0, node: "" };

export type DriftError = {
  readonly code: "hlc.drift";
  readonly message: string;
  readonly remote: Hlc;
  readonly wallMs: number;
  readonly driftMs: number;
  readonly maxDriftMs: number;
};

export type ReceiveResult = { readonly ok: true; readonly ts: Hlc } | { readonly ok: false; readonly error: DriftError };

function clampWall(wallMs: number): number {
  if (!Number.isFinite(wallMs) || wallMs < 0) return 0;
  return Math.min(Math.floor(wallMs), MAX_WALL);
}

/** Next local timestamp after `last` at wall time `wallMs` (pure). */
export function tick(last: Hlc, wallMs: number, node: string): Hlc {
  const pt = clampWall(wallMs);
  if (pt > last.wall) return { wall: pt, logical: 0, node };
  // Logical overflow borrows one millisecond: stays monotonic, drifts by at most 1 ms per 65536 events.
  if (last.logical >= MAX_LOGICAL) return { wall: last.wall + 1, logical: 0, node };
  return { wall: last.wall, logical: last.logical + 1, node };
}

/** Merge a remote timestamp into the clock (pure); rejects remotes too far ahead of `wallMs`. */
export function observe(last: Hlc, remote: Hlc, wallMs: number, node: string, maxDriftMs = DEFAULT_MAX_DRIFT_MS): ReceiveResult {
  const pt = clampWall(wallMs);
  const drift = remote.wall - pt;
  if (drift > maxDriftMs) {
    return {
      ok: false,
      error: {
        code: "hlc.drift",
        message: `remote clock of ${remote.node} is ${drift} ms ahead (limit ${maxDriftMs} ms)`,
        remote,
        wallMs: pt,
        driftMs: drift,
        maxDriftMs,
      },
    };
  }
  const wall = Math.max(pt, last.wall, remote.wall);
  let logical: number;
  if (wall === last.wall && wall === remote.wall) logical = Math.max(last.logical, remote.logical) + 1;
  else if (wall === last.wall) logical = last.logical + 1;
  else if (wall === remote.wall) logical = remote.logical + 1;
  else logical = 0;
  if (logical > MAX_LOGICAL) return { ok: true, ts: { wall: wall + 1, logical: 0, node } };
  return { ok: true, ts: { wall, logical, node } };
}

/**
 * A node's clock. Small mutable holder around `tick`/`observe`; persist `last`
 * (e.g. with the state) and pass it back on restart so timestamps stay monotonic.
 */
export class HlcClock {
  private lastTs: Hlc;
  constructor(
    readonly node: string,
    readonly maxDriftMs = DEFAULT_MAX_DRIFT_MS,
    last: Hlc = HLC_ZERO,
  ) {
    if (!isNodeId(node)) throw new RangeError(`invalid node id ${JSON.stringify(node)}`);
    this.lastTs = last;
  }
  get last(): Hlc {
    return this.lastTs;
  }
  now(wallMs: number): Hlc {
    this.lastTs = tick(this.lastTs, wallMs, this.node);
    return this.lastTs;
  }
  receive(remote: Hlc, wallMs: number): ReceiveResult {
    const r = observe(this.lastTs, remote, wallMs, this.node, this.maxDriftMs);
    if (r.ok) this.lastTs = r.ts;
    return r;
  }
  /** Observe an encoded remote timestamp (e.g. from a delta entry). */
  receiveString(remote: HlcString, wallMs: number): ReceiveResult | { readonly ok: false; readonly error: { code: "crdt.decode"; message: string } } {
    const d = decodeHlc(remote);
    if (!d.ok) return { ok: false, error: { code: "crdt.decode", message: d.error.message } };
    return this.receive(d.value, wallMs);
  }
}

export function encodeHlc(h: Hlc): HlcString {
  return h.wall.toString(16).padStart(12, "0") + "-" + h.logical.toString(16).padStart(4, "0") + "-" + h.node;
}

const HLC_RE = /^([0-9a-f]{12})-([0-9a-f]{4})-([A-Za-z0-9._:-]{1,64})$/;

export function isHlcString(s: unknown): s is HlcString {
  return typeof s === "string" && HLC_RE.test(s);
}

export function decodeHlc(s: unknown): Decoded<Hlc> {
  if (typeof s !== "string") return { ok: false, error: decodeError("timestamp must be a string") };
  const m = HLC_RE.exec(s);
  if (!m) return { ok: false, error: decodeError(`malformed timestamp ${JSON.stringify(s.slice(0, 100))}`) };
  return { ok: true, value: { wall: parseInt(m[1]!, 16), logical: parseInt(m[2]!, 16), node: m[3]! } };
}

export function hlcToBytes(h: Hlc): Uint8Array {
  const node = new TextEncoder().encode(h.node);
  const out = new Uint8Array(9 + node.length);
  let w = h.wall;
  for (let i = 5; i >= 0; i--) {
    out[i] = w % 256;
    w = Math.floor(w / 256);
  }
  out[6] = h.logical >> 8;
  out[7] = h.logical & 0xff;
  out[8] = node.length;
  out.set(node, 9);
  return out;
}

/** Decode the binary form; `bytesRead` lets callers embed it in larger frames. */
export function hlcFromBytes(b: Uint8Array, offset = 0): Decoded<{ hlc: Hlc; bytesRead: number }> {
  if (!(b instanceof Uint8Array) || b.length < offset + 9) return { ok: false, error: decodeError("timestamp truncated") };
  let wall = 0;
  for (let i = 0; i < 6; i++) wall = wall * 256 + b[offset + i]!;
  const logical = (b[offset + 6]! << 8) | b[offset + 7]!;
  const len = b[offset + 8]!;
  if (b.length < offset + 9 + len) return { ok: false, error: decodeError("timestamp node id truncated") };
  let node: string;
  try {
    node = new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(offset + 9, offset + 9 + len));
  } catch {
    return { ok: false, error: decodeError("timestamp node id is not UTF-8") };
  }
  if (!isNodeId(node)) return { ok: false, error: decodeError("timestamp node id is invalid") };
  return { ok: true, value: { hlc: { wall, logical, node }, bytesRead: 9 + len } };
}
