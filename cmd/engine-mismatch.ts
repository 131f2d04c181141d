/**
 * The refusal when a user names one engine and the fizz agent drives another:
 * what each one is, and the exact command lines to run instead, made from the
 * user's own command. Pure (the caller passes argv, the environment and the
 * agent's paths) so the wording is unit-tested.
 */
import type { EngineIdentity } from "../core/engine/identity.ts";
import { FizzError } from "../core/errors.ts";

/** Where the user named the engine. */
export type EngineSource = "--engine" | "FIZZ_ENGINE" | "DOCKER_HOST";

export interface MismatchInput {
  /** The verb that would have gone through the agent. */
  readonly verb: "up" | "down" | "ps" | "logs";
  /** The command line after `fizz` (process.argv.slice(2)). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly source: EngineSource;
  readonly requested: EngineIdentity;
  /** The agent's engine; undefined for an agent that does not report one. */
  readonly agent: EngineIdentity | undefined;
  /** The agent's API address as the user would write it for -H (unix:/run/fizz/fizz.sock). */
  readonly agentAddress: string;
  /** Where a second agent for the requested engine would keep its state and socket. */
  readonly secondAgent: { readonly dataDir: string; readonly api: string };
}

const SAFE = /^[A-Za-z0-9_\-.,:/=@%+]+$/;

/** One shell word, quoted only when it has to be. */
export function shellQuote(word: string): string {
  return SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `args` without the given flags and their values (`--engine x`, `--engine=x`). */
export function withoutFlags(args: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (flags.includes(a)) {
      i++;
      continue;
    }
    if (flags.some((f) => f.startsWith("--") && a.startsWith(`${f}=`))) continue;
    out.push(a);
  }
  return out;
}

/** `args` with `flag` added before any `--` (so it stays a fizz flag, not part of a command). */
function withFlag(args: readonly string[], flag: string): string[] {
  if (args.includes(flag)) return [...args];
  const dash = args.indexOf("--");
  return dash < 0 ? [...args, flag] : [...args.slice(0, dash), flag, ...args.slice(dash)];
}

/** A command line: `prefix` words (env, VAR=value) then `fizz` and its arguments, each quoted for a shell. */
function line(prefix: readonly string[], args: readonly string[]): string {
  const pre = prefix.map((w) => (/^[A-Z_]+=/.test(w) ? w.replace(/=(.*)$/s, (_m, v: string) => `=${shellQuote(v)}`) : shellQuote(w)));
  return [...pre, "fizz", ...args.map(shellQuote)].join(" ");
}

function describe(e: EngineIdentity, other: EngineIdentity | undefined): string {
  // Same kind on both sides: the ID is what tells them apart.
  return other && other.name === e.name ? `${e.name} (${e.address}, engine ${e.id})` : `${e.name} (${e.address})`;
}

/** The variables that name an engine and are set, to unset for the agent's engine. */
function engineVariables(env: MismatchInput["env"]): string[] {
  return ["FIZZ_ENGINE", "DOCKER_HOST"].filter((v) => (env[v] ?? "").trim() !== "");
}

export function engineMismatchError(m: MismatchInput): FizzError {
  const asked = m.source === "--engine" ? "--engine" : m.source;
  const agentSide = m.agent ? describe(m.agent, m.requested) : "an engine it does not report (a fizz agent older than this CLI)";
  const message =
    `the fizz agent at ${m.agentAddress} ${m.verb === "ps" || m.verb === "logs" ? "runs on" : "deploys on"} ${agentSide}, ` +
    `but ${asked} asks for ${describe(m.requested, m.agent)}${m.verb === "up" || m.verb === "down" ? "; nothing was changed" : ""}`;

  const unset = engineVariables(m.env);
  const onAgent = line(unset.length ? ["env", ...unset.flatMap((v) => ["-u", v])] : [], withoutFlags(m.args, ["--engine"]));
  const agentName = m.agent?.name ?? "the agent's engine";
  const req = m.requested.name;
  const choices: string[] = [];
  switch (m.verb) {
    case "up":
      choices.push(
        `${line([], withFlag(m.args, "--no-agent"))}\n      on ${req}, as docker compose does (no agent keeps the stack running afterwards)`,
        `${onAgent}\n      on ${agentName}, kept by this agent`,
        `${line([], ["agent", "--engine", m.requested.address, "--data-dir", m.secondAgent.dataDir, "--api", m.secondAgent.api])} &\n` +
          `    ${line([`FIZZ_HOST=${m.secondAgent.api}`], withoutFlags(m.args, ["-H", "--host"]))}\n      on ${req}, kept by a second agent of its own`,
      );
      break;
    case "down":
      choices.push(
        `${line([], withFlag(m.args, "--no-agent"))}\n      removes the project's containers on ${req}`,
        `${onAgent}\n      removes the agent's deployment on ${agentName}`,
      );
      break;
    case "ps":
    case "logs":
      choices.push(
        `${line(["env", "-u", "FIZZ_HOST"], withoutFlags(m.args, ["-H", "--host"]))}\n      the project's containers on ${req}, read from the engine directly`,
        `${onAgent}\n      the agent's containers on ${agentName}`,
      );
      break;
  }
  return new FizzError({
    code: "client.engine_mismatch",
    message,
    hint: `a fizz agent works on the one engine it was started with. Run one of:\n${choices.map((c) => `    ${c}`).join("\n")}`,
  });
}
