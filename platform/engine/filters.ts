/** Docker's `filters` query parameter: JSON of name → values. Label maps become "k=v" entries. */
import type { Filters, Labels } from "./types.ts";

export interface FilterInput {
  readonly filters?: Filters;
  /** Match objects carrying these labels ({k: v} → "k=v"; a value of "" matches the key alone). */
  readonly labels?: Labels | readonly string[];
}

export function encodeFilters(input: FilterInput): string | undefined {
  const f: Filters = {};
  for (const [k, v] of Object.entries(input.filters ?? {})) if (v.length) f[k] = [...v];
  const labels = input.labels;
  if (labels) {
    const list = Array.isArray(labels)
      ? [...(labels as readonly string[])]
      : Object.entries(labels as Labels).map(([k, v]) => (v === "" ? k : `${k}=${v}`));
    if (list.length) f.label = [...(f.label ?? []), ...list];
  }
  return Object.keys(f).length ? JSON.stringify(f) : undefined;
}
