/**
 * A misspelt service name on the container verbs is answered as Compose does
 * (`no such service`, with the nearest name), not with an empty list (`ps`)
 * or a hint to start a service that does not exist (`exec`). The engine is a
 * stand-in on a unix socket that runs no containers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedFizz } from "./isolated-cli.ts";

let dir: string;
let engine: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-service-names-"));
  writeFileSync(join(dir, "compose.yaml"), "name: names\nservices:\n  worker:\n    image: x\n  debug:\n    image: x\n    profiles: [tools]\n");
  engine = createServer((req, res) => {
    res.writeHead(200, { "content-type": req.url === "/_ping" ? "text/plain" : "application/json", "api-version": "1.41" });
    res.end(req.url === "/_ping" ? "OK" : req.url!.includes("/containers/json") ? "[]" : "{}");
  });
  await new Promise<void>((r) => engine.listen(join(dir, "engine.sock"), r));
});

afterAll(async () => {
  await new Promise<void>((r) => engine.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs fizz in the project (async: the stand-in engine answers from this process). */
function fizz(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return isolatedFizz(dir, { FIZZ_ENGINE: `unix://${join(dir, "engine.sock")}` }, args);
}

describe("a service name the compose file does not have", () => {
  test("fizz exec wokrer: no such service, did you mean worker (not 'start it with fizz up')", async () => {
    const r = await fizz(["exec", "wokrer", "ls"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: no such service: wokrer");
    expect(r.stderr).toContain("did you mean 'worker'?");
    // A service of the file with no container keeps the plain answer.
    const known = await fizz(["exec", "debug", "ls"]);
    expect(known.code).toBe(1);
    expect(known.stderr).toContain("service 'debug' has no running container in project names");
  }, 30_000);

  test("fizz ps wokrer: no such service and status 2, as Compose, not an empty table and 0", async () => {
    const r = await fizz(["ps", "wokrer"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("did you mean 'worker'?");
    const known = await fizz(["ps", "debug"]);
    expect(known.stderr).toBe("");
    expect(known.code).toBe(0);
  }, 30_000);
});
