/**
 * The candidates behind shell completion: `fizz __complete WORD…` (the words
 * after `fizz`, the one being completed last, possibly empty) prints one
 * candidate per line. Verbs and flags come from the CLI definition itself,
 * service names from the compose project in the current directory (honouring
 * -f, -p, --project-directory, --env-file and --profile on the line), profile
 * names likewise, and node names from the local agent when it is in a
 * cluster. Nothing printed means "complete file names" to the shell scripts.
 * Never fails: a broken project or no agent just gives fewer candidates.
 */
import type { CAC, Command } from "cac";

/** Verbs whose positional words are service names (the first one only for these). */
const ONE_SERVICE = new Set(["run", "exec", "attach", "port", "rollback", "why"]);
const SERVICES = new Set(["up", "create", "ps", "logs", "start", "stop", "restart", "kill", "rm", "pause", "unpause", "top", "images", "wait", "pull", "build", "config", "watch"]);
const VALUES: Record<string, string[]> = {
  "--engine": ["docker", "podman"],
  "--pull": ["always", "missing", "never"],
  "--progress": ["auto", "tty", "plain", "quiet", "json"],
  "--rmi": ["local", "all"],
  "--protocol": ["tcp", "udp"],
  "--log-level": ["trace", "debug", "info", "warn", "error", "silent"],
  "--log-format": ["json", "pretty"],
  "--signal": ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"],
};
const FILE_VALUES = new Set(["--file", "--env-file", "--project-directory", "--data-dir", "--config", "--tls-cert", "--tls-key"]);

interface Flag {
  names: string[];
  takesValue: boolean;
  long: string;
}

function flagsOf(options: Command["options"]): Flag[] {
  return options.map((o) => {
    const names = o.rawName.split(/[ ,]+/).filter((p) => p.startsWith("-"));
    const long = names.find((n) => n.startsWith("--")) ?? names[0]!;
    return { names, takesValue: o.rawName.includes("<") || o.rawName.includes("["), long };
  });
}

export async function complete(cli: CAC, words: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const current = words.length ? words[words.length - 1]! : "";
  const before = words.slice(0, -1);
  const globals = flagsOf(cli.globalCommand.options);
  const verbs = cli.commands.filter((c) => c.name !== "" && !c.name.startsWith("__"));
  // Walk the line: find the verb, the flags given and the positionals so far.
  let verb: Command | undefined;
  let flags = globals;
  const given: Record<string, string[]> = {};
  const positionals: string[] = [];
  let expectValueFor: Flag | undefined;
  let passthrough = false;
  for (const w of before) {
    if (expectValueFor) {
      (given[expectValueFor.long] ??= []).push(w);
      expectValueFor = undefined;
      continue;
    }
    if (w === "--") {
      passthrough = true;
      continue;
    }
    if (w.startsWith("-") && !passthrough) {
      const name = w.split("=")[0]!;
      // Before the verb, a project flag (`fizz --profile tools up`) is known from any verb that has it.
      const f = flags.find((x) => x.names.includes(name)) ?? (verb ? undefined : verbs.flatMap((c) => flagsOf(c.options)).find((x) => x.names.includes(name)));
      if (f?.takesValue && !w.includes("=")) expectValueFor = f;
      else if (f && w.includes("=")) (given[f.long] ??= []).push(w.slice(w.indexOf("=") + 1));
      continue;
    }
    if (!verb) {
      verb = verbs.find((c) => c.name === w || c.aliasNames.includes(w));
      if (verb) flags = [...flagsOf(verb.options), ...globals];
      continue;
    }
    positionals.push(w);
  }
  if (expectValueFor) return valueCandidates(expectValueFor.long, verb, given, cwd, env);
  if (current.startsWith("-") && !passthrough) return [...new Set(flags.flatMap((f) => f.names.filter((n) => n.startsWith("--") || current.length <= 2)))].filter((n) => n.startsWith(current)).sort();
  if (!verb) return verbs.map((c) => c.name).filter((n) => n.startsWith(current)).sort();
  const name = verb.name;
  if (name === "completion") return positionals.length ? [] : ["bash", "fish", "zsh"].filter((s) => s.startsWith(current));
  if (name === "nodes") return (await nodeNames(env)).filter((n) => n.startsWith(current));
  if (name === "cp") return (await serviceNames(given, cwd, env)).map((s) => `${s}:`).filter((s) => s.startsWith(current));
  if (name === "scale") return (await serviceNames(given, cwd, env)).map((s) => `${s}=`).filter((s) => s.startsWith(current));
  if (ONE_SERVICE.has(name) && positionals.length === 0) return (await serviceNames(given, cwd, env, name === "run")).filter((s) => s.startsWith(current));
  if (SERVICES.has(name)) return (await serviceNames(given, cwd, env, name === "up" || name === "config")).filter((s) => s.startsWith(current) && !positionals.includes(s));
  return [];
}

async function valueCandidates(flag: string, verb: Command | undefined, given: Record<string, string[]>, cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (FILE_VALUES.has(flag)) return [];
  if (flag === "--profile") return profiles(given, cwd, env);
  if (flag === "--format") return verb?.name === "config" ? ["yaml", "json"] : verb?.name === "validate" ? ["text", "json"] : verb?.name === "version" ? ["pretty", "json"] : ["table", "json"];
  if (flag === "--host") return [];
  return VALUES[flag] ?? [];
}

async function loaded(given: Record<string, string[]>, cwd: string, env: NodeJS.ProcessEnv) {
  try {
    const { loadProject } = await import("./compose-load.ts");
    const r = await loadProject(
      {
        files: given["--file"] ?? [],
        projectName: given["--project-name"]?.at(-1),
        projectDirectory: given["--project-directory"]?.at(-1),
        envFiles: given["--env-file"] ?? [],
        profiles: (given["--profile"] ?? []).flatMap((p) => p.split(",")),
      },
      cwd,
      env,
      { resolveEnvironment: false },
    );
    return r.project;
  } catch {
    return undefined;
  }
}

async function serviceNames(given: Record<string, string[]>, cwd: string, env: NodeJS.ProcessEnv, withDisabled = false): Promise<string[]> {
  const p = await loaded(given, cwd, env);
  if (!p) return [];
  return [...Object.keys(p.services), ...(withDisabled ? Object.keys(p.disabled_services) : [])].sort();
}

async function profiles(given: Record<string, string[]>, cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const p = await loaded(given, cwd, env);
  if (!p) return [];
  return [...new Set([...Object.values(p.services), ...Object.values(p.disabled_services)].flatMap((s) => s.profiles))].sort();
}

async function nodeNames(env: NodeJS.ProcessEnv): Promise<string[]> {
  try {
    const { ApiClient, clientOptionsFrom } = await import("../platform/api/client.ts");
    const { homedir } = await import("node:os");
    const client = new ApiClient(clientOptionsFrom(env.FIZZ_HOST || undefined, env, { uid: process.getuid?.() ?? 0, env, home: homedir() }));
    const nodes = await Promise.race([client.clusterNodes(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), 2000).unref())]);
    return nodes.map((n) => n.name).sort();
  } catch {
    return [];
  }
}
