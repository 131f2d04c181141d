/**
 * The only place that knows whether we run on Bun or Deno. Everything else
 * uses `node:` built-ins, which both runtimes provide.
 */
declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

export type RuntimeName = "bun" | "deno" | "node";

export function runtimeName(): RuntimeName {
  if (typeof Bun !== "undefined") return "bun";
  if (typeof Deno !== "undefined") return "deno";
  return "node";
}

export function runtimeVersion(): string {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** True when running as a `bun build --compile` single executable. */
export function isCompiledBinary(): boolean {
  return import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");
}
