/**
 * Nesting depth of YAML text, from the yaml package's concrete syntax tree
 * (its lexer and parser keep explicit stacks; its composer recurses, and at
 * 10,000 levels took seconds to report a stack overflow). Checked before
 * composing, so a deeply nested file costs one linear pass and gets an error
 * at the line where it crosses the nesting depth limit.
 */
import { CST, Lexer, Parser } from "yaml";
import { MAX_NESTING_DEPTH } from "../limits.ts";

interface Node {
  type: string;
  offset?: number;
  value?: Node;
  items?: { key?: Node | null; value?: Node }[];
}

/**
 * An upper bound on the nesting depth of YAML text, in one cheap pass: a
 * block level needs one more space of indentation or one more indicator
 * ("- ", "? ", ": ") on its line, a flow level one more bracket. Lets the
 * common file skip the syntax-tree check below.
 */
export function yamlDepthBound(text: string): number {
  let maxIndent = 0;
  let maxInline = 0;
  let flow = 0;
  let maxFlow = 0;
  let indent = 0;
  let inline = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      if (inline > maxInline) maxInline = inline;
      indent = inline = 0;
      atStart = true;
      continue;
    }
    if (atStart) {
      if (c === 0x20) {
        if (++indent > maxIndent) maxIndent = indent;
        continue;
      }
      atStart = false;
    }
    if (c === 0x5b || c === 0x7b) {
      if (++flow > maxFlow) maxFlow = flow;
    } else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--;
    else if ((c === 0x2d || c === 0x3f || c === 0x3a) && (i + 1 === text.length || text.charCodeAt(i + 1) === 0x20 || text.charCodeAt(i + 1) === 0x0a)) inline++;
  }
  if (inline > maxInline) maxInline = inline;
  return maxIndent + maxInline + maxFlow + 1;
}

/** Offset of the first collection nested past `max` levels, or -1. */
export function yamlTooDeepAt(text: string, max: number = MAX_NESTING_DEPTH): number {
  if (yamlDepthBound(text) <= max) return -1;
  // Flow collections (`[[[[…`) first, from the lexer's stream: it stops at the
  // crossing, without building a tree for the 100,000 levels after it.
  let flow = 0;
  let offset = 0;
  for (const src of new Lexer().lex(text)) {
    const t = CST.tokenType(src);
    if (t === "flow-seq-start" || t === "flow-map-start") {
      if (++flow > max) return offset;
    } else if (t === "flow-seq-end" || t === "flow-map-end") flow--;
    // Lexer control tokens (document/scalar markers) are not source text.
    if (src.length && src.charCodeAt(0) > 0x1f) offset += src.length;
  }
  const stack: [Node, number][] = [];
  for (const token of new Parser().parse(text)) {
    stack.push([token as Node, 0]);
    while (stack.length) {
      const [n, depth] = stack.pop()!;
      if (n.type === "document") {
        if (n.value) stack.push([n.value, depth]);
        continue;
      }
      if (n.type !== "block-map" && n.type !== "block-seq" && n.type !== "flow-collection") continue;
      const d = depth + 1;
      if (d > max) return n.offset ?? 0;
      for (const item of n.items ?? []) {
        if (item.key) stack.push([item.key, d]);
        if (item.value) stack.push([item.value, d]);
      }
    }
  }
  return -1;
}

/** 1-based line and column of an offset. */
export function lineColAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}
