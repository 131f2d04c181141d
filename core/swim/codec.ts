/**
 * Compact binary codec for SWIM packets (UDP) and push-pull streams (TCP).
 * Big-endian, length-prefixed, no self-description beyond a 1-byte tag.
 * Decoding is total: malformed input yields `{ok:false, error}` with a code and
 * the byte offset, never an exception — a packet from the network can never
 * crash the agent. Encryption wraps these bytes elsewhere (platform/transport).
 */
import { MAX_CLUSTER_MESSAGE_BYTES } from "../limits.ts";
import {
  MAX_PUSH_PULL_BUCKETS,
  type Broadcast,
  type DigestEntry,
  type MemberRecord,
  type MemberState,
  type Message,
  type NodeMeta,
  type PushPullScope,
  type StreamMessage,
} from "./messages.ts";

export type DecodeErrorCode =
  | "swim.codec.truncated"
  | "swim.codec.unknown_tag"
  | "swim.codec.bad_value"
  | "swim.codec.trailing_bytes"
  | "swim.codec.too_large";

export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly message: string;
  readonly offset: number;
}
export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DecodeError };

const TAG = {
  ping: 1,
  "ping-req": 2,
  ack: 3,
  nack: 4,
  alive: 5,
  suspect: 6,
  dead: 7,
  user: 8,
  compound: 9,
  "pp-request": 0x41,
  "pp-response": 0x42,
  "pp-final": 0x43,
  "tcp-ping": 0x44,
  "tcp-ack": 0x45,
  "pp-sync": 0x46,
} as const;

const STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];
/** Upper bound for one push-pull stream message; bigger is refused before allocation. */
export const MAX_STREAM_BYTES = MAX_CLUSTER_MESSAGE_BYTES;
/** Limits for strings we encode with a 1-byte length. */
export const MAX_SHORT_STRING = 255;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

// ---------------------------------------------------------------- sizes

function metaSize(m: NodeMeta): number {
  let n = 1 + 8 + 1;
  for (const [k, v] of Object.entries(m.labels)) n += 1 + utf8Length(k) + 2 + utf8Length(v);
  for (const k of Object.keys(m.ports)) n += 1 + utf8Length(k) + 2;
  return n;
}
const short = (s: string): number => 1 + utf8Length(s);

/** Exact encoded size of a packet message, without encoding it. */
export function encodedSize(m: Message): number {
  switch (m.type) {
    case "ping":
      return 1 + 4 + short(m.target);
    case "ping-req":
      return 1 + 4 + short(m.target) + short(m.targetAddr) + 1;
    case "ack":
    case "nack":
      return 1 + 4;
    case "alive":
      return 1 + short(m.node) + 4 + short(m.addr) + metaSize(m.meta);
    case "suspect":
    case "dead":
      return 1 + short(m.node) + 4 + short(m.from);
    case "user":
      return 1 + short(m.origin) + 4 + 2 + m.payload.length;
    case "compound": {
      let n = 1 + 1;
      for (const p of m.parts) n += 2 + encodedSize(p);
      return n;
    }
  }
}

/** Bytes a part adds to a compound packet. */
export function compoundPartSize(m: Broadcast | Message): number {
  return 2 + encodedSize(m);
}
export const COMPOUND_HEADER = 2;

// ---------------------------------------------------------------- writer

class Writer {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  str8(s: string): void {
    const b = enc.encode(s);
    if (b.length > MAX_SHORT_STRING) throw new RangeError(`string longer than ${MAX_SHORT_STRING} bytes: ${s.slice(0, 40)}…`);
    this.u8(b.length);
    this.bytes(b);
  }
  str16(s: string): void {
    const b = enc.encode(s);
    if (b.length > 0xffff) throw new RangeError("string longer than 65535 bytes");
    this.u16(b.length);
    this.bytes(b);
  }
  blob32(b: Uint8Array): void {
    this.u32(b.length);
    this.bytes(b);
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function writeMeta(w: Writer, m: NodeMeta): void {
  const labels = Object.entries(m.labels);
  const ports = Object.entries(m.ports);
  if (labels.length > 255 || ports.length > 255) throw new RangeError("more than 255 labels or ports");
  w.u8(labels.length);
  for (const [k, v] of labels) {
    w.str8(k);
    w.str16(v);
  }
  w.u32(m.resources.cpuMilli);
  w.u32(m.resources.memoryMb);
  w.u8(ports.length);
  for (const [k, v] of ports) {
    w.str8(k);
    w.u16(v);
  }
}

function writeMessage(w: Writer, m: Message, nested: boolean): void {
  w.u8(TAG[m.type]);
  switch (m.type) {
    case "ping":
      w.u32(m.seq);
      w.str8(m.target);
      return;
    case "ping-req":
      w.u32(m.seq);
      w.str8(m.target);
      w.str8(m.targetAddr);
      w.u8(m.nack ? 1 : 0);
      return;
    case "ack":
    case "nack":
      w.u32(m.seq);
      return;
    case "alive":
      w.str8(m.node);
      w.u32(m.incarnation);
      w.str8(m.addr);
      writeMeta(w, m.meta);
      return;
    case "suspect":
    case "dead":
      w.str8(m.node);
      w.u32(m.incarnation);
      w.str8(m.from);
      return;
    case "user":
      if (m.payload.length > 0xffff) throw new RangeError("user payload over 65535 bytes");
      w.str8(m.origin);
      w.u32(m.seq);
      w.u16(m.payload.length);
      w.bytes(m.payload);
      return;
    case "compound": {
      if (nested) throw new RangeError("compound messages do not nest");
      if (m.parts.length > 255) throw new RangeError("compound with more than 255 parts");
      w.u8(m.parts.length);
      for (const p of m.parts) {
        const lenAt = w.pos;
        w.u16(0);
        writeMessage(w, p, true);
        const len = w.pos - lenAt - 2;
        const b = w.done();
        b[lenAt] = len >>> 8;
        b[lenAt + 1] = len & 0xff;
      }
      return;
    }
  }
}

/** Encode a packet. Throws RangeError only for messages core itself would never build (over-long ids). */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer(encodedSize(m));
  writeMessage(w, m, false);
  return w.done();
}

// ---------------------------------------------------------------- reader

class Malformed {
  constructor(
    readonly code: DecodeErrorCode,
    readonly message: string,
    readonly offset: number,
  ) {}
}

class Reader {
  pos = 0;
  private view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new Malformed("swim.codec.truncated", `truncated ${what}: need ${n} bytes, have ${this.remaining}`, this.pos);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  text(n: number, what: string): string {
    const at = this.pos;
    // Ids, addresses and labels are short ASCII: read them without a decoder call (same string; anything else decodes).
    if (n <= 64) {
      this.need(n, what);
      let s = "";
      let i = 0;
      for (; i < n; i++) {
        const c = this.buf[at + i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === n) {
        this.pos += n;
        return s;
      }
    }
    const b = this.bytes(n, what);
    try {
      return dec.decode(b);
    } catch {
      throw new Malformed("swim.codec.bad_value", `${what} is not valid UTF-8`, at);
    }
  }
  str8(what: string): string {
    return this.text(this.u8(what), what);
  }
  str16(what: string): string {
    return this.text(this.u16(what), what);
  }
  blob32(what: string): Uint8Array {
    const n = this.u32(what);
    if (n > this.remaining) throw new Malformed("swim.codec.truncated", `truncated ${what}: length ${n} exceeds ${this.remaining} remaining bytes`, this.pos);
    return this.bytes(n, what);
  }
  /** A count of items each at least `minItemBytes` long; refuses counts the input cannot hold (no huge allocations). */
  count32(what: string, minItemBytes: number): number {
    const n = this.u32(what);
    if (n * minItemBytes > this.remaining) throw new Malformed("swim.codec.bad_value", `${what} count ${n} exceeds what ${this.remaining} bytes can hold`, this.pos);
    return n;
  }
}

function define<V>(o: Record<string, V>, k: string, v: V): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function readMeta(r: Reader): NodeMeta {
  const labels: Record<string, string> = {};
  const nl = r.u8("label count");
  for (let i = 0; i < nl; i++) {
    const k = r.str8("label key");
    // defineProperty: a key like "__proto__" from the network must stay data, not change the prototype.
    define(labels, k, r.str16("label value"));
  }
  const cpuMilli = r.u32("cpu");
  const memoryMb = r.u32("memory");
  const ports: Record<string, number> = {};
  const np = r.u8("port count");
  for (let i = 0; i < np; i++) {
    const k = r.str8("port name");
    define(ports, k, r.u16("port"));
  }
  return { labels, resources: { cpuMilli, memoryMb }, ports };
}

function readMessage(r: Reader, nested: boolean): Message {
  const at = r.pos;
  const tag = r.u8("tag");
  switch (tag) {
    case TAG.ping:
      return { type: "ping", seq: r.u32("seq"), target: r.str8("target") };
    case TAG["ping-req"]: {
      const seq = r.u32("seq");
      const target = r.str8("target");
      const targetAddr = r.str8("target address");
      const flag = r.u8("nack flag");
      if (flag > 1) throw new Malformed("swim.codec.bad_value", `nack flag must be 0 or 1, got ${flag}`, r.pos - 1);
      return { type: "ping-req", seq, target, targetAddr, nack: flag === 1 };
    }
    case TAG.ack:
      return { type: "ack", seq: r.u32("seq") };
    case TAG.nack:
      return { type: "nack", seq: r.u32("seq") };
    case TAG.alive: {
      const node = r.str8("node");
      const incarnation = r.u32("incarnation");
      const addr = r.str8("address");
      return { type: "alive", node, incarnation, addr, meta: readMeta(r) };
    }
    case TAG.suspect:
    case TAG.dead: {
      const node = r.str8("node");
      const incarnation = r.u32("incarnation");
      const from = r.str8("from");
      return { type: tag === TAG.suspect ? "suspect" : "dead", node, incarnation, from };
    }
    case TAG.user: {
      const origin = r.str8("origin");
      const seq = r.u32("seq");
      const payload = r.bytes(r.u16("payload length"), "payload");
      return { type: "user", origin, seq, payload };
    }
    case TAG.compound: {
      if (nested) throw new Malformed("swim.codec.bad_value", "compound messages do not nest", at);
      const n = r.u8("part count");
      const parts: Message[] = [];
      for (let i = 0; i < n; i++) {
        const len = r.u16("part length");
        r.need(len, "part");
        const end = r.pos + len;
        const part = readMessage(r, true);
        if (r.pos !== end) throw new Malformed("swim.codec.bad_value", `compound part ${i} length ${len} does not match its content`, r.pos);
        parts.push(part);
      }
      return { type: "compound", parts };
    }
    default:
      throw new Malformed("swim.codec.unknown_tag", `unknown message tag ${tag}`, at);
  }
}

function total<T>(bytes: Uint8Array, read: (r: Reader) => T): DecodeResult<T> {
  const r = new Reader(bytes);
  try {
    const value = read(r);
    if (r.remaining !== 0) {
      return { ok: false, error: { code: "swim.codec.trailing_bytes", message: `${r.remaining} bytes after the message`, offset: r.pos } };
    }
    return { ok: true, value };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, error: { code: e.code, message: e.message, offset: e.offset } };
    // Anything else is a bug in this file; still never let a packet crash the caller.
    return { ok: false, error: { code: "swim.codec.bad_value", message: `undecodable: ${String(e)}`, offset: r.pos } };
  }
}

/** Decode one UDP packet. Never throws. */
export function decodeMessage(bytes: Uint8Array): DecodeResult<Message> {
  return total(bytes, (r) => readMessage(r, false));
}

// ---------------------------------------------------------------- streams

function writeDigest(w: Writer, e: DigestEntry): void {
  w.str8(e.node);
  w.u32(e.incarnation);
  w.u8(STATES.indexOf(e.state));
}
function readState(r: Reader): MemberState {
  const at = r.pos;
  const s = STATES[r.u8("state")];
  if (s === undefined) throw new Malformed("swim.codec.bad_value", "unknown member state", at);
  return s;
}
function readDigest(r: Reader): DigestEntry {
  const node = r.str8("node");
  const incarnation = r.u32("incarnation");
  return { node, incarnation, state: readState(r) };
}
function writeRecord(w: Writer, e: MemberRecord): void {
  writeDigest(w, e);
  w.str8(e.addr);
  writeMeta(w, e.meta);
}
function readRecord(r: Reader): MemberRecord {
  const d = readDigest(r);
  const addr = r.str8("address");
  return { ...d, addr, meta: readMeta(r) };
}

/** Encode a push-pull stream message (the transport adds its own length framing). */
export function encodeStream(m: StreamMessage): Uint8Array {
  const w = new Writer(256);
  w.u8(TAG[m.type]);
  w.str8(m.from);
  switch (m.type) {
    case "pp-request":
      // Flags: bit 0 join, bit 1 scoped (then the scope follows).
      w.u8((m.join ? 1 : 0) | (m.scope !== undefined ? 2 : 0));
      if (m.scope !== undefined) {
        w.u16(m.scope.buckets);
        w.u16(m.scope.indices.length);
        for (const i of m.scope.indices) w.u16(i);
      }
      w.u32(m.members.length);
      for (const e of m.members) writeDigest(w, e);
      w.blob32(m.userDigest);
      break;
    case "pp-response":
      w.u32(m.updates.length);
      for (const e of m.updates) writeRecord(w, e);
      w.u32(m.want.length);
      for (const id of m.want) w.str8(id);
      w.blob32(m.userDiff);
      w.blob32(m.userDigest);
      break;
    case "pp-final":
      w.u32(m.updates.length);
      for (const e of m.updates) writeRecord(w, e);
      w.blob32(m.userDiff);
      break;
    case "pp-sync":
      w.u16(m.buckets.length);
      for (const h of m.buckets) w.u32(h);
      break;
    case "tcp-ping":
      w.u32(m.seq);
      w.str8(m.target);
      break;
    case "tcp-ack":
      w.u32(m.seq);
      break;
  }
  return w.done();
}

/** Decode a push-pull stream message. Never throws. */
export function decodeStream(bytes: Uint8Array): DecodeResult<StreamMessage> {
  if (bytes.length > MAX_STREAM_BYTES) {
    return { ok: false, error: { code: "swim.codec.too_large", message: `stream message of ${bytes.length} bytes exceeds ${MAX_STREAM_BYTES}`, offset: 0 } };
  }
  return total(bytes, (r): StreamMessage => {
    const at = r.pos;
    const tag = r.u8("tag");
    const from = r.str8("from");
    switch (tag) {
      case TAG["pp-request"]: {
        const jf = r.u8("join flag");
        if (jf > 3) throw new Malformed("swim.codec.bad_value", "pp-request flags must be 0..3", r.pos - 1);
        let scope: PushPullScope | undefined;
        if ((jf & 2) !== 0) {
          const sat = r.pos;
          const buckets = r.u16("bucket count");
          if (buckets < 1 || buckets > MAX_PUSH_PULL_BUCKETS) throw new Malformed("swim.codec.bad_value", `bucket count ${buckets} outside 1..${MAX_PUSH_PULL_BUCKETS}`, sat);
          const ni = r.u16("bucket index count");
          if (ni > buckets) throw new Malformed("swim.codec.bad_value", "more bucket indices than buckets", r.pos - 2);
          r.need(2 * ni, "bucket indices");
          const indices: number[] = [];
          for (let i = 0; i < ni; i++) {
            const ix = r.u16("bucket index");
            if (ix >= buckets) throw new Malformed("swim.codec.bad_value", `bucket index ${ix} out of range`, r.pos - 2);
            indices.push(ix);
          }
          scope = { buckets, indices };
        }
        const n = r.count32("member count", 6);
        const members: DigestEntry[] = [];
        for (let i = 0; i < n; i++) members.push(readDigest(r));
        const userDigest = r.blob32("user digest");
        const join = (jf & 1) === 1;
        return scope === undefined ? { type: "pp-request", from, join, members, userDigest } : { type: "pp-request", from, join, members, userDigest, scope };
      }
      case TAG["pp-sync"]: {
        const at2 = r.pos;
        const nb = r.u16("bucket count");
        if (nb < 1 || nb > MAX_PUSH_PULL_BUCKETS) throw new Malformed("swim.codec.bad_value", `bucket count ${nb} outside 1..${MAX_PUSH_PULL_BUCKETS}`, at2);
        r.need(4 * nb, "bucket hashes");
        const buckets: number[] = [];
        for (let i = 0; i < nb; i++) buckets.push(r.u32("bucket hash"));
        return { type: "pp-sync", from, buckets };
      }
      case TAG["pp-response"]: {
        const n = r.count32("update count", 17);
        const updates: MemberRecord[] = [];
        for (let i = 0; i < n; i++) updates.push(readRecord(r));
        const nw = r.count32("want count", 1);
        const want: string[] = [];
        for (let i = 0; i < nw; i++) want.push(r.str8("wanted id"));
        const userDiff = r.blob32("user diff");
        return { type: "pp-response", from, updates, want, userDiff, userDigest: r.blob32("user digest") };
      }
      case TAG["pp-final"]: {
        const n = r.count32("update count", 17);
        const updates: MemberRecord[] = [];
        for (let i = 0; i < n; i++) updates.push(readRecord(r));
        return { type: "pp-final", from, updates, userDiff: r.blob32("user diff") };
      }
      case TAG["tcp-ping"]: {
        const seq = r.u32("seq");
        return { type: "tcp-ping", from, seq, target: r.str8("target") };
      }
      case TAG["tcp-ack"]:
        return { type: "tcp-ack", from, seq: r.u32("seq") };
      default:
        throw new Malformed("swim.codec.unknown_tag", `unknown stream tag ${tag}`, at);
    }
  });
}
