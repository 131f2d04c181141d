/**
 * A service's effective environment, as Compose computes it at `up` time:
 * `env_file` entries first (in order), then `environment:` on top; a variable
 * declared without a value (`- FOO`) takes the host's value or is dropped.
 * File reading is injected so this stays pure.
 */
import { FizzError } from "../errors.ts";
import { parseEnvFile } from "../compose/dotenv.ts";
import type { Service } from "../compose/model.ts";

/** Reads a file's text, or undefined when it does not exist. */
export type ReadText = (path: string) => string | undefined;

export function resolveEnvironment(
  service: Service,
  readText: ReadText,
  hostEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ef of service.env_file ?? []) {
    const text = readText(ef.path);
    if (text === undefined) {
      if (!ef.required) continue;
      throw new FizzError({
        code: "compose.env_file_missing",
        message: `service '${service.name}': env_file ${ef.path} does not exist`,
        hint: "create the file, or mark it optional with `required: false` (long syntax)",
        path: `services.${service.name}.env_file`,
      });
    }
    const parsed = parseEnvFile(text, ef.format, (k) => hostEnv[k]);
    const bad = parsed.errors[0];
    if (bad) {
      throw new FizzError({
        code: "compose.env_file_invalid",
        message: `service '${service.name}': env_file: ${bad.message}`,
        location: { file: ef.path, line: bad.line, column: 1 },
        hint: "each line must be KEY=VALUE (comments start with #)",
      });
    }
    for (const [k, v] of Object.entries(parsed.vars)) env[k] = v;
  }
  for (const [k, v] of Object.entries(service.environment)) {
    if (v !== null) env[k] = v;
    else if (hostEnv[k] !== undefined) env[k] = hostEnv[k]!;
    else delete env[k];
  }
  return env;
}

/** The service with `env_file` folded into `environment`, so its config hash changes when a file does. */
export function withResolvedEnvironment(
  service: Service,
  readText: ReadText,
  hostEnv: Readonly<Record<string, string | undefined>>,
): Service {
  const environment = resolveEnvironment(service, readText, hostEnv);
  const { env_file: _ef, ...rest } = service;
  return { ...rest, environment };
}
