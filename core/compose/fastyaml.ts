/**
 * A fast parser for the YAML that compose files are made of: block mappings
 * and sequences, single-line plain/quoted scalars, single-line flow
 * collections, comments, anchors, aliases and `<<` merge keys, with the YAML
 * 1.2 core schema (plus 0755-style octal, as in source.ts). It records the
 * same positions as source.ts. Anything outside that subset — block scalars,
 * tags, multi-line scalars or flow collections, complex keys, several
 * documents, and every error including duplicate keys — returns undefined, and
 * the caller falls back to the full `yaml` package, which then produces the
 * exact same value or the proper diagnostic. Why: the `yaml` package takes
 * seconds on a 1,000-service file; this takes tens of milliseconds.
 * A differential property test (test/core/compose/fastyaml.test.ts) keeps the
 * two in agreement.
 */
import type { SourceLocation } from "../errors.ts";
import { MAX_NESTING_DEPTH } from "../limits.ts";
import { Locations } from "./locations.ts";

/** Paths are carried as their printed form (`services.web.ports[1]`), built incrementally. */
type P = string;
const childKey = (p: P, k: string): P => (p === "" ? k : `${p}.${k}`);
const childIdx = (p: P, i: number): P => `${p}[${i}]`;

class Bail extends Error {}
const BAIL = new Bail();

interface Line {
  indent: number;
  text: string;
  no: number;
}

const MERGE = "<<";

/**
 * Parses `text`, or returns undefined when it is outside the subset. Positions
 * are recorded lazily: the returned Locations re-parses with recording on the
 * first lookup (only diagnostics need them).
 */
export function fastParse(file: string, text: string): { value: unknown; locations: Locations } | undefined {
  try {
    const value = new FastParser(file, text, undefined).parse();
    const locations = Locations.lazy((l) => void new FastParser(file, text, l).parse());
    return { value, locations };
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

class FastParser {
  private readonly lines: Line[] = [];
  private idx = 0;
  private readonly anchors = new Map<string, unknown>();
  private aliasBudget = 100_000;
  /** Collections open around the one being parsed; past the nesting limit we bail and source.ts reports it. */
  private depth = 0;
  private readonly sizes = new WeakMap<object, number>();

  constructor(
    private readonly file: string,
    text: string,
    /** Where to record positions; undefined = do not record. */
    private readonly locations: Locations | undefined,
  ) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const raw = text.split("\n");
    let seenContent = false;
    for (let i = 0; i < raw.length; i++) {
      let l = raw[i]!;
      if (l.endsWith("\r")) l = l.slice(0, -1);
      let n = 0;
      while (n < l.length && l.charCodeAt(n) === 32) n++;
      if (n === l.length) continue;
      const c = l[n]!;
      if (c === "\t") {
        // A tab in indentation is an error in YAML; tab-only lines are blank.
        if (l.slice(n).trim() === "") continue;
        throw BAIL;
      }
      if (c === "#") continue;
      // Tabs and stray carriage returns have subtle YAML rules; leave such lines to the yaml package.
      if (l.includes("\t") || l.includes("\r")) throw BAIL;
      const t = l.slice(n);
      if (n === 0 && (t.startsWith("---") || t.startsWith("...") || t.startsWith("%"))) {
        if (!seenContent && t.startsWith("---") && /^---\s*(#.*)?$/.test(t)) continue;
        throw BAIL;
      }
      seenContent = true;
      this.lines.push({ indent: n, text: t.trimEnd(), no: i + 1 });
    }
  }

  parse(): unknown {
    let value: unknown = null;
    if (this.lines.length) {
      const first = this.lines[0]!;
      value = this.block(first.indent, "");
      if (this.idx < this.lines.length) throw BAIL;
    }
    return value;
  }

  private loc(line: number, col: number): SourceLocation {
    return { file: this.file, line, column: col };
  }

  /** >0 while parsing a `<<` merge value: merged content keeps no positions (as in source.ts). */
  private suppress = 0;

  private setValueLoc(path: P, line: number, col: number): void {
    if (this.suppress) return;
    this.locations?.values.set(path, this.loc(line, col));
  }

  /** A block node whose first line is lines[idx], at indentation n. */
  private block(n: number, path: P): unknown {
    const line = this.lines[this.idx]!;
    if (line.indent !== n) throw BAIL;
    if (isSeqItem(line.text)) return this.seq(n, path);
    if (this.keyOf(line.text)) return this.map(n, path);
    // A lone scalar (a document that is just a value).
    this.setValueLoc(path, line.no, n + 1);
    const v = this.inline(line.text, line, n + 1, path);
    this.idx++;
    return v;
  }

  /** Entering a collection: bail past the nesting limit, before recursion can exhaust the stack. */
  enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw BAIL;
  }
  leave(): void {
    this.depth--;
  }

  private seq(n: number, path: P): unknown[] {
    this.enter();
    const arr: unknown[] = [];
    const first = this.lines[this.idx]!;
    this.setValueLoc(path, first.no, n + 1);
    while (this.idx < this.lines.length) {
      const line = this.lines[this.idx]!;
      if (line.indent < n) break;
      if (line.indent === n && !isSeqItem(line.text)) break; // back to the enclosing "key:" mapping
      if (line.indent > n) throw BAIL;
      const ipath = this.locations ? childIdx(path, arr.length) : "";
      let off = 1;
      while (off < line.text.length && line.text.charCodeAt(off) === 32) off++;
      const rest = line.text.slice(off);
      if (rest === "" || rest.startsWith("#")) {
        this.idx++;
        const next = this.lines[this.idx];
        if (next && next.indent > n) arr.push(this.block(next.indent, ipath));
        else {
          this.setValueLoc(ipath, line.no, n + 1);
          arr.push(null);
        }
        continue;
      }
      if (isSeqItem(rest)) throw BAIL;
      if (rest.startsWith("&")) {
        const { name, after } = anchorOf(rest);
        if (after === "" || after.startsWith("#")) {
          this.idx++;
          const next = this.lines[this.idx];
          if (!next || next.indent <= n) throw BAIL;
          const v = this.block(next.indent, ipath);
          this.anchors.set(name, v);
          arr.push(v);
          continue;
        }
      }
      if (this.keyOf(rest)) {
        // Compact mapping: "- key: value" continues on lines indented like "key".
        this.lines[this.idx] = { indent: n + off, text: rest, no: line.no };
        arr.push(this.map(n + off, ipath));
        continue;
      }
      this.setValueLoc(ipath, line.no, n + off + 1);
      arr.push(this.inline(rest, line, n + off + 1, ipath));
      this.idx++;
      const next = this.lines[this.idx];
      if (next && next.indent > n) throw BAIL; // multi-line scalar
    }
    this.leave();
    return arr;
  }

  /** Parses the key of a mapping line, or undefined if the line is not `key: …`. */
  private keyOf(text: string): { key: string; after: string; afterOff: number } | undefined {
    const c = text[0]!;
    let key: string;
    let end: number;
    if (c === '"' || c === "'") {
      const q = quoted(text, 0);
      if (!q) return undefined;
      key = q.value;
      end = q.end;
      while (end < text.length && text.charCodeAt(end) === 32) end++;
      if (text[end] !== ":" || (end + 1 < text.length && text[end + 1] !== " ")) return undefined;
    } else {
      if (!/[A-Za-z0-9_.$\/<~+(=]/.test(c) && !(c === "-" && text.length > 1 && text[1] !== " ")) return undefined;
      let j = text.indexOf(":");
      while (j >= 0 && j + 1 < text.length && text[j + 1] !== " ") j = text.indexOf(":", j + 1);
      if (j < 0) return undefined;
      const hash = text.indexOf(" #");
      if (hash >= 0 && hash < j) return undefined;
      key = text.slice(0, j).replace(/\s+$/, "");
      if (/[\[\]{},]/.test(key) || key.includes(" #")) throw BAIL;
      end = j;
      if (key === "") return undefined;
      if (key !== MERGE) {
        // A key that reads as a number, boolean or null is an error in a compose file: the full parser reports it.
        if (typeof resolvePlain(key) !== "string") throw BAIL;
      }
    }
    let a = end + 1;
    while (a < text.length && text.charCodeAt(a) === 32) a++;
    return { key, after: text.slice(a), afterOff: a };
  }

  private map(n: number, path: P): Record<string, unknown> {
    this.enter();
    const obj: Record<string, unknown> = {};
    const merges: unknown[] = [];
    const first = this.lines[this.idx]!;
    this.setValueLoc(path, first.no, n + 1);
    while (this.idx < this.lines.length) {
      const line = this.lines[this.idx]!;
      if (line.indent < n) break;
      if (line.indent > n) throw BAIL;
      if (isSeqItem(line.text)) break; // belongs to an enclosing "key:\n- item" sequence
      const k = this.keyOf(line.text);
      if (!k) throw BAIL;
      const { key, after, afterOff } = k;
      const isMerge = key === MERGE && !line.text.startsWith('"') && !line.text.startsWith("'");
      if (!isMerge && Object.hasOwn(obj, key)) throw BAIL; // duplicate key: let yaml report it
      if (key === "__proto__") throw BAIL; // yaml defines it as an own property; plain assignment would not
      const kpath = this.locations ? childKey(path, key) : "";
      if (!isMerge) this.locations?.keys.set(kpath, this.loc(line.no, n + 1));
      let value: unknown;
      let anchor: string | undefined;
      let rest = after;
      let restOff = afterOff;
      if (rest.startsWith("&")) {
        const a = anchorOf(rest);
        anchor = a.name;
        restOff += rest.length - a.after.length;
        rest = a.after;
      }
      if (isMerge) this.suppress++;
      if (rest === "" || rest.startsWith("#")) {
        this.idx++;
        const next = this.lines[this.idx];
        if (next && next.indent > n) value = isMerge ? this.block(next.indent, "") : this.block(next.indent, kpath);
        else if (next && next.indent === n && isSeqItem(next.text)) value = isMerge ? this.seq(n, "") : this.seq(n, kpath);
        else {
          value = null;
          // yaml places an empty value just after "key:".
          if (!isMerge) this.setValueLoc(kpath, line.no, n + afterOff + 1);
        }
      } else {
        if (!isMerge) this.setValueLoc(kpath, line.no, n + restOff + 1);
        value = this.inline(rest, line, n + restOff + 1, isMerge ? "" : kpath);
        this.idx++;
        const next = this.lines[this.idx];
        if (next && next.indent > n) throw BAIL; // multi-line scalar
      }
      if (isMerge) this.suppress--;
      if (anchor !== undefined) this.anchors.set(anchor, value);
      if (isMerge) {
        if (Array.isArray(value)) merges.push(...value);
        else merges.push(value);
      } else obj[key] = value;
    }
    for (const m of merges) {
      if (typeof m !== "object" || m === null || Array.isArray(m)) throw BAIL;
      for (const [k, v] of Object.entries(m)) if (!Object.hasOwn(obj, k)) obj[k] = v;
    }
    this.leave();
    return obj;
  }

  /** A value that fits on the line: alias, flow collection, quoted or plain scalar. */
  private inline(s: string, line: Line, col: number, path: P): unknown {
    const c = s[0]!;
    if (c === "*") {
      const m = /^\*([^\s,\[\]{}]+)(\s+#.*|\s*)$/.exec(s);
      if (!m) throw BAIL;
      return this.alias(m[1]!);
    }
    if (c === "&") {
      const { name, after } = anchorOf(s);
      if (after === "" || after.startsWith("#")) throw BAIL;
      const v = this.inline(after, line, col + (s.length - after.length), path);
      this.anchors.set(name, v);
      return v;
    }
    if (c === "[" || c === "{") {
      const f = new Flow(s, line.no, col, this);
      const v = f.node(path);
      if (!trailingOk(s, f.i)) throw BAIL;
      return v;
    }
    if (c === '"' || c === "'") {
      const q = quoted(s, 0);
      if (!q || !trailingOk(s, q.end)) throw BAIL;
      return q.value;
    }
    if ("!|>%@`?,]}".includes(c)) throw BAIL;
    if (c === "-" && (s.length === 1 || s[1] === " ")) throw BAIL;
    let v = s;
    const hash = v.indexOf(" #");
    if (hash >= 0) v = v.slice(0, hash).replace(/\s+$/, "");
    if (v.includes(": ") || v.endsWith(":") || v.includes("\t")) throw BAIL;
    return resolvePlain(v);
  }

  get recording(): boolean {
    return this.locations !== undefined;
  }

  recordFlow(path: P, line: number, col: number, key: boolean): void {
    if (!this.locations || this.suppress) return;
    const m = key ? this.locations.keys : this.locations.values;
    m.set(path, this.loc(line, col));
  }

  alias(name: string): unknown {
    if (!this.anchors.has(name)) throw BAIL;
    const v = this.anchors.get(name);
    // Aliases share structure here but are expanded by every later stage: bound the
    // expanded size (billion laughs) and let the yaml package report the excess.
    this.aliasBudget -= nodeSize(v, this.sizes);
    if (this.aliasBudget < 0) throw BAIL;
    return v;
  }
}

class Flow {
  i = 0;
  constructor(
    readonly s: string,
    readonly line: number,
    readonly col: number,
    readonly p: FastParser,
  ) {}

  ws(): void {
    while (this.i < this.s.length && this.s.charCodeAt(this.i) === 32) this.i++;
  }

  node(path: P): unknown {
    this.ws();
    const s = this.s;
    const c = s[this.i];
    if (c === undefined) throw BAIL;
    this.p.recordFlow(path, this.line, this.col + this.i, false);
    if (c === "[") {
      this.i++;
      this.p.enter();
      const arr: unknown[] = [];
      for (;;) {
        this.ws();
        if (s[this.i] === "]") {
          this.i++;
          this.p.leave();
          return arr;
        }
        arr.push(this.node(this.p.recording ? childIdx(path, arr.length) : ""));
        this.ws();
        if (s[this.i] === ":") throw BAIL; // single-pair mapping inside a sequence
        if (s[this.i] === ",") this.i++;
        else if (s[this.i] !== "]") throw BAIL;
      }
    }
    if (c === "{") {
      this.i++;
      this.p.enter();
      const obj: Record<string, unknown> = {};
      for (;;) {
        this.ws();
        if (s[this.i] === "}") {
          this.i++;
          this.p.leave();
          return obj;
        }
        const kc = this.col + this.i;
        const k = this.scalar(true);
        if (typeof k === "object" && k !== null) throw BAIL;
        if (k === null) throw BAIL;
        const key = String(k);
        if (key === MERGE || key === "__proto__" || Object.hasOwn(obj, key)) throw BAIL;
        const kpath = this.p.recording ? childKey(path, key) : "";
        this.p.recordFlow(kpath, this.line, kc, true);
        this.ws();
        let v: unknown = null;
        if (s[this.i] === ":") {
          this.i++;
          this.ws();
          if (s[this.i] === "," || s[this.i] === "}") this.p.recordFlow(kpath, this.line, kc, false);
          else v = this.node(kpath);
        } else this.p.recordFlow(kpath, this.line, kc, false);
        obj[key] = v;
        this.ws();
        if (s[this.i] === ",") this.i++;
        else if (s[this.i] !== "}") throw BAIL;
      }
    }
    if (c === "*") {
      const m = /^\*([^\s,\[\]{}]+)/.exec(s.slice(this.i));
      if (!m) throw BAIL;
      this.i += m[0].length;
      return this.p.alias(m[1]!);
    }
    return this.scalar(false);
  }

  scalar(isKey: boolean): unknown {
    const s = this.s;
    const c = s[this.i]!;
    if (c === '"' || c === "'") {
      const q = quoted(s, this.i);
      if (!q) throw BAIL;
      this.i = q.end;
      return q.value;
    }
    if ("!&*|>%@`#?-[{]},".includes(c) && !(c === "-" && /[0-9.A-Za-z]/.test(s[this.i + 1] ?? ""))) throw BAIL;
    const start = this.i;
    while (this.i < s.length) {
      const ch = s[this.i]!;
      if (ch === "," || ch === "]" || ch === "}" || ch === "[" || ch === "{") break;
      if (ch === ":" && (this.i + 1 >= s.length || " ,]}[{".includes(s[this.i + 1]!))) break;
      if (ch === "#" && s[this.i - 1] === " ") throw BAIL;
      this.i++;
    }
    const raw = s.slice(start, this.i).replace(/\s+$/, "");
    if (raw === "") throw BAIL;
    const v = resolvePlain(raw);
    if (isKey && typeof v !== "string") throw BAIL;
    return v;
  }
}

function nodeSize(v: unknown, cache: WeakMap<object, number>): number {
  if (typeof v !== "object" || v === null) return 1;
  const hit = cache.get(v);
  if (hit !== undefined) return hit;
  let n = 1;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += nodeSize(x, cache);
  cache.set(v, n);
  return n;
}

/** After a value: only spaces, or at least one space then a comment (YAML needs the space). */
function trailingOk(s: string, i: number): boolean {
  let j = i;
  while (j < s.length && s.charCodeAt(j) === 32) j++;
  return j === s.length || (s[j] === "#" && j > i);
}

function isSeqItem(t: string): boolean {
  return t === "-" || (t.charCodeAt(0) === 45 && t.charCodeAt(1) === 32);
}

function anchorOf(s: string): { name: string; after: string } {
  const m = /^&([^\s,\[\]{}]+)\s*/.exec(s);
  if (!m) throw BAIL;
  const after = s.slice(m[0].length);
  if (after.startsWith("&") || after.startsWith("*")) throw BAIL; // one anchor per node; no anchor on an alias
  return { name: m[1]!, after };
}

const ESC: Record<string, string> = { "0": "\0", a: "\x07", b: "\b", t: "\t", "\t": "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", N: "\x85", _: "\xa0", L: "\u2028", P: "\u2029" };

/** A quoted scalar starting at s[i], closed on the same line. */
function quoted(s: string, i: number): { value: string; end: number } | undefined {
  const q = s[i];
  let out = "";
  let j = i + 1;
  if (q === "'") {
    for (;;) {
      const k = s.indexOf("'", j);
      if (k < 0) return undefined;
      out += s.slice(j, k);
      if (s[k + 1] === "'") {
        out += "'";
        j = k + 2;
        continue;
      }
      return { value: out, end: k + 1 };
    }
  }
  const close = s.indexOf('"', j);
  if (close < 0) return undefined;
  if (s.indexOf("\\", j) < 0 || s.indexOf("\\", j) > close) return { value: s.slice(j, close), end: close + 1 };
  while (j < s.length) {
    const ch = s[j]!;
    if (ch === '"') return { value: out, end: j + 1 };
    if (ch === "\\") {
      const e = s[j + 1];
      if (e === undefined) return undefined;
      if (e === "x" || e === "u" || e === "U") {
        const len = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = s.slice(j + 2, j + 2 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw BAIL;
        out += String.fromCodePoint(parseInt(hex, 16));
        j += 2 + len;
        continue;
      }
      const r = ESC[e];
      if (r === undefined) throw BAIL;
      out += r;
      j += 2;
      continue;
    }
    out += ch;
    j++;
  }
  return undefined;
}

const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** YAML 1.2 core schema resolution of a plain scalar, plus 0755-style octal. */
export function resolvePlain(v: string): unknown {
  const c = v.charCodeAt(0);
  // Fast exit: most compose scalars start with a letter that cannot begin a special value.
  if ((c >= 97 && c <= 122 && c !== 116 && c !== 102 && c !== 110) || c === 47) return v;
  switch (v) {
    case "~":
    case "null":
    case "Null":
    case "NULL":
      return null;
    case "true":
    case "True":
    case "TRUE":
      return true;
    case "false":
    case "False":
    case "FALSE":
      return false;
    case ".inf":
    case ".Inf":
    case ".INF":
    case "+.inf":
    case "+.Inf":
    case "+.INF":
      return Infinity;
    case "-.inf":
    case "-.Inf":
    case "-.INF":
      return -Infinity;
    case ".nan":
    case ".NaN":
    case ".NAN":
      return NaN;
  }
  if (INT.test(v)) {
    if (/^0[0-7]+$/.test(v)) return parseInt(v, 8);
    return Number(v);
  }
  if (/^0o[0-7]+$/.test(v)) return parseInt(v.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(v)) return parseInt(v.slice(2), 16);
  if (FLOAT.test(v)) return Number(v);
  return v;
}
