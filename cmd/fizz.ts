#!/usr/bin/env bun
/** The fizz executable: parse the command line, run the verb, exit with its code. */
export {}; // a module: top-level await

const argv = process.argv.slice(2);
const { flushStdio, guardStdio } = await import("../platform/stdio.ts");
guardStdio();
let code: number;
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  // Answered before the CLI and its verbs are loaded: in the compiled bundle this
  // skips initialising every verb's imports (bench/startup.ts: ~13 -> ~9 ms CPU).
  const { versionLine } = await import("./version.ts");
  process.stdout.write(`${versionLine()}\n`);
  code = 0;
} else {
  const [{ restoreLaunchEnvironment }, { readFileSync }] = await Promise.all([import("../platform/runtime.ts"), import("node:fs")]);
  restoreLaunchEnvironment((p) => {
    try {
      return readFileSync(p);
    } catch {
      return undefined;
    }
  });
  if (argv[0] === "__complete") {
    // Shell completion candidates (cmd/complete.ts): not a verb, so `fizz --help` does not list it.
    const [{ buildCli }, { complete }] = await Promise.all([import("./cli.ts"), import("./complete.ts")]);
    const words = await complete(buildCli({ code: 0 }, process.env), argv.slice(1), process.cwd(), process.env);
    process.stdout.write(words.map((w) => `${w}\n`).join(""));
    code = 0;
  } else {
    const { runCli } = await import("./cli.ts");
    code = await runCli(argv);
  }
}
// Every byte of output leaves before we exit (to a pipe, Bun writes asynchronously).
process.exitCode = code;
await flushStdio();
if (code !== 0 || !process.env.FIZZ_NO_EXIT) process.exit(code);
