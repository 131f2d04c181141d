/**
 * Paged lists for `/v2/<name>/tags/list` and `/v2/_catalog` (spec "Listing
 * Tags"): lexical order (case-insensitive, ties by byte order so the order
 * is total), `n` entries at most after `last`, and a `Link: <…>; rel="next"`
 * when more remain. `n` is bounded: a huge `n` is refused with
 * PAGINATION_NUMBER_INVALID rather than answered with an allocation of that
 * size (distribution's CVE-2023-2253 was exactly that allocation).
 */
import { LIMITS, limitMessage } from "../limits.ts";
import { regErr } from "./errors.ts";

/** Largest page anyone may ask for (distribution's default catalog maxentries; core/limits.ts). */
export const MAX_PAGE = LIMITS.registryPage.max;
/** Catalog page size when the client gives no `n` (distribution's). */
export const DEFAULT_CATALOG_PAGE = 100;

export function lexicalCompare(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface PageQuery {
  /** The raw `n` parameter, if given. */
  readonly n?: string | null;
  /** The raw `last` parameter, if given. */
  readonly last?: string | null;
}

/** Parses `n`: absent → `fallback`; not a non-negative integer or over MAX_PAGE → PAGINATION_NUMBER_INVALID. */
export function parsePageSize(n: string | null | undefined, fallback: number | undefined): number | undefined {
  if (n === undefined || n === null || n === "") return fallback;
  if (!/^\d{1,15}$/.test(n)) throw regErr("PAGINATION_NUMBER_INVALID", `n must be a non-negative integer, got '${n.slice(0, 40)}'`, { n: n.slice(0, 40) });
  const v = Number(n);
  if (v > MAX_PAGE) throw regErr("PAGINATION_NUMBER_INVALID", `${limitMessage("registryPage", "n", v)}; page with n=${MAX_PAGE} and the Link header`, { n: v, max: MAX_PAGE });
  return v;
}

export interface Page {
  readonly items: string[];
  /** The `last` to ask for the next page with, when there are more. */
  readonly next?: string;
}

/**
 * One page of `all` (any order; sorted here). `fallback` is the page size
 * when `n` is absent (undefined: everything, as tags/list does).
 */
export function paginate(all: readonly string[], q: PageQuery, fallback?: number): Page {
  const n = parsePageSize(q.n, fallback);
  const sorted = [...all].sort(lexicalCompare);
  const last = q.last ?? undefined;
  const from = last === undefined || last === "" ? 0 : sorted.findIndex((x) => lexicalCompare(x, last) > 0);
  const rest = from < 0 ? [] : sorted.slice(from);
  if (n === undefined) return { items: rest };
  if (n === 0) return { items: [] };
  const items = rest.slice(0, n);
  return rest.length > n ? { items, next: items[items.length - 1]! } : { items };
}

/** `Link` header for the next page of `path` (e.g. `/v2/app/tags/list`). */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}
