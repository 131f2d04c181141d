/**
 * The agent's node configuration (pure): the option table (schema.ts), value
 * parsing (values.ts), the config file / FIZZ_* environment / flag layers and
 * their merge, defaults < file < env < flags (layers.ts), the agent flags
 * mapping and full resolution (resolve.ts), and API address
 * syntax shared by the agent and the CLI (address.ts). Reading files and the
 * process environment is the caller's job.
 */
export { SCHEMA, defaults, fields, envName, configFileDefault, dataDirDefault, socketDefault, isSection } from "./schema.ts";
export type { AgentConfig, HostFacts, FieldSpec, SectionSpec, Spec, FieldType, EngineKind, LogLevelName } from "./schema.ts";
export { parseConfigFile, envLayer, flagLayer, mergeConfig, fieldSpec, type ConfigLayer, type ResolvedConfig } from "./layers.ts";
export { coerce, parseDuration, formatDuration } from "./values.ts";
export { parseApiAddress, formatApiAddress, type ApiAddress } from "./address.ts";
export { resolveAgentConfig, flagsToLayer, type AgentFlags } from "./resolve.ts";
