/**
 * One compose file as text → plain JS value plus a table of source positions
 * by document path, using the yaml package (YAML 1.2 core schema, anchors,
 * aliases, `<<` merge keys, duplicate keys rejected). Positions let every later
 * stage report file:line:column without carrying YAML nodes around.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type { SourceLocation } from "../errors.ts";
import type { Diagnostic } from "./model.ts";
import { fastParse } from "./fastyaml.ts";
import { OverrideTag, ResetTag } from "./tags.ts";
import { isDict, mergeDocuments } from "./merge.ts";
import { echo, limitMessage, MAX_NESTING_DEPTH } from "../limits.ts";
import { tooDeepAt } from "../nesting.ts";
import { lineColAt, yamlTooDeepAt } from "./yaml-depth.ts";

export { fmtPath, Locations, type Path, type PathSeg } from "./locations.ts";
import { fmtPath, Locations, type PathSeg } from "./locations.ts";

export interface ParsedFile {
  file: string;
  value: unknown;
  locations: Locations;
  diagnostics: Diagnostic[];
  /** True when the file uses !reset / !override (then the merged result needs stripTags). */
  tags?: boolean;
}

export function parseYamlFile(file: string, text: string): ParsedFile {
  const fast = fastParse(file, text);
  return refuseDeep(fast ? { file, value: fast.value, locations: fast.locations, diagnostics: [] } : parseYamlFileFull(file, text));
}

/**
 * The parsed value nested past the limit (aliases can stack shallow anchors
 * into a deep value) becomes a diagnostic and no value: every later stage may
 * then walk the value recursively.
 */
function refuseDeep(parsed: ParsedFile): ParsedFile {
  const at = parsed.value === undefined ? undefined : tooDeepAt(parsed.value);
  if (!at) return parsed;
  const loc = parsed.locations.at(at);
  const path = echo(fmtPath(at), 60);
  const d: Diagnostic = { severity: "error", code: "compose.too_deep", message: limitMessage("nestingDepth", `the value at ${path}`, `nested more than ${MAX_NESTING_DEPTH} levels deep`), hint: "flatten the structure (YAML aliases count at the depth they are used)", file: parsed.file, ...(loc ? { line: loc.line, column: loc.column } : {}) };
  return { ...parsed, value: undefined, diagnostics: [...parsed.diagnostics, d] };
}

/**
 * The full `yaml` package path: every YAML feature and every syntax error,
 * located. A stream of several documents (`---`) means what Compose makes of
 * it: each document merged over the previous ones, like -f files in order.
 */
export function parseYamlFileFull(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const locations = new Locations();
  // Before composing: the yaml package's composer recurses (10,000 levels took it a second to report a stack overflow).
  const deep = yamlTooDeepAt(text);
  if (deep >= 0) {
    const at = lineColAt(text, deep);
    diagnostics.push({ severity: "error", code: "compose.too_deep", message: limitMessage("nestingDepth", "the value here", `nested more than ${MAX_NESTING_DEPTH} levels deep`), hint: "flatten the structure", file, ...at });
    return { file, value: undefined, locations, diagnostics };
  }
  const docs = parseAllDocuments(text, { lineCounter, merge: true, uniqueKeys: true, version: "1.2", prettyErrors: false, strict: true });
  if (!Array.isArray(docs)) {
    // Nothing but comments or directives: an empty document.
    return { file, value: null, locations, diagnostics };
  }
  const multi = docs.length > 1;
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  for (const doc of docs) {
    for (const e of doc.errors) diagnostics.push({ severity: "error", code: "compose.yaml_syntax", message: `YAML: ${e.message.split("\n")[0]}`, ...at(e.pos[0]) });
  }
  if (diagnostics.length) return { file, value: undefined, locations, diagnostics };
  let value: unknown = null;
  let tags = false;
  docs.forEach((doc, n) => {
    const one = documentValue(doc, file, at, locations, diagnostics, multi ? n + 1 : undefined);
    tags ||= one.tags;
    if (one.value === null || one.value === undefined) return;
    if (multi && !isDict(one.value)) {
      const start = doc.contents?.range?.[0] ?? 0;
      diagnostics.push({
        severity: "error",
        code: "compose.wrong_type",
        message: `document ${n + 1} of ${docs.length} in this file is not a mapping; every document of a compose file must be one (they are merged in order)`,
        hint: "remove the stray document or the '---' line before it",
        ...at(start),
      });
      return;
    }
    value = value === null ? one.value : mergeDocuments(value, one.value);
  });
  for (const doc of docs) {
    for (const w of doc.warnings) {
      if (/!reset|!override/.test(w.message)) continue; // compose merge tags, handled in documentValue
      diagnostics.push({ severity: "warning", code: "compose.yaml_warning", message: `YAML: ${w.message.split("\n")[0]}`, ...at(w.pos[0]) });
    }
  }
  return { file, value, locations, diagnostics, tags };
}

/** One document's value, its positions recorded in `locations`, and its non-string keys refused. */
function documentValue(
  doc: Document.Parsed,
  file: string,
  at: (offset: number) => SourceLocation,
  locations: Locations,
  diagnostics: Diagnostic[],
  docNumber: number | undefined,
): { value: unknown; tags: boolean } {
  const tagged: [PathSeg[], string][] = [];
  // toJS reports an unknown alias, or a merge of something that is not a map, without a position: checked here at the alias.
  let aliasErrors = 0;
  const checkAlias = (a: Node, merge: boolean): void => {
    if (!isAlias(a)) {
      if (merge && !isMap(a)) aliasError(a, "a '<<' merge source must be a mapping or an alias of one");
      return;
    }
    const target = a.resolve(doc);
    if (!target) aliasError(a, `unknown alias '${a.source}' (its anchor &${a.source} must be defined before it)`);
    else if (merge && !isMap(target)) aliasError(a, `'<<' merges alias '${a.source}', which is not a mapping`);
  };
  const aliasError = (a: Node, message: string): void => {
    aliasErrors++;
    diagnostics.push({ severity: "error", code: "compose.yaml_syntax", message: `YAML: ${message}`, ...at(a.range?.[0] ?? 0) });
  };
  const walk = (node: unknown, path: PathSeg[], depth: number): void => {
    if (depth > 64 || node === null || typeof node !== "object") return;
    const n = node as Node;
    if (n.range) locations.values.set(fmtPath(path), at(n.range[0]));
    if (isAlias(n)) return checkAlias(n, false);
    if (n.tag === "!reset" || n.tag === "!override") tagged.push([[...path], n.tag]);
    // YAML 1.1 and go-yaml read 0755 as octal (file modes); the 1.2 core schema would say 755.
    if (isScalar(n) && typeof n.value === "number" && typeof n.source === "string" && /^0[0-7]+$/.test(n.source)) {
      n.value = parseInt(n.source, 8);
    }
    if (isMap(n)) {
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        if (isScalar(keyNode) && typeof keyNode.value === "symbol") {
          // `<<` merge key: merged values keep the parent's position; its sources are checked.
          const v = pair.value as Node | null;
          if (v && isSeq(v)) for (const item of v.items) checkAlias(item as Node, true);
          else if (v) checkAlias(v, true);
          continue;
        }
        if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
          // Compose keys are strings: `123:` or `true:` would silently become "123"/"true" (compose-go refuses them too).
          const shown = isScalar(keyNode) ? String(keyNode.source ?? keyNode.value) : "a collection";
          const where = keyNode && (keyNode as Node).range ? at((keyNode as Node).range![0]) : at(n.range?.[0] ?? 0);
          diagnostics.push({
            severity: "error",
            code: "compose.non_string_key",
            message: `key ${shown} ${path.length ? `in ${fmtPath(path)} ` : "at the top level "}is not a string${docNumber ? ` (document ${docNumber})` : ""}`,
            hint: isScalar(keyNode) ? `quote it: "${shown}":` : "keys must be plain names",
            ...where,
          });
          continue;
        }
        const child = [...path, keyNode.value];
        if (keyNode.range) locations.keys.set(fmtPath(child), at(keyNode.range[0]));
        if (pair.value && (pair.value as Node).range) walk(pair.value, child, depth + 1);
        else if (keyNode.range) locations.values.set(fmtPath(child), at(keyNode.range[0]));
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => walk(item, [...path, i], depth + 1));
    }
  };
  walk(doc.contents, [], 0);
  let value: unknown;
  if (aliasErrors) return { value: undefined, tags: false };
  try {
    value = doc.toJS({ maxAliasCount: 10000 });
    for (const [path, tag] of tagged) value = applyTag(value, path, tag);
  } catch (e) {
    diagnostics.push({ severity: "error", code: "compose.yaml_syntax", message: `YAML: ${e instanceof Error ? e.message : String(e)}`, file, line: 1, column: 1 });
  }
  return { value, tags: tagged.length > 0 };
}

/** Replaces the value at `path` with its !reset / !override marker. */
function applyTag(root: unknown, path: PathSeg[], tag: string): unknown {
  const wrap = (v: unknown) => (tag === "!reset" ? new ResetTag() : new OverrideTag(v));
  if (path.length === 0) return wrap(root);
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof cur !== "object" || cur === null) return root;
    cur = (cur as Record<string | number, unknown>)[path[i]!];
  }
  if (typeof cur === "object" && cur !== null) {
    const last = path[path.length - 1]!;
    const c = cur as Record<string | number, unknown>;
    if (last in c) c[last] = wrap(c[last]);
  }
  return root;
}
