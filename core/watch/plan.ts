/**
 * What `fizz watch` does about a batch of changed files, from the services'
 * `develop.watch` rules (Compose's semantics): each changed path is matched
 * against every rule whose `path` contains it, minus the rule's `ignore`
 * patterns (dockerignore syntax, relative to the rule's path), editor
 * droppings, and for rebuild rules the build context's .dockerignore. Per
 * service the strongest action wins: a rebuild covers everything; otherwise
 * syncs are gathered (files to copy, paths to delete) and a restart or an
 * exec follows them. Pure: the caller says which paths still exist.
 */
import { posix } from "node:path";
import type { Project, WatchRule } from "../compose/model.ts";
import { isIgnored, parseDockerignore, type IgnoreRule } from "../engine/dockerignore.ts";

export interface Change {
  /** Absolute host path. */
  path: string;
  /** False when the path was deleted. */
  exists: boolean;
}

export interface SyncFile {
  /** Absolute host path. */
  host: string;
  /** Absolute path in the container. */
  container: string;
}

export type ServiceAction =
  | { kind: "rebuild"; service: string; paths: string[] }
  | { kind: "sync"; service: string; copy: SyncFile[]; remove: string[]; then?: "restart" | { exec: WatchRule["exec"] } }
  | { kind: "restart"; service: string; paths: string[] };

/** Editor and VCS files Compose never reacts to. */
const NOISE = [/(^|\/)\.git(\/|$)/, /~$/, /\.sw[px]$/, /(^|\/)4913$/, /(^|\/)\.#/, /(^|\/)#[^/]*#$/, /\.tmp$/, /___jb_(tmp|old)___$/];

export interface CompiledRule {
  service: string;
  rule: WatchRule;
  ignore: IgnoreRule[];
  include: IgnoreRule[] | undefined;
}

/** Rules of the watched services, with their ignore patterns parsed (and the build context's .dockerignore for rebuild rules). */
export function compileRules(project: Project, services: readonly string[], readDockerignore: (context: string) => string | undefined): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const name of services) {
    const svc = project.services[name];
    for (const rule of svc?.develop?.watch ?? []) {
      let ignoreText = (rule.ignore ?? []).join("\n");
      if (rule.action === "rebuild" && svc?.build && !/^[a-z]+:\/\//.test(svc.build.context)) {
        const di = readDockerignore(svc.build.context);
        // .dockerignore patterns are relative to the context; only use them when the rule watches the context itself.
        if (di && posix.normalize(svc.build.context) === posix.normalize(rule.path)) ignoreText += `\n${di}`;
      }
      out.push({
        service: name,
        rule,
        ignore: parseDockerignore(ignoreText),
        include: rule.include?.length ? parseDockerignore(rule.include.join("\n")) : undefined,
      });
    }
  }
  return out;
}

/** The directories to watch: each rule's path (a file rule watches its parent). */
export function watchRoots(rules: readonly CompiledRule[], isDir: (p: string) => boolean): string[] {
  const roots = new Set<string>();
  for (const r of rules) roots.add(isDir(r.rule.path) ? r.rule.path : posix.dirname(r.rule.path));
  return [...roots].sort();
}

function under(path: string, root: string): string | undefined {
  if (path === root) return "";
  return path.startsWith(root.endsWith("/") ? root : `${root}/`) ? path.slice(root.length + (root.endsWith("/") ? 0 : 1)) : undefined;
}

/** The actions for one debounced batch of changes, one per service at most, in service order. */
export function planWatch(rules: readonly CompiledRule[], changes: readonly Change[]): ServiceAction[] {
  const perService = new Map<string, { rebuild: string[]; restart: string[]; copy: Map<string, SyncFile>; remove: Set<string>; then?: "restart" | { exec: WatchRule["exec"] } }>();
  const entry = (s: string) => {
    let e = perService.get(s);
    if (!e) perService.set(s, (e = { rebuild: [], restart: [], copy: new Map(), remove: new Set() }));
    return e;
  };
  for (const change of changes) {
    // A watcher reports clean paths; a `..` from anywhere else must not reach outside a rule's target.
    const c = { ...change, path: posix.normalize(change.path) };
    for (const r of rules) {
      const rel = under(c.path, r.rule.path);
      if (rel === undefined) continue;
      if (NOISE.some((n) => n.test(rel || posix.basename(c.path)))) continue;
      if (rel !== "" && isIgnored(r.ignore, rel)) continue;
      if (r.include && rel !== "" && !isIgnored(r.include, rel)) continue;
      const e = entry(r.service);
      switch (r.rule.action) {
        case "rebuild":
          e.rebuild.push(c.path);
          break;
        case "restart":
          e.restart.push(c.path);
          break;
        default: {
          const target = rel === "" ? r.rule.target! : posix.join(r.rule.target!, rel);
          if (c.exists) {
            e.copy.set(target, { host: c.path, container: target });
            e.remove.delete(target);
          } else {
            e.remove.add(target);
            e.copy.delete(target);
          }
          if (r.rule.action === "sync+restart") e.then = "restart";
          else if (r.rule.action === "sync+exec" && e.then !== "restart") e.then = { exec: r.rule.exec };
        }
      }
    }
  }
  const out: ServiceAction[] = [];
  for (const [service, e] of [...perService.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (e.rebuild.length) out.push({ kind: "rebuild", service, paths: e.rebuild });
    else if (e.copy.size || e.remove.size) out.push({ kind: "sync", service, copy: [...e.copy.values()], remove: [...e.remove], ...(e.then ? { then: e.then } : e.restart.length ? { then: "restart" as const } : {}) });
    else if (e.restart.length) out.push({ kind: "restart", service, paths: e.restart });
  }
  return out;
}
