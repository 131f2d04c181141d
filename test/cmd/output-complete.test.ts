/**
 * Issue 18: `fizz config | wc -c` gave 131,072 bytes (2,009,006 to a file)
 * with exit code 0. Every CLI command writes all of its output before it
 * exits. Here: `fizz config`, `fizz inspect` and `fizz validate --format json`
 * each print over 10 MB; piped into a slow reader, under Bun, Deno and the
 * compiled executable, the bytes equal a redirect to a file and the exit code
 * is the command's own. A reader that goes away (`| head -c`) ends fizz with
 * 141 (SIGPIPE's status), not 0 and not a stack trace.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, compiledFizz, DENO, ROOT } from "../support/compiled.ts";

setDefaultTimeout(180_000);

const MB10 = 10 * 1000 * 1000;
let dir: string;
let agent: Server;
let socket: string;
let runtimes: [string, string][];

/** Runs a bash command line; resolves with its stdout, stderr and status (async: the fake agent lives in this process). */
function bash(line: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn("bash", ["-c", line], { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1", FIZZ_HOST: `unix:${socket}`, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fizz-output-"));
  // config: 100 services whose environment interpolates a 105 kB .env value, ~10.5 MB of YAML.
  writeFileSync(join(dir, ".env"), `BIG=${"abcdefghij".repeat(10_500)}\n`);
  const svc = Array.from({ length: 100 }, (_, i) => `  s${i}:\n    image: busybox\n    environment:\n      BIG: \${BIG}\n      N: "${i}"\n`).join("");
  writeFileSync(join(dir, "compose.yaml"), `services:\n${svc}`);
  // validate --format json: 2,000 services × 10 bad ports, ~10.5 MB of diagnostics.
  const bad = Array.from({ length: 2000 }, (_, i) => `  s${i}:\n    image: busybox\n    ports:\n${Array.from({ length: 10 }, (_, j) => `      - "bad-port-${j}-${"p".repeat(100)}"\n`).join("")}`).join("");
  writeFileSync(join(dir, "invalid.yaml"), `services:\n${bad}`);
  // inspect: an agent whose deployment is 10+ MB of JSON.
  const detail = JSON.stringify({ name: "big", generation: 1, services: Object.fromEntries(Array.from({ length: 21_000 }, (_, i) => [`s${i}`, { image: "busybox", labels: { note: "x".repeat(400) } }])) });
  socket = join(dir, "agent.sock");
  agent = createServer((req, res) => {
    if (req.url === "/v1/deployments/big") {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(detail) });
      res.end(detail);
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"code":"api.not_found","message":"no"}');
    }
  });
  await new Promise<void>((r) => agent.listen(socket, r));
  runtimes = [
    ["bun", `${BUN} ${join(ROOT, "cmd/fizz.ts")}`],
    ["deno", `${DENO} run -A ${join(ROOT, "cmd/fizz.ts")}`],
    ["compiled", compiledFizz()],
  ];
});

afterAll(async () => {
  await new Promise<void>((r) => agent.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const commands: [string, string, number][] = [
  ["config", "config", 0],
  ["validate --format json", "validate --format json -f invalid.yaml", 1],
  ["inspect", "inspect big", 0],
];

describe("output is complete when piped (issue 18)", () => {
  for (const [name, args, status] of commands) {
    test(`fizz ${name}: a slow pipe gets the same ${">"}10 MB as a file, on Bun, Deno and the compiled executable`, async () => {
      const ref = await bash(`${runtimes[0]![1]} ${args} > ref.out`);
      expect(ref.code).toBe(status);
      const expected = readFileSync(join(dir, "ref.out"));
      expect(expected.length).toBeGreaterThan(MB10);
      for (const [rt, fizz] of runtimes) {
        // The reader starts late, so the pipe is full and fizz must wait for it before exiting.
        const r = await bash(`set -o pipefail; ${fizz} ${args} | (sleep 0.3; cat) > piped.out`);
        expect({ rt, code: r.code, stderr: r.stderr }).toEqual({ rt, code: status, stderr: "" });
        const got = readFileSync(join(dir, "piped.out"));
        expect({ rt, bytes: got.length, same: got.equals(expected) }).toEqual({ rt, bytes: expected.length, same: true });
      }
    });
  }

  test("a reader that goes away ends fizz with 141 and no noise", async () => {
    for (const [rt, fizz] of runtimes) {
      const r = await bash(`${fizz} inspect big | head -c 1000 > /dev/null; echo "status=\${PIPESTATUS[0]}"`);
      expect({ rt, out: r.stdout.trim(), stderr: r.stderr }).toEqual({ rt, out: "status=141", stderr: "" });
    }
  });
});
