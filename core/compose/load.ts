/**
 * The loader: discovery (-f, COMPOSE_FILE, default names + override),
 * project directory and name, .env/--env-file, per-file parse + interpolate +
 * extends + include, multi-file merge, profiles, normalisation and
 * validation. Pure: all file access goes through the injected FileReader.
 */
import { posix } from "node:path";
import { Diags } from "./diagnostics.ts";
import { parseDotenv } from "./dotenv.ts";
import { interpolate, type Lookup } from "./interpolate.ts";
import { isDict, mergeDocuments, mergeService } from "./merge.ts";
import { relistOverride, relistService } from "./merged-positions.ts";
import type { ConfigDef, Diagnostic, Network, Project, SecretDef, Service, Volume } from "./model.ts";
import type { SourceLocation } from "../errors.ts";
import { normalizeNetwork, normalizeSecret, normalizeService, normalizeVolume } from "./normalize.ts";
import { unknownField, type Cx } from "./schema.ts";
import { fmtPath, Locations, parseYamlFile, type Path, type PathSeg } from "./source.ts";
import { parseVolumeShort, isPathLike, isWindowsAbsolute } from "./syntax.ts";
import { validateProject } from "./validate.ts";
import { resolveServiceEnvironment } from "./environment.ts";
import { own } from "./hash.ts";
import { OverrideTag, ResetTag, stripTags } from "./tags.ts";
import { ProjectFiles, type FileReader } from "./reads.ts";
import { echo, limitMessage, MAX_NAME_LENGTH, MAX_SERVICES, nameTooLong } from "../limits.ts";
import { applyZones, readXFizzProject } from "./xfizz.ts";

export type { FileReader } from "./reads.ts";

export interface LoadOptions {
  /** -f files (relative to cwd); empty = COMPOSE_FILE or discovery. */
  files?: readonly string[];
  projectName?: string;
  projectDirectory?: string;
  /** --env-file (relative to cwd); empty = <project dir>/.env. */
  envFiles?: readonly string[];
  /** --profile; COMPOSE_PROFILES is read when empty. */
  profiles?: readonly string[];
  /** Absolute current directory. */
  cwd: string;
  /** Process environment. */
  env: Readonly<Record<string, string | undefined>>;
  reader: FileReader;
  /**
   * Fold env_file into environment and resolve `- FOO` entries from the
   * project environment, as every Compose v2 verb does (default true;
   * `fizz config --no-env-resolution` keeps them as written).
   */
  resolveEnvironment?: boolean;
  /** The text of `-f -` (the CLI reads stdin once); the file is `<project dir>/-`, so its relative paths resolve there, as in Compose. */
  stdin?: string;
}

export interface LoadResult {
  /** Present unless discovery or parsing failed outright; may still have errors in diagnostics. */
  project: Project | undefined;
  diagnostics: Diagnostic[];
  /** The environment used for interpolation (.env merged under the process env). */
  environment: Record<string, string>;
  /** Where a document path (e.g. ["secrets", "db", "file"]) was written, for checks made after loading. */
  locate?: (path: readonly (string | number)[]) => SourceLocation | undefined;
}

export const DEFAULT_FILES = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
const OVERRIDE_FILES = ["compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml", "docker-compose.override.yml"];
const TOP_LEVEL = ["version", "name", "services", "networks", "volumes", "configs", "secrets", "include", "models"];

/** Compose's project-name normalisation: lower-case, keep [a-z0-9_-], no leading '_' or '-'. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "")
    .replace(/^[_-]+/, "");
}

export function isValidProjectName(s: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/.test(s);
}

function resolveFrom(dir: string, p: string, home: string | undefined): string {
  if (p === "~" || p.startsWith("~/")) return posix.normalize((home ?? "~") + p.slice(1));
  // A Windows absolute path (C:\data, \\server\share) is the user's, written for a Windows engine: kept as is.
  if (isWindowsAbsolute(p)) return p;
  return posix.isAbsolute(p) ? posix.normalize(p) : posix.join(dir, p);
}

/** `-f -`: the compose file is read from stdin. */
export const STDIN = "-";

/** A reader that answers `path` with the text read from stdin, and everything else from `reader`. */
function withStdin(reader: FileReader, path: string, text: string): FileReader {
  return { read: (p, what) => (p === path ? text : reader.read(p, what)) };
}

/** Finds compose files: -f, COMPOSE_FILE, or default names in cwd and its parents (plus an override file). */
export function discoverFiles(opts: LoadOptions, diags: Diags, reads: ProjectFiles = new ProjectFiles(opts.reader)): string[] {
  if (opts.files && opts.files.length) {
    const stdinDir = opts.projectDirectory ? resolveFrom(opts.cwd, opts.projectDirectory, opts.env.HOME) : opts.cwd;
    return opts.files.map((f) => (f === STDIN ? posix.join(stdinDir, STDIN) : resolveFrom(opts.cwd, f, opts.env.HOME)));
  }
  // The shell's COMPOSE_FILE, else the one in the .env (or --env-file) of the working directory, as Compose reads it.
  const dotenv = opts.env.COMPOSE_FILE ? {} : fileSettings(opts, reads);
  const fromEnv = opts.env.COMPOSE_FILE || dotenv.COMPOSE_FILE;
  if (fromEnv) {
    const sep = opts.env.COMPOSE_PATH_SEPARATOR ?? dotenv.COMPOSE_PATH_SEPARATOR ?? ":";
    return fromEnv
      .split(sep)
      .filter(Boolean)
      .map((f) => resolveFrom(opts.projectDirectory ? resolveFrom(opts.cwd, opts.projectDirectory, opts.env.HOME) : opts.cwd, f, opts.env.HOME));
  }
  let dir = opts.projectDirectory ? resolveFrom(opts.cwd, opts.projectDirectory, opts.env.HOME) : opts.cwd;
  for (;;) {
    const found = DEFAULT_FILES.filter((n) => reads.exists(posix.join(dir, n)));
    if (found.length) {
      if (found.length > 1) {
        diags.push({ severity: "warning", code: "compose.multiple_files", message: `found ${found.join(" and ")} in ${dir}; using ${found[0]}` });
      }
      const files = [posix.join(dir, found[0]!)];
      const override = OVERRIDE_FILES.find((n) => reads.exists(posix.join(dir, n)));
      if (override) files.push(posix.join(dir, override));
      return files;
    }
    const parent = posix.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  diags.push({
    severity: "error",
    code: "compose.no_file",
    message: `no compose file found in ${opts.cwd} or its parents`,
    hint: `create compose.yaml or pass -f <file> (looked for ${DEFAULT_FILES.join(", ")})`,
  });
  return [];
}

/**
 * COMPOSE_FILE and COMPOSE_PATH_SEPARATOR from the env files that will be read (--env-file, else `.env` in the
 * project directory or the current one). Errors in them are reported when the project reads them.
 */
function fileSettings(opts: LoadOptions, reads: ProjectFiles): { COMPOSE_FILE?: string; COMPOSE_PATH_SEPARATOR?: string } {
  const dir = opts.projectDirectory ? resolveFrom(opts.cwd, opts.projectDirectory, opts.env.HOME) : opts.cwd;
  const paths = opts.envFiles && opts.envFiles.length ? opts.envFiles.map((f) => resolveFrom(opts.cwd, f, opts.env.HOME)) : [posix.join(dir, ".env")];
  const vars: Record<string, string> = {};
  for (const p of paths) {
    const read = reads.read(p, "env file");
    if (read.kind !== "text") continue;
    Object.assign(vars, parseDotenv(read.text, (n) => own(opts.env, n) ?? own(vars, n)).vars);
  }
  return {
    ...(vars.COMPOSE_FILE ? { COMPOSE_FILE: vars.COMPOSE_FILE } : {}),
    ...(vars.COMPOSE_PATH_SEPARATOR ? { COMPOSE_PATH_SEPARATOR: vars.COMPOSE_PATH_SEPARATOR } : {}),
  };
}

interface Loaded {
  doc: Record<string, unknown>;
  locations: Locations;
}

class Loader {
  readonly diags: Diags;
  locations = new Locations();
  /** Whether any file used !reset / !override (shared with include sub-loaders through the owner). */
  sawTags = false;
  private readonly interpolated = new WeakSet<object>();
  private readonly unset = new Map<string, { diag: Diagnostic; count: number }>();
  private readonly cache = new Map<string, Loaded | undefined>();

  constructor(
    readonly opts: LoadOptions,
    readonly lookup: Lookup,
    diags: Diags,
    readonly files: ProjectFiles,
    /** The top-level loader owns where diagnostics look positions up; sub-loaders (include) do not. */
    owner = true,
  ) {
    this.diags = diags;
    if (owner) this.diags.locations = this.locations;
  }

  /** Read + parse + interpolate one file (cached); extends and include are resolved here, per file. */
  loadFile(file: string, includeStack: string[] = []): Loaded | undefined {
    if (this.cache.has(file)) return this.cache.get(file);
    const read = this.files.read(file, "compose file");
    if (read.kind !== "text") {
      if (read.kind === "missing") this.diags.push({ severity: "error", code: "compose.file_not_found", message: `compose file ${file} does not exist`, file });
      else this.diags.push({ severity: "error", code: read.code, message: read.message, ...(read.hint ? { hint: read.hint } : {}), file });
      this.cache.set(file, undefined);
      return undefined;
    }
    const parsed = parseYamlFile(file, read.text);
    for (const d of parsed.diagnostics) this.diags.push(d);
    if (parsed.diagnostics.some((d) => d.severity === "error")) {
      this.cache.set(file, undefined);
      return undefined;
    }
    let value = parsed.value;
    if (value === null || value === undefined) value = {};
    if (!isDict(value)) {
      this.diags.push({ severity: "error", code: "compose.wrong_type", message: "a compose file must be a mapping at the top level", file, line: 1, column: 1 });
      this.cache.set(file, undefined);
      return undefined;
    }
    if (parsed.tags) this.sawTags = true;
    const doc = this.interpolateTree(value, [], parsed.locations) as Record<string, unknown>;
    const loaded: Loaded = { doc, locations: parsed.locations };
    this.cache.set(file, loaded);
    this.resolveExtends(loaded, file);
    this.resolveInclude(loaded, file, includeStack);
    return loaded;
  }

  private interpolateTree(v: unknown, path: PathSeg[], locs: Locations): unknown {
    // `path` is a stack shared by the whole walk (pushed and popped), copied only for diagnostics.
    if (typeof v === "string") {
      if (!v.includes("$")) return v;
      const r = interpolate(v, this.lookup);
      if (r.ok && r.unset.length === 0) return r.value;
      const loc = locs.at(path);
      const where = loc ? { file: loc.file, line: loc.line, column: loc.column } : {};
      if (!r.ok) {
        this.diags.push({
          severity: "error",
          code: "compose.interpolation",
          message: r.message,
          ...(r.variable ? { hint: `set ${r.variable} in the environment or in .env` } : { hint: 'write "$$" for a literal "$"' }),
          path: fmtPath(path),
          ...where,
        });
        return v;
      }
      for (const name of new Set(r.unset)) {
        // One warning per variable (at its first use), like Compose, not one per use.
        const seen = this.unset.get(name);
        if (seen) {
          seen.count++;
          seen.diag.message = `variable ${name} is not set, using an empty string (${seen.count} uses)`;
          continue;
        }
        const diag: Diagnostic = { severity: "warning", code: "compose.unset_variable", message: `variable ${name} is not set, using an empty string`, path: fmtPath(path), ...where };
        this.unset.set(name, { diag, count: 1 });
        this.diags.push(diag);
      }
      return r.value;
    }
    if (v instanceof ResetTag) return v;
    if (v instanceof OverrideTag) return new OverrideTag(this.interpolateTree(v.value, path, locs));
    // In place: the parsed tree is ours alone (fresh from the parser), which saves copying a
    // 1,000-service document. A subtree shared by YAML aliases is interpolated once.
    if (Array.isArray(v)) {
      if (this.interpolated.has(v)) return v;
      this.interpolated.add(v);
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        v[i] = this.interpolateTree(v[i], path, locs);
        path.pop();
      }
      return v;
    }
    if (isDict(v)) {
      if (this.interpolated.has(v)) return v;
      this.interpolated.add(v);
      for (const k in v) {
        path.push(k);
        if (k === "__proto__") {
          // Would turn into a prototype in every later copy of this mapping.
          const loc = locs.at(path, true);
          this.diags.push({ severity: "error", code: "compose.reserved_key", message: "'__proto__' cannot be used as a key", path: fmtPath(path), ...(loc ? { file: loc.file, line: loc.line, column: loc.column } : {}) });
          delete v[k];
        } else v[k] = this.interpolateTree(v[k], path, locs);
        path.pop();
      }
      return v;
    }
    return v;
  }

  private resolveExtends(loaded: Loaded, file: string): void {
    const services = loaded.doc.services;
    if (!isDict(services)) return;
    const done = new Set<string>();
    const resolve = (name: string, stack: string[]): unknown => {
      const svc = services[name];
      if (!isDict(svc) || svc.extends === undefined || done.has(name)) return svc;
      const key = `${file}#${name}`;
      const path: Path = ["services", name, "extends"];
      if (stack.includes(key)) {
        const cycle = [...stack.slice(stack.indexOf(key)), key].map((k) => k.split("#")[1]).join(" → ");
        this.diagAt(loaded.locations, path, "compose.extends_cycle", `extends cycle: ${cycle}`);
        return svc;
      }
      const ext = typeof svc.extends === "string" ? { service: svc.extends } : svc.extends;
      if (!isDict(ext) || typeof ext.service !== "string") {
        this.diagAt(loaded.locations, path, "compose.wrong_type", "extends must be a service name or {service, file}");
        return svc;
      }
      for (const k of Object.keys(ext)) if (k !== "service" && k !== "file") this.diagAt(loaded.locations, [...path, k], "compose.unknown_field", `unknown field '${k}' in extends`);
      let base: unknown;
      let baseLocations = loaded.locations;
      if (typeof ext.file === "string") {
        const other = resolveFrom(posix.dirname(file), ext.file, this.opts.env.HOME);
        const o = this.loadFile(other);
        if (!o) {
          this.diagAt(loaded.locations, [...path, "file"], "compose.file_not_found", `extends file ${other} could not be loaded`);
          return svc;
        }
        const os = isDict(o.doc.services) ? o.doc.services : {};
        base = own(os, ext.service);
        if (base === undefined) {
          this.diagAt(loaded.locations, [...path, "service"], "compose.unknown_service", `extends unknown service '${ext.service}' in ${other}`);
          return svc;
        }
        base = rebase(base, posix.dirname(other), this.opts.env.HOME);
        baseLocations = o.locations;
        // Inherited fields keep pointing at the file they were written in.
        loaded.locations.graft(o.locations, ["services", ext.service], ["services", name]);
      } else {
        if (!Object.hasOwn(services, ext.service)) {
          this.diagAt(loaded.locations, [...path, "service"], "compose.unknown_service", `extends unknown service '${ext.service}'`);
          return svc;
        }
        base = resolve(ext.service, [...stack, key]);
        loaded.locations.graft(loaded.locations, ["services", ext.service], ["services", name]);
      }
      const { extends: _e, ...ownFields } = svc;
      if (isDict(base)) {
        const { extends: _be, ...b } = base;
        base = b;
      }
      const merged = mergeService(base, ownFields);
      // A merged list's [i] is an item of the base's list or of the service's own: each keeps its position.
      if (isDict(merged) && isDict(base)) {
        relistService(loaded.locations, ["services", name], merged, { fields: ownFields, src: loaded.locations, at: ["services", name] }, { fields: base, src: baseLocations, at: ["services", ext.service as string] });
      }
      services[name] = merged;
      done.add(name);
      return merged;
    };
    for (const name of Object.keys(services)) resolve(name, []);
  }

  private resolveInclude(loaded: Loaded, file: string, stack: string[]): void {
    const inc = loaded.doc.include;
    if (inc === undefined) return;
    delete loaded.doc.include;
    if (!Array.isArray(inc)) {
      this.diagAt(loaded.locations, ["include"], "compose.wrong_type", "include must be a list");
      return;
    }
    inc.forEach((entry, i) => {
      const e = typeof entry === "string" ? { path: entry } : entry;
      if (!isDict(e) || (typeof e.path !== "string" && !(Array.isArray(e.path) && e.path.length > 0 && e.path.every((x) => typeof x === "string")))) {
        this.diagAt(loaded.locations, ["include", i], "compose.wrong_type", "include entries are a path or {path, project_directory, env_file}");
        return;
      }
      const paths = (Array.isArray(e.path) ? e.path : [e.path]).map((p) => resolveFrom(posix.dirname(file), String(p), this.opts.env.HOME));
      if (paths.some((p) => stack.includes(p) || p === file)) {
        this.diagAt(loaded.locations, ["include", i], "compose.include_cycle", `include cycle: ${[...stack, file, paths[0]].join(" → ")}`);
        return;
      }
      // The included project interpolates with its own env files (env_file:, else its .env), under the process env.
      const incDir = typeof e.project_directory === "string" ? resolveFrom(posix.dirname(file), e.project_directory, this.opts.env.HOME) : posix.dirname(paths[0]!);
      const envFiles = e.env_file === undefined ? [posix.join(incDir, ".env")] : (Array.isArray(e.env_file) ? e.env_file : [e.env_file]).map((f) => resolveFrom(posix.dirname(file), String(f), this.opts.env.HOME));
      const vars: Record<string, string> = {};
      for (const ef of envFiles) {
        const read = this.files.read(ef, "env file");
        if (read.kind === "error") {
          this.diagAt(loaded.locations, ["include", i, ...(e.env_file !== undefined ? ["env_file"] : [])], read.code, read.message);
          continue;
        }
        if (read.kind === "missing") {
          if (e.env_file !== undefined) this.diagAt(loaded.locations, ["include", i, "env_file"], "compose.env_file_not_found", `env file ${ef} does not exist`);
          continue;
        }
        Object.assign(vars, parseDotenv(read.text, (n) => own(vars, n) ?? own(this.opts.env, n)).vars);
      }
      const sub_loader = Object.keys(vars).length ? new Loader(this.opts, (n) => own(this.opts.env, n) ?? own(vars, n), this.diags, this.files, false) : this;
      if (sub_loader !== this) this.subLoaders.push(sub_loader);
      let sub: Record<string, unknown> | undefined;
      for (const p of paths) {
        const l = sub_loader.loadFile(p, [...stack, file]);
        if (!l) continue;
        this.addLocations(l.locations);
        const dir = incDir;
        const d = { ...l.doc };
        if (isDict(d.services)) {
          const s: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(d.services)) s[k] = rebase(v, dir, this.opts.env.HOME);
          d.services = s;
        }
        sub = sub ? (mergeDocuments(sub, d) as Record<string, unknown>) : d;
      }
      if (!sub) return;
      for (const kind of ["services", "networks", "volumes", "secrets", "configs"]) {
        const from = sub[kind];
        if (!isDict(from)) continue;
        const to = isDict(loaded.doc[kind]) ? (loaded.doc[kind] as Record<string, unknown>) : (loaded.doc[kind] = {} as Record<string, unknown>);
        for (const [k, v] of Object.entries(from)) {
          if (Object.hasOwn(to, k)) {
            if (kind === "services") this.diagAt(loaded.locations, [kind, k], "compose.include_conflict", `service '${k}' is defined both here and in included ${paths.join(", ")}`);
            continue;
          }
          to[k] = v;
        }
      }
    });
  }

  private readonly subLoaders: Loader[] = [];
  subSawTags(): boolean {
    return this.subLoaders.some((l) => l.sawTags || l.subSawTags());
  }

  /** Later files' positions win; the first file's table is adopted as is (no copy). */
  addLocations(l: Locations): void {
    if (this.locations.empty) {
      this.locations = l;
      this.diags.locations = l;
    } else if (l !== this.locations) this.locations.absorb(l);
  }

  private diagAt(locs: Locations, path: Path, code: string, message: string): void {
    const loc = locs.at(path);
    this.diags.push({ severity: "error", code, message, path: fmtPath(path), ...(loc ? { file: loc.file, line: loc.line, column: loc.column } : {}) });
  }
}

/** Makes relative paths in a raw service absolute against `dir` (services from another directory). */
function rebase(svc: unknown, dir: string, home: string | undefined): unknown {
  if (!isDict(svc)) return svc;
  const out: Record<string, unknown> = { ...svc };
  const abs = (p: string) => resolveFrom(dir, p, home);
  if (typeof out.build === "string") out.build = abs(out.build);
  else if (isDict(out.build) && typeof out.build.context === "string" && !/^[a-z]+:\/\//.test(out.build.context)) out.build = { ...out.build, context: abs(out.build.context) };
  else if (isDict(out.build) && out.build.context === undefined) out.build = { ...out.build, context: dir };
  if (typeof out.env_file === "string") out.env_file = abs(out.env_file);
  else if (Array.isArray(out.env_file)) out.env_file = out.env_file.map((e) => (typeof e === "string" ? abs(e) : isDict(e) && typeof e.path === "string" ? { ...e, path: abs(e.path) } : e));
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (typeof v === "string") {
        const r = parseVolumeShort(v);
        if (r.ok && r.value.kind === "bind" && r.value.source && !posix.isAbsolute(r.value.source)) {
          const idx = v.indexOf(r.value.source);
          return abs(r.value.source) + v.slice(idx + r.value.source.length);
        }
        return v;
      }
      if (isDict(v) && v.type === "bind" && typeof v.source === "string" && isPathLike(v.source)) return { ...v, source: abs(v.source) };
      return v;
    });
  }
  return out;
}

/** The text of a bounded read; a missing or refused file (already reported) reads as undefined. */
function textOf(r: ReturnType<ProjectFiles["read"]>): string | undefined {
  return r.kind === "text" ? r.text : undefined;
}

/** Loads a compose project. Never throws for bad input: everything wrong is in `diagnostics`. */
export function loadProject(opts: LoadOptions): LoadResult {
  const diags = new Diags();
  const stdinPath = opts.files?.includes(STDIN) ? discoverFiles({ ...opts, files: [STDIN] }, diags)[0]! : undefined;
  const reads = new ProjectFiles(stdinPath !== undefined && opts.stdin !== undefined ? withStdin(opts.reader, stdinPath, opts.stdin) : opts.reader);
  const files = discoverFiles(opts, diags, reads);
  const home = opts.env.HOME;
  if (!files.length) return { project: undefined, diagnostics: diags.list, environment: {} };
  const workingDir = opts.projectDirectory ? resolveFrom(opts.cwd, opts.projectDirectory, home) : posix.dirname(files[0]!);

  // .env (or --env-file) under the process environment.
  const dotenv: Record<string, string> = {};
  const envFiles = opts.envFiles && opts.envFiles.length ? opts.envFiles.map((f) => resolveFrom(opts.cwd, f, home)) : [posix.join(workingDir, ".env")];
  for (const ef of envFiles) {
    const read = reads.read(ef, "env file");
    if (read.kind === "error") {
      diags.push({ severity: "error", code: read.code, message: read.message, ...(read.hint ? { hint: read.hint } : {}), file: ef });
      continue;
    }
    if (read.kind === "missing") {
      if (opts.envFiles && opts.envFiles.length) diags.push({ severity: "error", code: "compose.env_file_not_found", message: `env file ${ef} does not exist`, file: ef });
      continue;
    }
    // The shell's value wins over earlier files, as in Compose (`A=${A:-x}` keeps the shell's A).
    const r = parseDotenv(read.text, (n) => own(opts.env, n) ?? own(dotenv, n));
    for (const e of r.errors) diags.push({ severity: "error", code: "compose.env_file", message: e.message, file: ef, line: e.line, column: 1 });
    Object.assign(dotenv, r.vars);
  }
  const environment: Record<string, string> = { ...dotenv };
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) environment[k] = v;
  const lookup: Lookup = (n) => own(environment, n);

  const loader = new Loader(opts, lookup, diags, reads);
  let merged: Record<string, unknown> | undefined;
  for (const f of files) {
    const l = loader.loadFile(f);
    if (!l) continue;
    // An override's list items follow the earlier files' in a merged list: each keeps the position it was written at.
    const before = merged ? loader.locations.snapshot() : undefined;
    loader.addLocations(l.locations);
    const prev = merged;
    merged = merged ? (mergeDocuments(merged, l.doc) as Record<string, unknown>) : { ...l.doc };
    if (prev && before) relistOverride(loader.locations, before, l.locations, prev, l.doc, merged);
  }
  if (!merged) return { project: undefined, diagnostics: diags.list, environment };
  if (Object.keys(merged).length === 0 && !diags.errors.length) {
    // Compose refuses this too ("empty compose file"): an empty file is more often a mistake than a project.
    const which = files.length === 1 ? `the compose file ${files[0]} is empty` : `the compose files ${files.join(", ")} are empty`;
    diags.push({ severity: "error", code: "compose.empty", message: which, hint: "define at least one service under 'services:'", file: files[0]!, line: 1, column: 1 });
    return { project: undefined, diagnostics: diags.list, environment };
  }
  if (loader.sawTags || loader.subSawTags()) merged = stripTags(merged) as Record<string, unknown>;

  // Project name: -p, COMPOSE_PROJECT_NAME, name:, directory.
  let name: string;
  const explicit = opts.projectName ?? environment.COMPOSE_PROJECT_NAME ?? (typeof merged.name === "string" && merged.name !== "" ? merged.name : undefined);
  if (explicit !== undefined) {
    name = explicit;
    const long = nameTooLong("project", name);
    if (long) {
      diags.error(opts.projectName !== undefined || environment.COMPOSE_PROJECT_NAME !== undefined ? [] : ["name"], "compose.name_too_long", long, "give a shorter one with -p, COMPOSE_PROJECT_NAME or name:");
      name = name.slice(0, MAX_NAME_LENGTH);
    } else if (!isValidProjectName(name)) {
      diags.error(opts.projectName !== undefined || environment.COMPOSE_PROJECT_NAME !== undefined ? [] : ["name"], "compose.bad_project_name", `invalid project name '${echo(name)}'`, `use lower-case letters, digits, '-' and '_', starting with a letter or digit, e.g. '${normalizeProjectName(name) || "app"}'`);
      name = normalizeProjectName(name) || "default";
    }
  } else {
    name = normalizeProjectName(posix.basename(workingDir)) || "default";
    const long = nameTooLong("project", name);
    if (long) {
      diags.error([], "compose.name_too_long", `${long} (from the directory name)`, "name the project with -p, COMPOSE_PROJECT_NAME or name:");
      name = name.slice(0, MAX_NAME_LENGTH);
    }
  }
  // Networks, volumes, secrets and configs are named like services: one length limit for every name.
  for (const [section, kind] of [["networks", "network"], ["volumes", "volume"], ["secrets", "secret"], ["configs", "config"]] as const) {
    const v = merged[section];
    if (!isDict(v)) continue;
    for (const k of Object.keys(v)) {
      const long = nameTooLong(kind, k);
      if (long) diags.keyError([section, k], "compose.name_too_long", long, "use a shorter name");
    }
  }

  const cx: Cx = { diags, resolvePath: (p) => resolveFrom(workingDir, p, home), portOrigins: new Map() };
  for (const k of Object.keys(merged)) {
    if (k.startsWith("x-") || TOP_LEVEL.includes(k)) continue;
    unknownField(cx, [k], k, TOP_LEVEL);
  }
  if (merged.version !== undefined) diags.warn(["version"], "compose.obsolete", "the top-level 'version' is obsolete and ignored", "remove it");
  if (merged.models !== undefined) diags.warn(["models"], "compose.unsupported", "'models' is parsed but not honoured by Fizz yet");

  const section = (k: string): Record<string, unknown> => {
    const v = merged![k];
    if (v === undefined || v === null) return {};
    if (!isDict(v)) {
      diags.error([k], "compose.wrong_type", `'${k}' must be a mapping`);
      return {};
    }
    return v;
  };
  const rawServices = section("services");
  const serviceCount = Object.keys(rawServices).length;
  if (serviceCount > MAX_SERVICES) {
    // Refused before normalising: 60,000 services took 2.5 s and 336 MB to validate.
    diags.error(["services"], "compose.too_many_services", limitMessage("services", "the project's number of services", serviceCount), "split it into several projects");
    return { project: undefined, diagnostics: diags.list, environment };
  }
  const active = opts.profiles && opts.profiles.length ? [...opts.profiles] : (environment.COMPOSE_PROFILES ?? "").split(",").map((s) => s.trim()).filter(Boolean);

  const services: Record<string, Service> = {};
  const disabled: Record<string, Service> = {};
  for (const [sname, raw] of Object.entries(rawServices)) {
    const long = nameTooLong("service", sname);
    if (long) diags.keyError(["services", sname], "compose.name_too_long", long, "use a shorter name (service names become DNS names)");
    else if (!/^[a-zA-Z0-9._-]+$/.test(sname)) diags.keyError(["services", sname], "compose.bad_name", `invalid service name '${echo(sname)}'`, "use letters, digits, '.', '-' and '_'");
    const svc = normalizeService(sname, raw, ["services", sname], cx);
    if (!svc) continue;
    const on = svc.profiles.length === 0 || svc.profiles.some((p) => active.includes(p) || active.includes("*"));
    (on ? services : disabled)[sname] = svc;
  }

  const networks: Record<string, Network> = {};
  for (const [k, raw] of Object.entries(section("networks"))) {
    const n = normalizeNetwork(name, k, raw, ["networks", k], cx);
    if (n) networks[k] = n;
  }
  // Every service without networks (and no network_mode) joins `default`.
  const needsDefault = Object.values(services).some((s) => s.network_mode === undefined && Object.keys(s.networks).length === 0);
  if (needsDefault && !networks.default) networks.default = { name: `${name}_default`, external: false, labels: {}, extensions: {} };
  for (const s of Object.values(services)) if (s.network_mode === undefined && Object.keys(s.networks).length === 0) s.networks = { default: null };

  const volumes: Record<string, Volume> = {};
  for (const [k, raw] of Object.entries(section("volumes"))) {
    const v = normalizeVolume(name, k, raw, ["volumes", k], cx);
    if (v) volumes[k] = v;
  }
  const secrets: Record<string, SecretDef> = {};
  for (const [k, raw] of Object.entries(section("secrets"))) {
    const v = normalizeSecret("secret", name, k, raw, ["secrets", k], cx);
    if (v) secrets[k] = v;
  }
  const configs: Record<string, ConfigDef> = {};
  for (const [k, raw] of Object.entries(section("configs"))) {
    const v = normalizeSecret("config", name, k, raw, ["configs", k], cx);
    if (v) configs[k] = v;
  }
  const extensions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(merged)) if (k.startsWith("x-") && k !== "x-fizz") extensions[k] = v;
  const x_fizz = merged["x-fizz"] === undefined ? undefined : readXFizzProject(merged["x-fizz"], ["x-fizz"], cx);

  for (const [sname, svc] of Object.entries(services)) {
    svc.env_file?.forEach((ef, i) => {
      const read = reads.read(ef.path, "env file");
      if (read.kind === "error") diags.error(["services", sname, "env_file", i], read.code, read.message, read.hint);
      else if (ef.required && read.kind === "missing") {
        diags.error(["services", sname, "env_file", i], "compose.env_file_not_found", `env file ${ef.path} does not exist`, "create it or mark it required: false");
      }
    });
  }
  if (opts.resolveEnvironment !== false) {
    for (const group of [services, disabled]) for (const k of Object.keys(group)) group[k] = resolveServiceEnvironment(group[k]!, environment, (p) => textOf(reads.read(p, "env file")), diags);
  }

  const project: Project = {
    name,
    working_dir: workingDir,
    files,
    services,
    disabled_services: disabled,
    networks,
    volumes,
    secrets,
    configs,
    x_fizz,
    extensions,
    active_profiles: active,
  };
  applyZones(x_fizz?.placement?.zone, [...Object.values(services), ...Object.values(disabled)]);
  validateProject(project, diags, (m) => cx.portOrigins!.get(m));
  return { project, diagnostics: diags.list, environment, locate: (path) => diags.locations.at([...path]) };
}
