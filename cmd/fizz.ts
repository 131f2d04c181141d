#!/usr/bin/env bun
/** The fizz executable: parse the command line, run the verb, exit with its code. */
import { runCli } from "./cli.ts";

const code = await runCli(process.argv.slice(2));
// Let stdout drain before exiting (matters when piped).
process.exitCode = code;
if (code !== 0 || !process.env.FIZZ_NO_EXIT) {
  await new Promise<void>((resolve) => (process.stdout.writableLength ? process.stdout.once("drain", resolve) : resolve()));
  process.exit(code);
}
