/** The API client for verbs that talk to a fizz agent (-H/--host, FIZZ_HOST, else the local socket). */
import { homedir } from "node:os";
import type { Context } from "./context.ts";

export async function agentClient(ctx: Context) {
  const { ApiClient, clientOptionsFrom } = await import("../platform/api/client.ts");
  return new ApiClient(clientOptionsFrom(ctx.global.host, process.env, { uid: process.getuid?.() ?? 0, env: process.env, home: homedir() }));
}

/** `2026-11-22T10:00:00Z` → `3 minutes ago`, for tables. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("   ").trimEnd()).join("\n") + "\n";
}
