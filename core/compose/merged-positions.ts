/**
 * Where the items of a merged list were written. A merge (an override file
 * over the earlier ones, a service over the one it `extends`) puts a base's
 * items and the override's in one list, so `[i]` no longer means the i-th
 * item written in either file: each item keeps the position it was written
 * at, so an error about it names that file and line (Locations.relist).
 */
import { isDict } from "./merge.ts";
import type { Locations, Path } from "./locations.ts";

/** One side of a merged service: its fields as written, the locations of its file, and its path there. */
export interface ServiceSide {
  readonly fields: Record<string, unknown>;
  readonly src: Locations;
  readonly at: Path;
}

/** The positions of every list of the service merged at `to` from `over` and `base` (the override's copy of an item first). */
export function relistService(locations: Locations, to: Path, merged: Record<string, unknown>, over: ServiceSide, base: ServiceSide): void {
  for (const [field, list] of Object.entries(merged)) {
    const mine = over.fields[field];
    const theirs = base.fields[field];
    if (!Array.isArray(list) || !Array.isArray(mine) || !Array.isArray(theirs) || !mine.length || !theirs.length) continue;
    locations.relist(
      [...to, field],
      list.map((item) => {
        const j = mine.indexOf(item);
        if (j >= 0) return { src: over.src, from: [...over.at, field, j] };
        const b = theirs.indexOf(item);
        return b >= 0 ? { src: base.src, from: [...base.at, field, b] } : undefined;
      }),
    );
  }
}

/** The positions of the service lists an override file (`doc`, at `file`) merged into the earlier files' (`prev`, at `before`). */
export function relistOverride(locations: Locations, before: Locations, file: Locations, prev: Record<string, unknown>, doc: Record<string, unknown>, merged: Record<string, unknown>): void {
  const [ps, ds, ms] = [prev.services, doc.services, merged.services];
  if (!isDict(ps) || !isDict(ds) || !isDict(ms)) return;
  for (const [name, over] of Object.entries(ds)) {
    const base = ps[name];
    const svc = ms[name];
    if (!isDict(base) || !isDict(over) || !isDict(svc)) continue;
    const at = ["services", name];
    relistService(locations, at, svc, { fields: over, src: file, at }, { fields: base, src: before, at });
  }
}
