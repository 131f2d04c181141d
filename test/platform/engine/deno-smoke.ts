/**
 * Exercises the engine client end to end for a runtime other than bun's test
 * runner (run by test/e2e/compiled-binary-engines.test.ts under Deno):
 * `deno run -A test/platform/engine/deno-smoke.ts unix:///var/run/docker.sock`
 * prints one JSON line with what it saw, and removes what it created.
 */
import { collectOutput, connectEngine } from "../../../platform/engine/index.ts";

const address = process.argv[2] ?? "docker";
const e = await connectEngine({ engine: address });
const name = `fizz-deno-smoke-${Math.random().toString(36).slice(2, 10)}`;
const label = { "io.fizz.test-run": name };
try {
  await e.containers.create({ Image: "fizz-test/busybox:1", Cmd: ["sh", "-c", "echo out; echo err >&2; sleep 30"], Labels: label }, { name });
  const since = Math.floor(Date.now() / 1000) - 1;
  await e.containers.start(name);
  let logs = { stdout: "", stderr: "" };
  for (let i = 0; i < 50 && !(logs.stdout && logs.stderr); i++) {
    logs = await collectOutput(e.containers.logs(name));
    if (!(logs.stdout && logs.stderr)) await new Promise((r) => setTimeout(r, 100));
  }
  const exec = await e.exec.run(name, ["sh", "-c", "echo x; exit 4"]);
  const id = await e.exec.create(name, { Cmd: ["cat"], AttachStdin: true });
  const s = await e.exec.startInteractive(id);
  await s.write("via stdin\n");
  s.end();
  const stdin = await collectOutput(s.output);
  let sawStart = false;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error("no start event")), 15_000);
  for await (const ev of e.events({ since, labels: label, filters: { event: ["start"] }, signal: ac.signal })) {
    if (ev.Actor.Attributes.name === name) {
      sawStart = true;
      break;
    }
  }
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ engine: e.name, logs, exec, stdin, sawStart })}\n`);
} finally {
  await e.containers.remove(name, { force: true }).catch(() => undefined);
  await e.close();
}
