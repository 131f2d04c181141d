/**
 * Shell completion, tested through the real shells (setup-engines.sh installs
 * zsh and fish): each generated script loads, and completing `fizz logs `
 * in a project directory offers the project's service names; flags, verbs
 * and value lists come from the CLI definition.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli } from "../../cmd/cli.ts";
import { complete as complete_ } from "../../cmd/complete.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FIZZ = [process.execPath, join(ROOT, "cmd/fizz.ts")];
const dir = mkdtempSync(join(tmpdir(), "fizz-completion-"));
writeFileSync(join(dir, "compose.yaml"), "services:\n  web:\n    image: x\n  worker:\n    image: x\n  debug:\n    image: x\n    profiles: [tools]\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function have(shell: string): boolean {
  const ok = spawnSync(shell, ["-c", "exit 0"], { stdio: "ignore" }).status === 0;
  if (!ok && process.env.CI === "true") throw new Error(`CI requires ${shell} (test/setup-engines.sh installs it)`);
  return ok;
}

function script(shell: string): string {
  const r = spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "completion", shell], { encoding: "utf8" });
  expect(r.status).toBe(0);
  const path = join(dir, `fizz.${shell}`);
  writeFileSync(path, r.stdout);
  return path;
}

function sh(shell: string, args: string[]): string {
  const r = spawnSync(shell, args, { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: dir }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${shell} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const lines = (s: string) => s.split("\n").filter(Boolean);

describe("fizz __complete", () => {
  // The candidates in process (cmd/complete.ts over the real CLI definition): eleven spawns of the
  // CLI took over bun's default 5 s on a loaded machine (each start transpiles cmd/).
  const complete = async (...words: string[]) => complete_(buildCli({ code: 0 }, process.env), words, dir, process.env);
  test("verbs, flags, services, values", async () => {
    expect(await complete("r")).toEqual(expect.arrayContaining(["run", "rm", "restart", "rollback"]));
    expect(await complete("run", "--r")).toEqual(["--rm"]);
    expect(await complete("logs", "")).toEqual(["web", "worker"]);
    expect(await complete("run", "")).toEqual(["debug", "web", "worker"]); // run can start a profile's service
    expect(await complete("--profile", "tools", "logs", "")).toEqual(["debug", "web", "worker"]);
    expect(await complete("up", "--profile", "")).toEqual(["tools"]);
    expect(await complete("up", "--pull", "")).toEqual(["always", "missing", "never"]);
    expect(await complete("cp", "w")).toEqual(["web:", "worker:"]);
    expect(await complete("exec", "web", "")).toEqual([]); // the command: file names
    expect(await complete("up", "-f", "")).toEqual([]); // a file: file names
    expect(await complete("completion", "")).toEqual(["bash", "fish", "zsh"]);
  });

  // One start of the real CLI: a few seconds under load, bounded well past that.
  test("through the CLI: one candidate a line", () => {
    const r = spawnSync(FIZZ[0]!, [...FIZZ.slice(1), "__complete", "logs", ""], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual(["web", "worker"]);
  }, 60_000);
});

describe("completion scripts load in each shell and complete a service name", () => {
  test.skipIf(!have("bash"))("bash", () => {
    const path = script("bash");
    const run = (line: string) => lines(sh("bash", ["-c", `source ${path}; COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}; _fizz_complete; printf '%s\\n' "\${COMPREPLY[@]}"`]));
    expect(run("fizz logs w")).toEqual(["web", "worker"]);
    expect(run("fizz --profile tools run ")).toEqual(["debug", "web", "worker"]);
    // bash splits at ':' so only the part after it is replaced; the candidate keeps the service prefix's meaning.
    expect(run("fizz cp wo")).toEqual(["worker:"]);
    expect(run("fizz scale web=")).toEqual([]);
    expect(lines(sh("bash", ["-c", `source ${path}; complete -p fizz`]))).toEqual(["complete -o default -F _fizz_complete fizz"]);
  }, 60_000);

  test.skipIf(!have("zsh"))("zsh", () => {
    const path = script("zsh");
    // compadd only works inside the completion widget; a stand-in records what the function offers.
    const out = sh("zsh", ["-f", "-c", `autoload -Uz compinit; compinit -u -D; source ${path}; (( $+functions[_fizz] )) && print loaded; print -r -- \${_comps[fizz]}; compadd() { local a; for a in "$@"; do [[ $a == -* || -z $a ]] || print -r -- $a; done }; words=(fizz logs w); CURRENT=3; _fizz`]);
    expect(lines(out)).toEqual(["loaded", "_fizz", "web", "worker"]);
  }, 60_000);

  test.skipIf(!have("fish"))("fish", () => {
    const path = script("fish");
    const out = sh("fish", ["-c", `source ${path}; complete -C 'fizz logs w'; complete -C 'fizz lo'`]);
    expect(lines(out)).toEqual(["web", "worker", "logs"]);
  }, 60_000);
});
