/**
 * Nesting depth, measured without recursion, so input nested 100,000 levels
 * deep is refused with a precise error instead of exhausting the stack of
 * whatever walks it next (interpolation, merge, hashing, serialisation, the
 * store, JSON replies). Inputs are checked once where they enter: YAML after
 * parsing (core/compose/source.ts), JSON text before parsing
 * (platform/api/body.ts); everything later may then recurse freely.
 */
import { MAX_NESTING_DEPTH } from "./limits.ts";

export type PathSeg = string | number;

/**
 * Where `value` nests deeper than `max` collections (objects and arrays inside
 * each other; the outermost one is level 1): the path to the first collection
 * past the limit, or undefined when it fits. A shared subtree (YAML alias) is
 * walked at every place it is used, which is what later stages do too; the
 * parsers bound alias expansion; past VISIT_BUDGET collections (heavy sharing)
 * the walk starts over measuring each shared subtree once. A cycle counts as
 * too deep. Parallel arrays instead of frame objects: this runs on every
 * compose load, cold.
 */
export function tooDeepAt(value: unknown, max: number = MAX_NESTING_DEPTH): PathSeg[] | undefined {
  if (!isCollection(value)) return undefined;
  if (max < 1) return [];
  let budget = VISIT_BUDGET;
  const nodes: object[] = [value];
  /** Own keys of an object; null for an array (walked by index). */
  const keys: (string[] | null)[] = [keysOf(value)];
  const next: number[] = [0];
  while (nodes.length) {
    const top = nodes.length - 1;
    const node = nodes[top]!;
    const ks = keys[top]!;
    const i = next[top]!;
    if (i >= (ks ? ks.length : (node as unknown[]).length)) {
      nodes.pop();
      keys.pop();
      next.pop();
      continue;
    }
    next[top] = i + 1;
    const child = ks ? (node as Record<string, unknown>)[ks[i]!] : (node as unknown[])[i];
    if (!isCollection(child)) continue;
    if (nodes.length >= max) {
      const path: PathSeg[] = [];
      for (let l = 0; l < nodes.length; l++) path.push(keys[l] ? keys[l]![next[l]! - 1]! : next[l]! - 1);
      return path;
    }
    if (--budget < 0) return tooDeepShared(value, max);
    nodes.push(child);
    keys.push(keysOf(child));
    next.push(0);
  }
  return undefined;
}

const VISIT_BUDGET = 1_000_000;

function keysOf(node: object): string[] | null {
  return Array.isArray(node) ? null : Object.keys(node);
}

/** tooDeepAt for values with heavily shared subtrees: each collection is measured once (post-order heights). */
function tooDeepShared(value: object, max: number): PathSeg[] | undefined {
  /** Collection levels in a finished subtree (1 for a collection holding only scalars). */
  const height = new Map<object, number>();
  const open = new Set<object>();
  const nodes: object[] = [];
  const keys: (string[] | null)[] = [];
  const next: number[] = [];
  const h: number[] = [];
  const pathTo = (): PathSeg[] => nodes.map((_, l) => (keys[l] ? keys[l]![next[l]! - 1]! : next[l]! - 1));
  const push = (node: object) => {
    open.add(node);
    nodes.push(node);
    keys.push(keysOf(node));
    next.push(0);
    h.push(1);
  };
  push(value);
  while (nodes.length) {
    const top = nodes.length - 1;
    const node = nodes[top]!;
    const ks = keys[top]!;
    const i = next[top]!;
    if (i < (ks ? ks.length : (node as unknown[]).length)) {
      next[top] = i + 1;
      const child = ks ? (node as Record<string, unknown>)[ks[i]!] : (node as unknown[])[i];
      if (!isCollection(child)) continue;
      if (open.has(child)) return pathTo();
      const known = height.get(child);
      if (known !== undefined) {
        if (nodes.length + known > max) return pathTo();
        h[top] = Math.max(h[top]!, known + 1);
        continue;
      }
      if (nodes.length + 1 > max) return pathTo();
      push(child);
      continue;
    }
    nodes.pop();
    keys.pop();
    next.pop();
    const done = h.pop()!;
    open.delete(node);
    height.set(node, done);
    if (h.length) h[h.length - 1] = Math.max(h[h.length - 1]!, done + 1);
  }
  return undefined;
}

/**
 * The offset in JSON text of the first `[` or `{` past `max` levels, or -1.
 * A linear scan (strings skipped), run before JSON.parse so nothing deep is
 * ever built.
 */
export function jsonTooDeepAt(text: string, max: number = MAX_NESTING_DEPTH): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: up to the next unescaped quote.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

function isCollection(v: unknown): v is object {
  return typeof v === "object" && v !== null;
}
