/**
 * Reading SOPS files (YAML or JSON, including SOPS's JSON form of binary
 * files) whose data key is age-encrypted, and verifying their MAC. Written
 * from SOPS's format as its source defines it (getsops/sops: sops.go,
 * aes/cipher.go, stores/stores.go); no SOPS code is used:
 *
 *  - the `sops` mapping holds the metadata: `age` entries (or `key_groups`,
 *    split with Shamir) whose `enc` is an armored age file of the 32-byte data
 *    key, `lastmodified`, `mac`, and which keys stay unencrypted
 *    (`unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`,
 *    `encrypted_regex`, `mac_only_encrypted`);
 *  - a value is `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str|int|float|bool|bytes|time]`,
 *    AES-256-GCM with a 32-byte IV and the value's key path joined by ":"
 *    plus a final ":" as associated data (list items add nothing to the path);
 *  - the MAC is SHA-512 over every value's plaintext in document order
 *    (comments excluded; ints, floats and bools in Go's spelling), upper-case
 *    hex, stored encrypted under the data key with `lastmodified` (RFC 3339)
 *    as associated data.
 *
 * Comments are never decrypted or delivered. The `*_comment_regex` options
 * (which need YAML comments threaded through the walk) are refused by name.
 */
import { gcm } from "@noble/ciphers/aes.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { combine as combineShares } from "shamir-secret-sharing";
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from "yaml";
import { decryptAge } from "./age.ts";
import type { Aead } from "./age-stream.ts";
import { hex } from "./keys.ts";
import { fromBase64 } from "../state/cluster-state.ts";

export type SopsFailureKind = "format" | "no_key" | "value" | "mac" | "key_path" | "unsupported";

export type SopsResult =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly kind: SopsFailureKind; readonly message: string; readonly line?: number };

/** A key path: strings select mapping keys, numbers list items. */
export type KeyPath = readonly (string | number)[];

const ENC_RE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** True when `text` parses as a YAML/JSON mapping with a SOPS metadata block. */
export function isSopsDocument(text: string): boolean {
  if (!/\bsops\b/.test(text) || !/\bmac\b/.test(text)) return false;
  try {
    const doc = parseDocument(text, { uniqueKeys: false });
    const meta = doc.get("sops", true);
    return isMap(meta) && meta.has("mac") && meta.has("lastmodified");
  } catch {
    return false;
  }
}

/**
 * `["a"]["b"][0]` (the form of `sops --extract`) or `a.b.0` → a key path.
 * Undefined when it cannot be read.
 */
export function parseKeyPath(s: string): KeyPath | undefined {
  const t = s.trim();
  if (t === "") return [];
  if (t.startsWith("[")) {
    const out: (string | number)[] = [];
    const re = /\[(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\d+))\]/y;
    let i = 0;
    while (i < t.length) {
      re.lastIndex = i;
      const m = re.exec(t);
      if (!m) return undefined;
      out.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2] !== undefined ? m[2] : Number(m[3]));
      i = re.lastIndex;
    }
    return out;
  }
  return t.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export function formatKeyPath(p: KeyPath): string {
  return p.map((k) => (typeof k === "number" ? `[${k}]` : `[${JSON.stringify(k)}]`)).join("");
}

function b64(s: string): Uint8Array | undefined {
  if (!B64_RE.test(s) || s.length % 4 !== 0) return undefined;
  return fromBase64(s);
}

/** Go's time.RFC3339 formatting of a parsed RFC 3339 stamp: no fraction, "Z" for a zero offset. */
export function rfc3339(s: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const off = m[3]!.toUpperCase();
  return `${m[1]}T${m[2]}${off === "Z" || off === "+00:00" || off === "-00:00" ? "Z" : off}`;
}

interface Encrypted {
  data: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  type: string;
}

function parseEnc(v: string): Encrypted | undefined {
  const m = ENC_RE.exec(v);
  if (!m) return undefined;
  const data = b64(m[1]!);
  const iv = b64(m[2]!);
  const tag = b64(m[3]!);
  if (!data || !iv || !tag || tag.length !== 16 || iv.length === 0) return undefined;
  return { data, iv, tag, type: m[4]! };
}

function openGcm(key: Uint8Array, e: Encrypted, aad: string): Uint8Array | undefined {
  const sealed = new Uint8Array(e.data.length + e.tag.length);
  sealed.set(e.data, 0);
  sealed.set(e.tag, e.data.length);
  try {
    return gcm(key, e.iv, enc.encode(aad)).decrypt(sealed);
  } catch {
    return undefined;
  }
}

/** A float in Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round trip, never an exponent. */
export function goFloat(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : x < 0 ? "-Inf" : "NaN";
  const s = String(x);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = "", expS] = m;
  const exp = Number(expS);
  const digits = int! + frac;
  const point = int!.length + exp;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** The bytes SOPS hashes into the MAC for a decrypted value of `type` (sops.ToBytes after parsing). */
function macBytes(type: string, plain: Uint8Array): Uint8Array | string {
  const s = dec.decode(plain);
  switch (type) {
    case "str":
    case "bytes":
    case "time":
      return plain;
    case "int":
      if (!/^[+-]?\d+$/.test(s)) return `an int value '${s}' that is not an integer`;
      return enc.encode(BigInt(s).toString());
    case "float": {
      const x = Number(s);
      if (s.trim() === "" || Number.isNaN(x) && s !== "NaN") return `a float value '${s}' that is not a number`;
      return enc.encode(goFloat(x));
    }
    case "bool":
      if (GO_TRUE.has(s)) return enc.encode("True");
      if (GO_FALSE.has(s)) return enc.encode("False");
      return `a bool value '${s}' that is not a boolean`;
    default:
      return `an unknown value type '${type}'`;
  }
}

/** The MAC bytes of a value left in clear (an unencrypted key): what SOPS's YAML/JSON stores hand it. */
function clearBytes(v: unknown): Uint8Array | undefined {
  if (typeof v === "string") return enc.encode(v);
  if (typeof v === "boolean") return enc.encode(v ? "True" : "False");
  if (typeof v === "number") return enc.encode(Number.isInteger(v) ? String(v) : goFloat(v));
  if (typeof v === "bigint") return enc.encode(v.toString());
  return undefined; // null: SOPS skips it
}

interface Meta {
  lastmodified: string;
  mac: string;
  groups: { recipient: string; enc: string }[][];
  threshold: number;
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: RegExp;
  encryptedRegex?: RegExp;
  macOnlyEncrypted: boolean;
}

/** sha256("sops"): what SOPS starts a mac_only_encrypted MAC with. */
const MAC_ONLY_ENCRYPTED_INIT = Uint8Array.from([
  0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
]);

type Fail = Extract<SopsResult, { ok: false }>;

function readMeta(doc: Document, lineOf: (n: Node | null | undefined) => number | undefined): Meta | Fail {
  const m = doc.get("sops", true);
  const line = lineOf(m as Node);
  if (!isMap(m)) return { ok: false, kind: "format", message: "no `sops` metadata mapping", ...(line ? { line } : {}) };
  const js = (m as unknown as { toJSON(): Record<string, unknown> }).toJSON();
  const str = (k: string) => (typeof js[k] === "string" ? (js[k] as string) : undefined);
  for (const k of ["unencrypted_comment_regex", "encrypted_comment_regex"]) {
    if (str(k)) return { ok: false, kind: "unsupported", message: `SOPS files that use ${k} are not supported; use unencrypted_suffix, encrypted_suffix or the key regexes`, ...(line ? { line } : {}) };
  }
  const lastmodified = str("lastmodified");
  const mac = str("mac");
  if (!lastmodified || !mac) return { ok: false, kind: "format", message: "the `sops` metadata has no lastmodified or no mac", ...(line ? { line } : {}) };
  const ages = (v: unknown): { recipient: string; enc: string }[] =>
    Array.isArray(v) ? v.filter((a): a is { recipient: string; enc: string } => typeof a?.recipient === "string" && typeof a?.enc === "string") : [];
  let groups: { recipient: string; enc: string }[][] = [];
  if (Array.isArray(js.key_groups) && js.key_groups.length > 0) groups = js.key_groups.map((g) => ages((g as Record<string, unknown>)?.age));
  else groups = [ages(js.age)];
  const threshold = typeof js.shamir_threshold === "number" ? js.shamir_threshold : groups.length;
  let unencryptedRegex: RegExp | undefined;
  let encryptedRegex: RegExp | undefined;
  try {
    if (str("unencrypted_regex")) unencryptedRegex = new RegExp(str("unencrypted_regex")!);
    if (str("encrypted_regex")) encryptedRegex = new RegExp(str("encrypted_regex")!);
  } catch (e) {
    return { ok: false, kind: "unsupported", message: `a key regex SOPS recorded cannot be used here: ${(e as Error).message}` };
  }
  return {
    lastmodified,
    mac,
    groups,
    threshold,
    ...(str("unencrypted_suffix") ? { unencryptedSuffix: str("unencrypted_suffix")! } : {}),
    ...(str("encrypted_suffix") ? { encryptedSuffix: str("encrypted_suffix")! } : {}),
    ...(unencryptedRegex ? { unencryptedRegex } : {}),
    ...(encryptedRegex ? { encryptedRegex } : {}),
    macOnlyEncrypted: js.mac_only_encrypted === true,
  };
}

/** sops.Tree.shouldBeEncrypted for a path (the comment rules are refused earlier). */
function shouldBeEncrypted(meta: Meta, path: readonly string[]): boolean {
  let encrypted = true;
  if (meta.unencryptedSuffix && path.some((p) => p.endsWith(meta.unencryptedSuffix!))) encrypted = false;
  if (meta.encryptedSuffix) encrypted = path.some((p) => p.endsWith(meta.encryptedSuffix!));
  if (meta.unencryptedRegex && path.some((p) => meta.unencryptedRegex!.test(p))) encrypted = false;
  if (meta.encryptedRegex) encrypted = path.some((p) => meta.encryptedRegex!.test(p));
  return encrypted;
}

async function dataKey(meta: Meta, identities: readonly string[], aead: Aead): Promise<Uint8Array | Fail> {
  const parts: Uint8Array[] = [];
  const why: string[] = [];
  for (const group of meta.groups) {
    for (const a of group) {
      const r = await decryptAge(enc.encode(a.enc), identities, aead);
      if (r.ok) {
        parts.push(r.plaintext);
        break;
      }
      why.push(`${a.recipient}: ${r.message}`);
    }
  }
  const recipients = meta.groups.flat().map((a) => a.recipient);
  if (recipients.length === 0) return { ok: false, kind: "no_key", message: "the file's data key is not encrypted to any age recipient (only to other key types)" };
  if (meta.groups.length <= 1) {
    if (parts.length === 1 && parts[0]!.length === 32) return parts[0]!;
    return { ok: false, kind: "no_key", message: `none of this cluster's keys opens the file's data key (it is encrypted to ${recipients.join(", ")})` };
  }
  if (parts.length < meta.threshold) return { ok: false, kind: "no_key", message: `${parts.length} of the file's ${meta.groups.length} key groups open with this cluster's keys; ${meta.threshold} are needed` };
  return await combineShares(parts.slice(0, meta.threshold));
}

interface Leaf {
  path: (string | number)[];
  value: Uint8Array;
  node: Scalar;
  typed: unknown;
}

function typedValue(type: string, plain: Uint8Array): unknown {
  const s = dec.decode(plain);
  if (type === "int") return Number(s);
  if (type === "float") return Number(s);
  if (type === "bool") return GO_TRUE.has(s);
  return s;
}

/**
 * Decrypts a SOPS document with the first identities that open its data key,
 * verifies its MAC, and returns the value at `keyPath`: a scalar's bytes, or
 * with an empty path the whole decrypted document (metadata removed) in the
 * file's own format. A SOPS binary file (JSON with only `data`) yields `data`.
 */
export async function decryptSops(text: string, identities: readonly string[], aead: Aead, keyPath?: KeyPath): Promise<SopsResult> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, intAsBigInt: true });
  const lineOf = (n: Node | null | undefined) => (n && n.range ? lc.linePos(n.range[0]).line : undefined);
  if (doc.errors.length) return { ok: false, kind: "format", message: `not valid YAML/JSON: ${doc.errors[0]!.message.split("\n")[0]}`, line: doc.errors[0]!.linePos?.[0]?.line ?? 1 };
  if (!isMap(doc.contents)) return { ok: false, kind: "format", message: "a SOPS file is a mapping at the top level", line: 1 };
  const meta = readMeta(doc, lineOf);
  if ("ok" in meta) return meta;
  const key = await dataKey(meta, identities, aead);
  if ("ok" in key) return { ...key, ...(lineOf(doc.get("sops", true) as Node) ? { line: lineOf(doc.get("sops", true) as Node)! } : {}) };

  const hash = sha512.create();
  if (meta.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const leaves: Leaf[] = [];
  let failure: Fail | undefined;
  const walk = (node: unknown, keys: string[], full: (string | number)[]): void => {
    if (failure) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (keys.length === 0 && k === "sops") continue;
        if (typeof k !== "string") {
          failure = { ok: false, kind: "format", message: `a key that is not a string (${String(k)}): SOPS only supports string keys`, ...(lineOf(pair.key as Node) ? { line: lineOf(pair.key as Node)! } : {}) };
          return;
        }
        walk(pair.value, [...keys, k], [...full, k]);
      }
      return;
    }
    if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, keys, [...full, i]));
      return;
    }
    if (!isScalar(node) || node.value === null || node.value === undefined) return;
    const encrypted = shouldBeEncrypted(meta, keys);
    const line = lineOf(node);
    if (encrypted) {
      const raw = typeof node.value === "string" ? node.value : undefined;
      const e = raw !== undefined ? parseEnc(raw) : undefined;
      if (raw === "" ) return; // SOPS leaves empty strings as they are
      if (!e) {
        failure = { ok: false, kind: "value", message: `the value at ${formatKeyPath(full)} is not a SOPS-encrypted value (ENC[AES256_GCM,…])`, ...(line ? { line } : {}) };
        return;
      }
      const plain = openGcm(key, e, `${keys.join(":")}:`);
      if (!plain) {
        failure = { ok: false, kind: "value", message: `the value at ${formatKeyPath(full)} does not authenticate (tampered, or moved from another key)`, ...(line ? { line } : {}) };
        return;
      }
      const mb = macBytes(e.type, plain);
      if (typeof mb === "string") {
        failure = { ok: false, kind: "value", message: `the value at ${formatKeyPath(full)} is ${mb}`, ...(line ? { line } : {}) };
        return;
      }
      hash.update(mb);
      leaves.push({ path: full, value: plain, node, typed: typedValue(e.type, plain) });
    } else {
      const b = clearBytes(node.value);
      if (b && !meta.macOnlyEncrypted) hash.update(b);
      if (b) leaves.push({ path: full, value: b, node, typed: node.value });
    }
  };
  walk(doc.contents, [], []);
  if (failure) return failure;

  const macEnc = parseEnc(meta.mac);
  const aad = rfc3339(meta.lastmodified);
  const macLine = lineOf((doc.get("sops", true) as unknown as { get(k: string, keep: true): Node }).get("mac", true));
  if (!macEnc || !aad) return { ok: false, kind: "mac", message: "the file's MAC or lastmodified stamp is malformed", ...(macLine ? { line: macLine } : {}) };
  const macPlain = openGcm(key, macEnc, aad);
  const computed = hex(hash.digest()).toUpperCase();
  if (!macPlain || dec.decode(macPlain) !== computed) {
    return { ok: false, kind: "mac", message: "MAC mismatch: the file was changed after SOPS encrypted it (a value, a key or lastmodified was edited or removed)", ...(macLine ? { line: macLine } : {}) };
  }

  const sameKey = (a: readonly (string | number)[], b: readonly (string | number)[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const top = (doc.contents as { items: { key: unknown }[] }).items.map((p) => (isScalar(p.key) ? p.key.value : p.key)).filter((k) => k !== "sops");
  const isJson = text.trimStart().startsWith("{");
  const path = keyPath && keyPath.length > 0 ? keyPath : isJson && top.length === 1 && top[0] === "data" ? ["data"] : [];
  if (path.length > 0) {
    const leaf = leaves.find((l) => sameKey(l.path, path));
    if (leaf) return { ok: true, value: leaf.value };
    const inside = leaves.some((l) => path.every((p, i) => l.path[i] === p));
    return {
      ok: false,
      kind: "key_path",
      message: inside ? `${formatKeyPath(path)} is a mapping or list, not a value; name a value inside it` : `the file has no value at ${formatKeyPath(path)}`,
    };
  }
  // The whole document, decrypted, metadata removed.
  for (const l of leaves) l.node.value = l.typed;
  doc.delete("sops");
  return { ok: true, value: enc.encode(isJson ? `${JSON.stringify(doc.toJS(), (_k, v) => (typeof v === "bigint" ? Number(v) : v), "\t")}\n` : withoutEncryptedComments(String(doc))) };
}

/** SOPS encrypts comments too; Fizz does not decrypt them, so they are left out rather than shown as ENC[…]. */
function withoutEncryptedComments(yamlText: string): string {
  return yamlText
    .split("\n")
    .filter((l) => !/^\s*#\s*ENC\[AES256_GCM,/.test(l))
    .join("\n");
}
