/**
 * A service's environment as Compose v2 resolves it right after loading
 * (compose-go's WithServicesEnvironmentResolved, which every `docker compose`
 * verb and `config` apply): each `env_file` is read in order and folded in,
 * `environment:` wins over the files, and an entry declared without a value
 * (`- FOO`, `FOO:`) takes FOO from the project environment (.env under the
 * shell) or stays unset (null). Values in an env_file are interpolated against
 * the project environment first, then the service's own `environment:`
 * (not in `format: raw`, whose values are taken as written).
 * Pure: files come through the injected reader; problems become diagnostics
 * located at the env file's line.
 */
import type { Diags } from "./diagnostics.ts";
import { parseEnvFile } from "./dotenv.ts";
import { own } from "./hash.ts";
import type { Service } from "./model.ts";

export type ReadText = (path: string) => string | undefined;

/** The service with env_file folded into environment and bare entries resolved; env_file is dropped. */
export function resolveServiceEnvironment(svc: Service, environment: Readonly<Record<string, string>>, read: ReadText, diags: Diags): Service {
  const resolved: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(svc.environment)) resolved[k] = v ?? own(environment, k) ?? null;
  if (!svc.env_file?.length) return { ...svc, environment: resolved };
  const fromFiles: Record<string, string> = {};
  for (const ef of svc.env_file) {
    const text = read(ef.path);
    // A missing required file is reported once by the loader; an optional one is skipped.
    if (text === undefined) continue;
    const lookup = (n: string) => own(environment, n) ?? (own(resolved, n) ?? undefined);
    const r = parseEnvFile(text, ef.format, (n) => lookup(n) ?? own(fromFiles, n));
    for (const e of r.errors) diags.push({ severity: "error", code: "compose.env_file", message: `service '${svc.name}': ${e.message}`, file: ef.path, line: e.line, column: 1 });
    Object.assign(fromFiles, r.vars);
  }
  const { env_file: _e, ...rest } = svc;
  // environment: wins over the files, even an entry that stayed unset (as in Compose).
  return { ...rest, environment: { ...fromFiles, ...resolved } };
}
