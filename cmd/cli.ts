/**
 * Builds the cac program: global flags, the verbs, and precise usage errors
 * with "did you mean" suggestions (exit code 2).
 */
import { exitCodeOf } from "../core/error-codes.ts";
import { cac, type CAC } from "cac";
import { FizzError, isFizzError, usageError } from "../core/errors.ts";
import { suggest } from "../core/text/suggest.ts";
import type { ActionBody, Options } from "./command.ts";
import { createContext, type Context, type GlobalOptions } from "./context.ts";
import { verbs } from "./verbs.ts";
import { EXAMPLES } from "./examples.ts";
import { versionLine } from "./version.ts";
import type { LogFormat, LogLevel } from "../platform/log.ts";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export function globalOptions(options: Options, env: NodeJS.ProcessEnv): GlobalOptions {
  const level = String(options.logLevel ?? env.FIZZ_LOG_LEVEL ?? "info");
  if (!LEVELS.includes(level)) {
    throw usageError(`unknown log level '${level}'`, `use one of: ${LEVELS.join(", ")}`);
  }
  const fmt = options.logFormat ?? env.FIZZ_LOG_FORMAT;
  if (fmt !== undefined && fmt !== "json" && fmt !== "pretty") {
    throw usageError(`unknown log format '${String(fmt)}'`, "use --log-format json or --log-format pretty");
  }
  const noColorEnv = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const host = options.host ?? env.FIZZ_HOST;
  return {
    logLevel: level as LogLevel,
    logFormat: fmt as LogFormat | undefined,
    color: options.color !== false && !noColorEnv && process.stdout.isTTY === true,
    host: host === undefined ? undefined : String(host),
  };
}

export interface RunResult {
  code: number;
}

export function buildCli(result: RunResult, env: NodeJS.ProcessEnv): CAC {
  const cli = cac("fizz");
  cli
    .option("--log-level <level>", "Log level: trace, debug, info, warn, error, silent", { default: undefined })
    .option("--log-format <format>", "Log format: json (default when not a TTY) or pretty")
    .option("--no-color", "Disable colour (also NO_COLOR)")
    .option("-H, --host <addr>", "Agent address: unix:<path> or <ip>:<port> (also FIZZ_HOST)");

  const action =
    (body: ActionBody) =>
    async (...cacArgs: unknown[]): Promise<void> => {
      const options = (cacArgs.pop() ?? {}) as Options;
      const args = cacArgs.flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)])).map((a) => (a === STDIO_ARG ? "-" : a));
      const ctx: Context = createContext(globalOptions(options, env));
      const code = await body(ctx, args, options);
      result.code = typeof code === "number" ? code : 0;
    };

  for (const register of verbs) register(cli, action);
  for (const c of cli.commands) if (!c.examples.length) for (const e of EXAMPLES[c.name] ?? []) c.example(e);

  // Only the long form here: -v is a verb flag (run --volume, down --volumes), as in Compose; a lone `fizz -v` is answered in fizz.ts.
  cli.option("--version", "Print the version and build commit (also -v alone)");
  // cac shows a negated flag's implied default ("--no-deps … (default: true)"), which reads as if it were on.
  cli.help((sections) => sections.map((sec) => ({ ...sec, body: sec.body.replace(/^(\s*--no-\S+.*?)\s*\(default: true\)$/gm, "$1") })));
  return cli;
}

/** Names of the options a matched command (plus the globals) accepts, as typed on the command line. */
function knownFlags(cli: CAC): string[] {
  const flags = new Set<string>();
  const add = (rawName: string) => {
    for (const part of rawName.split(/[ ,]+/)) if (part.startsWith("-")) flags.add(part.replace(/^--no-/, "--"));
  };
  for (const o of cli.globalCommand.options) add(o.rawName);
  const cmd = cli.matchedCommand;
  if (cmd) for (const o of cmd.options) add(o.rawName);
  return [...flags];
}

/**
 * Verbs whose trailing words are a command line of their own (`fizz exec web sh -c 'ls'`):
 * everything after that many positionals is passed through untouched, by inserting `--`.
 */
const PASSTHROUGH_AFTER: Record<string, number> = { exec: 1, run: 1 };

/** Adds the spellings of the options that take a value (`-f, --file <file>`: -f and --file). */
function addValueFlags(to: Set<string>, options: readonly { rawName: string }[]): Set<string> {
  for (const o of options) {
    if (!o.rawName.includes("<") && !o.rawName.includes("[")) continue;
    for (const part of o.rawName.split(/[ ,]+/)) if (part.startsWith("-")) to.add(part);
  }
  return to;
}

export function withPassthrough(cli: CAC, argv: string[]): string[] {
  const valueFlags = addValueFlags(new Set<string>(), cli.globalCommand.options);
  let verb: string | undefined;
  let need = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return argv;
    if (a.startsWith("-")) {
      if (!a.includes("=") && valueFlags.has(a)) i++;
      continue;
    }
    if (verb === undefined) {
      verb = a;
      need = PASSTHROUGH_AFTER[a] ?? -1;
      if (need < 0) return argv;
      addValueFlags(valueFlags, cli.commands.find((c) => c.name === a)?.options ?? []);
      continue;
    }
    need--;
    if (need === 0) return [...argv.slice(0, i + 1), "--", ...argv.slice(i + 1)];
  }
  return argv;
}

/** A lone `-` (stdin or stdout, `fizz cp - web:/x`) stands in as this while cac parses: its parser reads `-` as a flag with no name and drops it. */
const STDIO_ARG = "\u0000-";

/**
 * `--grace -5h`: a flag that takes a value, followed by a negative number or
 * duration, takes it as its value (as Docker's CLI does), so the verb can say
 * what is wrong with it. cac would read `-5h` as the short flags -5 and -h,
 * and print the help with exit 0.
 */
export function withNegativeValues(cli: CAC, argv: string[]): string[] {
  const verb = argv.find((a) => !a.startsWith("-"));
  const cmd = cli.commands.find((c) => c.name === verb || c.aliasNames.includes(verb ?? ""));
  const valueFlags = addValueFlags(addValueFlags(new Set<string>(), cli.globalCommand.options), cmd?.options ?? []);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return [...out, ...argv.slice(i)];
    if (a === "-") {
      out.push(STDIO_ARG);
      continue;
    }
    const next = argv[i + 1];
    if (valueFlags.has(a) && next !== undefined && (next === "-" || /^-[0-9.]/.test(next))) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** cac checks unknown flags only for matched commands; do the same without one. */
function checkGlobalFlags(cli: CAC, argv: string[]): void {
  const known = knownFlags(cli);
  for (const token of argv) {
    if (token === "--") break;
    if (!token.startsWith("-") || token === "-") continue;
    const flag = token.split("=")[0]!.replace(/^--no-/, "--");
    if (/^-[a-zA-Z]{2,}$/.test(flag)) continue; // bundled short flags are checked by cac
    if (!known.includes(flag)) {
      const near = suggest(flag, known);
      throw usageError(`unknown flag '${flag}'`, near ? `did you mean '${near}'?` : "run 'fizz --help' for the flags");
    }
  }
}

function commandNames(cli: CAC): string[] {
  return cli.commands.flatMap((c) => [c.name, ...c.aliasNames]).filter((n) => n !== "");
}

/** Parses argv and runs the matched verb. Returns the exit code; never throws. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const result: RunResult = { code: 0 };
  const cli = buildCli(result, env);
  try {
    cli.parse(["fizz", "fizz", ...withNegativeValues(cli, withPassthrough(cli, argv))], { run: false });
    if (cli.options.help) return 0;
    if (cli.options.version && !cli.matchedCommand) {
      process.stdout.write(`${versionLine()}\n`);
      return 0;
    }
    if (!cli.matchedCommand) {
      checkGlobalFlags(cli, argv);
      const word = cli.args[0];
      if (word === undefined) {
        cli.outputHelp();
        return 0;
      }
      const near = suggest(word, commandNames(cli));
      throw usageError(`unknown command '${word}'`, near ? `did you mean 'fizz ${near}'?` : "run 'fizz --help' for the list of commands");
    }
    await cli.runMatchedCommand();
    return result.code;
  } catch (e) {
    return reportError(cli, e);
  }
}

function reportError(cli: CAC, e: unknown): number {
  const err = toFizzError(cli, e);
  const color = process.stderr.isTTY === true && !process.env.NO_COLOR;
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  process.stderr.write(`${red("error:")} ${err.where()}\n`);
  if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  if (process.env.FIZZ_DEBUG && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
  return exitCodeOf(err.code, err.exitCode);
}

function toFizzError(cli: CAC, e: unknown): FizzError {
  if (isFizzError(e)) return e;
  if (e instanceof Error && e.name === "CACError") {
    const unknown = /Unknown option `([^`]+)`/.exec(e.message);
    if (unknown) {
      // cac names `--no-agent` by what it negates (`--agent`): say what was typed.
      const negated = `--no-${unknown[1]!.replace(/^--/, "")}`;
      const flag = process.argv.includes(negated) ? negated : unknown[1]!;
      const near = suggest(flag, knownFlags(cli));
      return usageError(`unknown flag '${flag}'`, near ? `did you mean '${near}'?` : "run 'fizz --help' for the flags");
    }
    return usageError(e.message.replace(/`/g, "'"));
  }
  return new FizzError({
    code: "internal",
    message: `unexpected failure: ${e instanceof Error ? e.message : String(e)}`,
    hint: "this is a bug in fizz; rerun with FIZZ_DEBUG=1 and report the output",
    cause: e,
  });
}
