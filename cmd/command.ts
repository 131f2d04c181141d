/**
 * How a verb plugs into the CLI. A verb file exports `register(cli, action)`;
 * it declares its options on the cac command and wraps its body with
 * `action(...)`, which resolves the global flags into a Context and turns the
 * returned number into the process exit code.
 *
 * Keep a verb file's top-level imports light (core/ and types only) and load
 * platform modules inside the action with `await import(...)`.
 */
import type { CAC } from "cac";
import type { Context } from "./context.ts";

export type Options = Record<string, unknown>;
export type ActionBody = (ctx: Context, args: string[], options: Options) => Promise<number | void> | number | void;
export type ActionWrapper = (body: ActionBody) => (...cacArgs: unknown[]) => Promise<void>;
export type RegisterVerb = (cli: CAC, action: ActionWrapper) => void;

/** Reads a string option that may have been given several times (last one wins). */
export function optString(options: Options, key: string): string | undefined {
  const v = options[key];
  if (v === undefined || v === null || v === false) return undefined;
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return String(v);
}

/** Reads a repeatable option as a list of strings. */
export function optList(options: Options, key: string): string[] {
  const v = options[key];
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * Whether `-T` or `--no-tty` was given. They are declared as two options:
 * cac cannot tell a combined `-T, --no-tty` given as -T from not given at all
 * (both read T=true, tty=true).
 */
export function noTty(options: Options): boolean {
  return options.tty === false || options.T === true;
}
