/** Runs `fizz agent` as a real process for e2e tests and the benchmark. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../../..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const DENO = join(ROOT, "node_modules/.bin/deno");

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = a && typeof a === "object" ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface AgentProcess {
  readonly proc: ChildProcess;
  readonly dataDir: string;
  /** JSON log lines seen on stderr so far. */
  readonly logs: Record<string, unknown>[];
  readonly addresses: string[];
  token(): string;
  /** SIGTERM, then wait; resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  cleanup(): void;
}

export async function startAgent(o: { args: string[]; runtime?: "bun" | "deno"; dataDir?: string; env?: Record<string, string>; listeners?: number }): Promise<AgentProcess> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), "fizz-agent-"));
  const [cmd, pre] = o.runtime === "deno" ? [DENO, ["run", "-A", "cmd/fizz.ts"]] : [BUN, ["cmd/fizz.ts"]];
  const proc = spawn(cmd, [...pre, "agent", "--data-dir", dataDir, ...o.args], {
    cwd: ROOT,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", FIZZ_LOG_FORMAT: "json", ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const addresses: string[] = [];
  let stderr = "";
  const exited = new Promise<number | string>((r) => proc.once("exit", (code, sig) => r(code ?? sig ?? -1)));
  proc.stdout!.resume();
  const want = o.listeners ?? 1;
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`agent did not start within 30s:\n${stderr}`)), 30_000);
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
      const lines = stderr.split("\n");
      stderr = lines.pop()!;
      for (const l of lines) {
        try {
          const rec = JSON.parse(l) as Record<string, unknown>;
          logs.push(rec);
          if (typeof rec.address === "string" && String(rec.msg).startsWith("API listening")) {
            addresses.push(rec.address);
            if (addresses.length >= want) {
              clearTimeout(timer);
              ready();
            }
          }
        } catch {
          logs.push({ raw: l });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`agent exited (${code}) before listening:\n${logs.map((l) => JSON.stringify(l)).join("\n")}\n${stderr}`));
    });
  });
  return {
    proc,
    dataDir,
    logs,
    addresses,
    token: () => readFileSync(join(dataDir, "api-token"), "utf8").trim(),
    async stop(signal = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
