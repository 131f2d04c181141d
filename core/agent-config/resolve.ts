/**
 * From `fizz agent`'s flags, the process environment and the config file text
 * to the node config (pure; the caller reads the file and the environment).
 */
import { usageError } from "../errors.ts";
import { formatApiAddress, parseApiAddress } from "./address.ts";
import { envLayer, flagLayer, mergeConfig, parseConfigFile, type ConfigLayer, type ResolvedConfig } from "./layers.ts";
import { defaults, type HostFacts } from "./schema.ts";

/** The agent verb's flags, as given (undefined = not given). */
export interface AgentFlags {
  readonly dataDir?: string | undefined;
  /** Every --api value, in order. */
  readonly api?: readonly string[];
  readonly apiTokenFile?: string | undefined;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly logLevel?: string | undefined;
  readonly logFormat?: string | undefined;
  readonly engine?: string | undefined;
}

/** Maps the flags onto config options. `--api <ip>:<port>` alone means TCP only (no socket). */
export function flagsToLayer(f: AgentFlags): ConfigLayer {
  const m = new Map<string, { flag: string; value: unknown }>();
  if (f.dataDir !== undefined) m.set("data_dir", { flag: "--data-dir", value: f.dataDir });
  let sawUnix = false;
  let sawTcp = false;
  for (const raw of f.api ?? []) {
    const a = parseApiAddress(raw, "--api address");
    if (a.kind === "unix") {
      if (sawUnix) throw usageError("--api: only one unix socket per agent");
      sawUnix = true;
      m.set("api.socket", { flag: "--api", value: a.path });
    } else {
      if (sawTcp) throw usageError("--api: only one TCP address per agent");
      sawTcp = true;
      if (a.tls !== undefined) throw usageError("--api: give <ip>:<port> (TLS comes from --tls-cert/--tls-key)");
      m.set("api.tcp.listen", { flag: "--api", value: formatApiAddress(a) });
    }
  }
  if (sawTcp && !sawUnix) m.set("api.socket", { flag: "--api", value: "" });
  const pairs: [string | undefined, string, string][] = [
    [f.apiTokenFile, "--api-token-file", "api.tcp.token_file"],
    [f.tlsCert, "--tls-cert", "api.tcp.tls.cert"],
    [f.tlsKey, "--tls-key", "api.tcp.tls.key"],
    [f.logLevel, "--log-level", "log.level"],
    [f.logFormat, "--log-format", "log.format"],
  ];
  for (const [v, flag, path] of pairs) if (v !== undefined) m.set(path, { flag, value: v });
  if (f.engine !== undefined) {
    if (f.engine === "docker" || f.engine === "podman" || f.engine === "auto") m.set("engine.kind", { flag: "--engine", value: f.engine });
    else m.set("engine.host", { flag: "--engine", value: f.engine });
  }
  return flagLayer(m);
}

/** defaults < file < FIZZ_* < flags. */
export function resolveAgentConfig(o: {
  readonly facts: HostFacts;
  readonly flags: AgentFlags;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly file: { readonly path: string; readonly text: string } | undefined;
}): ResolvedConfig {
  const layers: ConfigLayer[] = [];
  if (o.file) layers.push(parseConfigFile(o.file.text, o.file.path));
  // FIZZ_LOG_LEVEL/FIZZ_LOG_FORMAT are also the CLI's global variables; they mean the same here.
  layers.push(envLayer(o.env));
  layers.push(flagsToLayer(o.flags));
  // For a non-root user without XDG_RUNTIME_DIR the socket lives in the data
  // directory, so moving the data directory moves the socket default with it.
  const base = defaults(o.facts);
  const dataDir = [...layers].reverse().find((l) => l.values.has("data_dir"))?.values.get("data_dir")?.value;
  if (typeof dataDir === "string" && o.facts.uid !== 0 && !o.facts.env.XDG_RUNTIME_DIR) base.api.socket = `${dataDir}/fizz.sock`;
  return mergeConfig(base, layers);
}
