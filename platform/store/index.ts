/**
 * The agent's local persistence: one SQLite file in the data directory
 * (node:sqlite, same on Bun and Deno). Holds the node identity, accepted
 * deployments with their source, desired replica counts, restart history and
 * the event log. Writes are synchronous and durable (WAL, synchronous=FULL),
 * so a deployment the API acknowledged survives `kill -9`.
 */
export { AgentStore, readRestartHistory, versionOf, type RestartHistory, type StoredDeployment, type EventRecord, type RestartRecord, type NewEvent } from "./agent-store.ts";
export { MIGRATIONS, migrate } from "./migrations.ts";
