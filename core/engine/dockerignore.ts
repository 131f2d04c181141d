/**
 * `.dockerignore` rules for packing a build context: comments, blank lines,
 * `!` exceptions, `*`, `?`, `**`, leading and trailing slashes; the last
 * matching rule wins and a rule matching a directory covers what is inside.
 * Character classes are kept as regex classes. Pure: takes the file's text.
 */

export interface IgnoreRule {
  readonly negate: boolean;
  readonly pattern: string;
  readonly regex: RegExp;
}

function clean(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.join("/");
}

function toRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // "**/" matches any number of directories, "**" at the end anything.
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 1);
      if (close < 0) re += "\\[";
      else {
        let cls = pattern.slice(i + 1, close);
        if (cls.startsWith("!")) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = close;
      }
    } else if (c === "\\" && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}(?:/.*)?$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    if (negate) line = line.slice(1).trim();
    const pattern = clean(line);
    if (pattern === "") continue;
    rules.push({ negate, pattern, regex: toRegex(pattern) });
  }
  return rules;
}

/** True when `path` (relative to the context root, "/"-separated) is excluded. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const p = clean(path);
  let ignored = false;
  for (const r of rules) if (r.regex.test(p)) ignored = !r.negate;
  return ignored;
}

/**
 * Whether a directory can be skipped without walking it: it is ignored and no
 * exception rule could re-include something inside it.
 */
export function canSkipDir(rules: readonly IgnoreRule[], dir: string): boolean {
  if (!isIgnored(rules, dir)) return false;
  const d = clean(dir);
  return !rules.some((r) => r.negate && (r.pattern.startsWith(`${d}/`) || /[*?[]/.test(r.pattern)));
}
