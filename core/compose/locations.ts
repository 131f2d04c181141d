/**
 * Paths into a compose document (`services.web.ports[1]`) and where each
 * value and key sits in the user's files. Shared by both YAML parsers
 * (fastyaml.ts, source.ts), so neither imports the other's module for it.
 */
import type { SourceLocation } from "../errors.ts";

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

/** `services.web.ports[1]`. */
export function fmtPath(path: Path): string {
  let s = "";
  for (const seg of path) {
    if (typeof seg === "number") s += `[${seg}]`;
    else s += s === "" ? seg : `.${seg}`;
  }
  return s;
}

/**
 * Where things are in the user's files: value positions and key positions by
 * path. Filling and combining tables is deferred until a diagnostic asks for a
 * position: a valid project never pays for it.
 */
export class Locations {
  private readonly _values = new Map<string, SourceLocation>();
  private readonly _keys = new Map<string, SourceLocation>();
  /** Deferred work, run in order on first lookup: the initial fill, then absorbs and grafts. */
  private pending: ((l: Locations) => void)[] = [];

  static lazy(fill: (l: Locations) => void): Locations {
    const l = new Locations();
    l.pending.push(fill);
    return l;
  }

  private ensure(): void {
    while (this.pending.length) {
      const ops = this.pending;
      this.pending = [];
      for (const op of ops) op(this);
    }
  }
  get values(): Map<string, SourceLocation> {
    this.ensure();
    return this._values;
  }
  get keys(): Map<string, SourceLocation> {
    this.ensure();
    return this._keys;
  }
  /** True when nothing was recorded (and nothing is pending). */
  get empty(): boolean {
    return this.pending.length === 0 && this._values.size === 0 && this._keys.size === 0;
  }

  /** Position of the value at path, or of the nearest ancestor that has one. */
  at(path: Path, preferKey = false): SourceLocation | undefined {
    for (let n = path.length; n >= 0; n--) {
      const k = fmtPath(path.slice(0, n));
      const hit = (preferKey && n === path.length ? this.keys.get(k) : undefined) ?? this.values.get(k) ?? this.keys.get(k);
      if (hit) return hit;
    }
    return undefined;
  }

  /** The positions as they are at this point of the deferred work (before later absorbs and grafts change them). */
  snapshot(): Locations {
    const snap = new Locations();
    let taken = false;
    this.pending.push((self) => {
      for (const [k, v] of self._values) snap._values.set(k, v);
      for (const [k, v] of self._keys) snap._keys.set(k, v);
      taken = true;
    });
    snap.pending.push(() => {
      if (!taken) this.ensure();
    });
    return snap;
  }

  /** Copies every entry of `other` (later files win), when positions are first needed. */
  absorb(other: Locations): void {
    if (other === this) return;
    this.pending.push((self) => {
      for (const [k, v] of other.values) self._values.set(k, v);
      for (const [k, v] of other.keys) self._keys.set(k, v);
    });
  }

  /**
   * The positions of the list at `to`, item by item from where each came (`from` in `src`), when first needed:
   * a merge (extends) put a base's items and the service's own in one list, so `[i]` no longer means the i-th item
   * written in either file. Items without an origin lose their position (the list's own is used).
   */
  relist(to: Path, items: readonly ({ readonly src: Locations; readonly from: Path } | undefined)[]): void {
    const dst = fmtPath(to);
    this.pending.push((self) => {
      const under = (k: string, f: string) => k === f || k.startsWith(f + ".") || k.startsWith(f + "[");
      // Read every origin before writing: an item may move to where another one was.
      const moved = items.map((it, i) => {
        if (!it) return [];
        const f = fmtPath(it.from);
        const maps = it.src === self ? [self._values, self._keys] : [it.src.values, it.src.keys];
        return maps.map((m) => [...m].filter(([k]) => under(k, f)).map(([k, v]) => [`${dst}[${i}]${k.slice(f.length)}`, v] as const));
      });
      for (const m of [self._values, self._keys]) for (const k of [...m.keys()]) if (k.startsWith(dst + "[")) m.delete(k);
      for (const [vals, keys] of moved) {
        for (const [k, v] of vals ?? []) self._values.set(k, v);
        for (const [k, v] of keys ?? []) self._keys.set(k, v);
      }
    });
  }

  /** Copies entries under `fromPrefix` in `other` to `toPrefix` here (extends), when positions are first needed. */
  graft(other: Locations, fromPrefix: Path, toPrefix: Path, overwrite = false): void {
    const from = fmtPath(fromPrefix);
    const to = fmtPath(toPrefix);
    this.pending.push((self) => {
      const srcs = other === self ? ([[self._values, self._values], [self._keys, self._keys]] as const) : ([[other.values, self._values], [other.keys, self._keys]] as const);
      for (const [src, dst] of srcs) {
        const add: [string, SourceLocation][] = [];
        for (const [k, v] of src) {
          if (k === from || k.startsWith(from + ".") || k.startsWith(from + "[")) {
            const nk = to + k.slice(from.length);
            if (overwrite || !dst.has(nk)) add.push([nk, v]);
          }
        }
        for (const [k, v] of add) dst.set(k, v);
      }
    });
  }
}

