/**
 * Compose's `environment:` and `content:` secrets and configs on the engine
 * directly (`fizz up` in the foreground, `--no-agent`), where no agent
 * delivers them. Docker Compose copies such a value into the container; here
 * each becomes a file that is bind-mounted read-only as a `file:` one is.
 * The file is named by its value's digest, so a new value is a new mount
 * source and the container is recreated (a file mounted alone pins its
 * inode: rewriting it in place would not reach the container). The platform
 * writes the files (memory-backed storage where it can); a deployment made
 * through the agent never uses this (its definitions are sealed).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Project, SecretDef, Service } from "../compose/model.ts";

export interface LocalFileObject {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface LocalFileObjects {
  /** The project with each such definition given its `file:`. */
  readonly project: Project;
  readonly files: readonly LocalFileObject[];
}

/**
 * `dir`: the project's own directory for these files (a string, or a function
 * asked only when there is a file to place). `env`: the project's
 * environment (the shell over its .env), where `environment:` names a variable.
 * A definition whose variable is unset keeps no file (the container spec says why).
 */
export function localFileObjects(project: Project, dir: string | (() => string), env: (name: string) => string | undefined): LocalFileObjects {
  const files: LocalFileObject[] = [];
  let base: string | undefined;
  const dirOf = () => (base ??= typeof dir === "string" ? dir : dir());
  const used = (kind: "secrets" | "configs") => new Set([...Object.values(project.services), ...Object.values(project.disabled_services)].flatMap((s) => s[kind].map((r) => r.source)));
  const convert = (kind: "secrets" | "configs", defs: Record<string, SecretDef>): Record<string, SecretDef> => {
    const want = used(kind);
    const out: Record<string, SecretDef> = {};
    for (const [key, def] of Object.entries(defs)) {
      const value = want.has(key) && !def.file && !def.sealed && !def.external ? (def.content ?? (def.environment !== undefined ? env(def.environment) : undefined)) : undefined;
      if (value === undefined) {
        out[key] = def;
        continue;
      }
      const bytes = new TextEncoder().encode(value);
      const digest = bytesToHex(sha256(bytes)).slice(0, 16);
      const path = `${dirOf()}/${kind.slice(0, -1)}-${key.replace(/[^A-Za-z0-9_.-]/g, "_")}-${digest}`;
      files.push({ path, bytes });
      out[key] = { ...def, file: path };
      digests[kind].set(key, digest);
    }
    return out;
  };
  const digests = { secrets: new Map<string, string>(), configs: new Map<string, string>() };
  const secrets = convert("secrets", project.secrets);
  const configs = convert("configs", project.configs);
  if (!files.length) return { project, files };
  const withDigests = (s: Service): Service => {
    const refs = (kind: "secrets" | "configs") => s[kind].map((r) => (digests[kind].has(r.source) ? { ...r, value_digest: digests[kind].get(r.source)! } : r));
    return { ...s, secrets: refs("secrets"), configs: refs("configs") };
  };
  const map = (all: Record<string, Service>) => Object.fromEntries(Object.entries(all).map(([k, s]) => [k, withDigests(s)]));
  return { project: { ...project, secrets, configs, services: map(project.services), disabled_services: map(project.disabled_services) }, files };
}
