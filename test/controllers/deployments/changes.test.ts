/**
 * The one converge path on one node, through the real API and controllers
 * over an in-memory engine: a change is validated completely before anything
 * is stored (18.4), reads only what it carries (18.8), `fizz scale` vs a later
 * `up` (18.7), replica limits and planning that keeps the API answering
 * (18.2), every `up` flag applied once, and a failed `up` reverted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { loadProject } from "../../../core/compose/load.ts";
import { FizzError } from "../../../core/errors.ts";
import { LABEL } from "../../../core/labels.ts";
import { MAX_REPLICAS } from "../../../core/limits.ts";
import type { EventRecord } from "../../../platform/store/index.ts";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { until, failure } from "../../support/wait.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-changes-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = (content: string, extra: Record<string, unknown> = {}) => ({ files: [{ name: "compose.yaml", content }], workingDir: "/srv/app", ...extra });
/** The normalised project `fizz up` sends, with `change` applied to its web service (a hand-written or hostile client's body). */
const projectBody = (change: (web: Record<string, unknown>) => void) => {
  const p = JSON.parse(JSON.stringify(loadProject({ cwd: "/srv/app", env: {}, reader: { read: (f) => (f === "/srv/app/compose.yaml" ? "services:\n  web:\n    image: busybox\n    deploy: { replicas: 2 }\n" : undefined) } }).project)) as { services: { web: Record<string, unknown> } };
  change(p.services.web);
  return { project: p as unknown as Record<string, unknown> };
};
const web = (image = "fizz-test/busybox:1", replicas = 2) => `services:\n  web:\n    image: ${image}\n    command: ["sleep", "3600"]\n    deploy: { replicas: ${replicas} }\n`;

describe("one node", () => {
  let a: TestAgent;
  const engine = new MemoryEngine({
    now: Date.now,
    images: ["fizz-test/busybox:1", "fizz-test/busybox:2"],
    registry: (ref) => !ref.startsWith("nowhere/"),
    failStart: (c) => (c.image === "fizz-test/busybox:2" && c.env.includes("FAIL=yes") ? "exec: \"nope\": executable file not found" : undefined),
  });
  beforeAll(async () => {
    a = await startTestAgent({ name: "one", dir, engine });
  });
  afterAll(() => a.stop());

  test("a refused PUT leaves no trace: bad image, ports, units, types (18.4)", async () => {
    for (const body of [
      files("services:\n  web:\n    image: UPPER/Case:1\n"),
      files('services:\n  web:\n    image: busybox\n    ports: ["junk"]\n'),
      files("services:\n  web:\n    image: busybox\n    mem_limit: lots\n"),
      files("services:\n  web:\n    image: busybox\n    environment:\n      A: { nested: { deep: 1 } }\n"),
      files(`services:\n  web:\n    image: ${"x".repeat(1 << 20)}\n`),
      files("services:\n  web:\n    image: busybox\n    deploy: { replicas: 100000 }\n"),
      // The same as a normalised project body (what the API fuzz's project mutations send).
      projectBody((w) => (w.ports = [null])),
      projectBody((w) => (w.image = "UPPER/Case:1")),
      projectBody((w) => (w.mem_limit = "lots")),
      projectBody((w) => (w.environment = { A: { nested: 1 } })),
      projectBody((w) => ((w.deploy as Record<string, unknown>).replicas = 65_536)),
      projectBody((w) => (w.healthcheck = "x")),
    ]) {
      const calls = engine.calls.length;
      const t0 = Date.now();
      const e = await failure(a.client.up("bad", body));
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(e.status).toBe(400);
      expect(e.message.length).toBeLessThan(400);
      expect(engine.calls.length).toBe(calls);
    }
    expect(await a.client.listDeployments()).toEqual([]);
    expect(a.store.getDeployment("bad")).toBeUndefined();
    const types = a.store.events(0, 10_000).map((e) => e.type);
    expect(types).not.toContain("deployment.accepted");
  });

  test("replicas over the limit are refused naming it, within a second (18.2)", async () => {
    const e = await failure(a.client.up("big", files(web("fizz-test/busybox:1", 100_000))));
    expect(e.message).toContain("over the replicas limit (1000 replicas)");
  });

  test("the agent reads only what it is sent (18.8)", async () => {
    const e = await failure(a.client.up("leak", files("services:\n  web:\n    image: busybox\n    env_file: /etc/hostname\n")));
    expect(e.status).toBe(400);
    expect(a.store.getDeployment("leak")).toBeUndefined();
    const x = await failure(a.client.up("leak", files("services:\n  web:\n    extends: { file: /etc/passwd, service: root }\n")));
    expect(x.status).toBe(400);
    expect(JSON.stringify(x.toJSON())).not.toContain("root:x:0:0");
  });

  test("up converges through the reconciler; progress and the end are typed events", async () => {
    const seen: EventRecord[] = [];
    const r = await a.client.up("shop", files(web()), { onEvent: (e) => seen.push(e) });
    expect(r.created).toBe(true);
    expect(r.actions).toMatchObject({ createContainer: 2, startContainer: 2, createNetwork: 1 });
    expect(engine.running("shop", "web")).toHaveLength(2);
    const steps = seen.filter((e) => e.type.startsWith("step."));
    expect(steps.map((e) => (e.data as { step: { kind: string; subject: string } }).step).filter((s) => s.kind === "startContainer").map((s) => s.subject).sort()).toEqual(["shop-web-1", "shop-web-2"]);
    expect(seen.at(-1)!.type).toBe("deployment.converged");
  });

  test("--force-recreate recreates once; --remove-orphans removes what the file dropped; --scale is the same change", async () => {
    const before = engine.running("shop", "web").map((c) => c.id).sort();
    await a.client.up("shop", files(`${web()}  extra:\n    image: fizz-test/busybox:1\n    command: ["sleep", "1"]\n`));
    expect(engine.running("shop", "extra")).toHaveLength(1);
    const r = await a.client.up("shop", files(web(), { options: { forceRecreate: true, removeOrphans: true, scale: { web: 3 } } }));
    expect(r.actions?.createContainer).toBe(3);
    const after = engine.running("shop", "web");
    expect(after).toHaveLength(3);
    expect(after.some((c) => before.includes(c.id))).toBe(false);
    expect([...engine.containersById.values()].filter((c) => c.labels[LABEL.service] === "extra")).toEqual([]);
    // The next passes are the loop's: nothing is recreated again.
    const ids = after.map((c) => c.id).sort();
    await a.deployments.reconciler.run("shop");
    expect(engine.running("shop", "web").map((c) => c.id).sort()).toEqual(ids);
  });

  test("fizz scale, then an up: the file wins and the answer says so (18.7)", async () => {
    await a.client.scale("shop", "web", 4);
    expect(engine.running("shop", "web")).toHaveLength(4);
    const r = await a.client.up("shop", files(web()));
    expect(r.warnings).toContain("web: the 4 replicas set by `fizz scale` were reset to the compose file's 2 (use --scale web=4 to keep them)");
    expect(engine.running("shop", "web")).toHaveLength(2);
    // --scale keeps a count on purpose, and the next up without it says it reset it.
    await a.client.up("shop", files(web(), { options: { scale: { web: 3 } } }));
    expect(engine.running("shop", "web")).toHaveLength(3);
  });

  test("x-fizz.scaling bounds fizz scale and up --scale: refused naming both bounds, nothing changed", async () => {
    const bounded = `services:\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    x-fizz: { scaling: { min: 2, max: 3 } }\n`;
    const r = await a.client.up("bounded", files(bounded));
    expect(r.created).toBe(true);
    expect(engine.running("bounded", "web")).toHaveLength(2); // no count: starts at min
    const calls = engine.calls.length;
    for (const n of [1, 4]) {
      const e = await failure(a.client.scale("bounded", "web", n));
      expect([e.status, e.code]).toEqual([400, "deploy.out_of_bounds"]);
      expect(e.message).toBe(`fizz scale for service 'web' is ${n}, ${n < 2 ? "below" : "above"} its x-fizz.scaling bounds (min 2, max 3)`);
    }
    const u = await failure(a.client.up("bounded", files(bounded, { options: { scale: { web: 9 } } })));
    expect(u.message).toBe("--scale for service 'web' is 9, above its x-fizz.scaling bounds (min 2, max 3)");
    expect(engine.calls.length).toBe(calls);
    await a.client.scale("bounded", "web", 3);
    expect(engine.running("bounded", "web")).toHaveLength(3);
    await a.client.down("bounded");
  });

  test("the answer says whether the stored spec changed (in a cluster a change may do nothing on this node)", async () => {
    const one = `services:\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n`;
    expect(await a.client.up("chg", files(one))).toMatchObject({ created: true, changed: true });
    expect(await a.client.up("chg", files(one))).toMatchObject({ created: false, changed: false });
    expect(await a.client.up("chg", files(one.replace("3600", "3601")))).toMatchObject({ created: false, changed: true });
    await a.client.down("chg");
  });

  test("fizz scale of a global service is refused, as in Swarm; nothing changed", async () => {
    const global = `services:\n  agent:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    deploy: { mode: global }\n`;
    await a.client.up("glob", files(global));
    const calls = engine.calls.length;
    const e = await failure(a.client.scale("glob", "agent", 5));
    expect([e.status, e.code]).toEqual([400, "reconcile.bad_scale"]);
    expect(e.message).toContain("deploy.mode: global");
    expect(engine.calls.length).toBe(calls);
    expect(engine.running("glob", "agent")).toHaveLength(1);
    await a.client.down("glob");
  });

  test("what the user stopped by hand stays stopped until start, scale or up; what was not told comes back", async () => {
    const svc = (n: string) => `  ${n}:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    restart: always\n`;
    const body = files(`services:\n${svc("web")}${svc("worker")}`);
    await a.client.up("held", body);
    const pass = () => new Promise((r) => setTimeout(r, 1500)); // three reconcile periods (500 ms here)
    // fizz stop web, as the CLI does it: the agent is told, then the engine stops it.
    expect((await a.client.userStopped("held", ["web"], "stop")).stopped).toEqual({ web: "stop" });
    Object.assign(engine.byName("held-web-1")!, { state: "exited", exitCode: 0 });
    // A worker container removed behind the agent's back (docker rm) still comes back.
    const worker = engine.byName("held-worker-1")!;
    engine.containersById.delete(worker.id);
    await until("the worker back", 5000, () => engine.running("held", "worker").length === 1 || undefined);
    await pass();
    expect(engine.byName("held-web-1")!.state).toBe("exited");
    // fizz start web: the agent keeps it running again (restart: always), here started by the loop itself.
    expect((await a.client.userResumed("held", ["web"])).stopped).toEqual({});
    await until("web started again", 5000, () => engine.running("held", "web").length === 1 || undefined);
    // fizz rm -sf (every service): nothing is recreated, and the record survives an unrelated wake.
    await a.client.userStopped("held", [], "rm");
    for (const c of engine.running("held")) engine.containersById.delete(c.id);
    await pass();
    expect(engine.running("held")).toEqual([]);
    // fizz scale worker=1 hands that service back; up hands back the rest.
    await a.client.scale("held", "worker", 1);
    expect(engine.running("held", "worker")).toHaveLength(1);
    expect(engine.running("held", "web")).toHaveLength(0);
    await a.client.up("held", body);
    expect(engine.running("held", "web")).toHaveLength(1);
    expect((await a.client.userResumed("held", [])).stopped).toEqual({});
    const unknown = await failure(a.client.userStopped("held", ["nope"], "kill"));
    expect([unknown.status, unknown.message]).toEqual([404, "no service 'nope' in deployment 'held'"]);
    expect((await failure(a.client.userStopped("nowhere", [], "kill"))).status).toBe(404);
    await a.client.down("held");
    expect(a.store.getMeta("user_stopped:held") ?? "").toBe("");
  });

  test("the health monitor leaves a service the user paused alone, and restarts the others", async () => {
    const svc = (n: string) => `  ${n}:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    healthcheck: { test: ["CMD", "true"], interval: 1s, retries: 1 }\n`;
    await a.client.up("sick", files(`services:\n${svc("web")}${svc("worker")}`));
    await a.client.userStopped("sick", ["web"], "pause");
    for (const n of ["sick-web-1", "sick-worker-1"]) engine.byName(n)!.unhealthy = true;
    await until("worker restarted", 10_000, () => engine.calls.includes("restartContainer sick-worker-1") || undefined);
    await new Promise((r) => setTimeout(r, 1000)); // five health passes (200 ms here)
    expect(engine.calls).not.toContain("restartContainer sick-web-1");
    await a.client.userResumed("sick", []);
    await until("web restarted once handed back", 10_000, () => engine.calls.includes("restartContainer sick-web-1") || undefined);
    await a.client.down("sick");
  });

  test("a failed up changes nothing: what it created goes and the previous spec comes back", async () => {
    const before = engine.running("shop", "web").map((c) => `${c.name}@${c.image}`).sort();
    const broken = "services:\n  web:\n    image: fizz-test/busybox:2\n    command: [\"sleep\", \"3600\"]\n    environment: { FAIL: \"yes\" }\n    deploy: { replicas: 3 }\n";
    const e = await failure(a.client.up("shop", files(broken)));
    expect(e.message).toContain("executable file not found");
    await until("the previous spec back", 5000, () => engine.running("shop", "web").map((c) => `${c.name}@${c.image}`).sort().join() === before.join() || undefined);
    expect([...engine.containersById.values()].filter((c) => c.image === "fizz-test/busybox:2")).toEqual([]);
    expect(((await a.client.getDeployment("shop")).spec as { services: { web: { image: string } } }).services.web.image).toBe("fizz-test/busybox:1");
    // A new deployment that fails is removed entirely.
    const n = await failure(a.client.up("fresh", files(broken)));
    expect(n.code).toBe("executor.step_failed");
    await until("fresh removed", 5000, async () => !(await a.client.listDeployments()).some((d) => d.name === "fresh") || undefined);
    expect([...engine.containersById.values()].filter((c) => c.labels[LABEL.project] === "fresh")).toEqual([]);
    expect([...engine.networks.keys()].filter((k) => k.startsWith("fresh"))).toEqual([]);
  });

  test("a pull that fails fails the up, naming the image", async () => {
    const e = await failure(a.client.up("pull", files("services:\n  web:\n    image: nowhere/app:1\n")));
    expect(e.message).toContain("nowhere/app:1");
  });

  test("changes to one deployment are applied one after another", async () => {
    const order: string[] = [];
    const runs = ["fizz-test/busybox:1", "fizz-test/busybox:2", "fizz-test/busybox:1"].map((img, i) =>
      a.client.up("serial", files(web(img, 1)), { onEvent: (e) => e.type.startsWith("deployment.") && order.push(`${i}:${e.type}`) }),
    );
    await Promise.all(runs);
    expect(order.filter((x) => x.endsWith("converged"))).toHaveLength(3);
    expect(engine.running("serial", "web").map((c) => c.image)).toEqual(["fizz-test/busybox:1"]);
    await a.client.down("serial");
  });

  test("down removes everything through the one teardown", async () => {
    const r = await a.client.down("shop");
    expect(r.removed.containers).toBe(3);
    expect(engine.running("shop")).toEqual([]);
    expect(await a.client.listDeployments()).toEqual([]);
  });

  test("up web (fizz up -d web): the named services and their dependencies change, the others keep what they run", async () => {
    const stack = (m: string) =>
      `services:\n  api:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    environment: { MODE: ${m} }\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    environment: { MODE: ${m} }\n    depends_on: [api]\n  tool:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    environment: { MODE: ${m} }\n`;
    const modes = () => Object.fromEntries(["api", "web", "tool"].map((s) => [s, engine.running("parts", s).map((c) => c.env.find((e) => e.startsWith("MODE=")))[0]]));
    const stored = async () => {
      const spec = (await a.client.getDeployment("parts")).spec as { services: Record<string, { environment: Record<string, string> }> };
      return Object.fromEntries(Object.entries(spec.services).map(([k, v]) => [k, `MODE=${v.environment.MODE}`]));
    };
    await a.client.up("parts", files(stack("one")));
    expect(modes()).toEqual({ api: "MODE=one", web: "MODE=one", tool: "MODE=one" });
    // --no-deps: web alone.
    await a.client.up("parts", files(stack("two"), { options: { services: ["web"], noDeps: true } }));
    expect(modes()).toEqual({ api: "MODE=one", web: "MODE=two", tool: "MODE=one" });
    expect(await stored()).toEqual({ api: "MODE=one", web: "MODE=two", tool: "MODE=one" });
    // With its dependencies: api too; tool stays, also on the agent's later passes.
    await a.client.up("parts", files(stack("three"), { options: { services: ["web"] } }));
    expect(modes()).toEqual({ api: "MODE=three", web: "MODE=three", tool: "MODE=one" });
    await Bun.sleep(1200); // two of the agent's full passes (reconcile.interval 500 ms here)
    expect(modes()).toEqual({ api: "MODE=three", web: "MODE=three", tool: "MODE=one" });
    await a.client.up("parts", files(stack("three")));
    expect(modes()).toEqual({ api: "MODE=three", web: "MODE=three", tool: "MODE=three" });
    // A service the file does not have is refused, naming it; nothing changes.
    const e = await failure(a.client.up("parts", files(stack("four"), { options: { services: ["nope"] } })));
    expect([e.code, e.message]).toEqual(["api.not_found", "no such service in parts: 'nope'"]);
    await a.client.down("parts");
    // A new deployment made by `up tool` has that service only.
    await a.client.up("parts", files(stack("five"), { options: { services: ["tool"] } }));
    expect(Object.keys(await stored())).toEqual(["tool"]);
    expect(modes()).toEqual({ api: undefined, web: undefined, tool: "MODE=five" });
    await a.client.down("parts");
  });

  test("down, edit, up: the new file runs, not the one removed (a deployment made again starts over at generation 1)", async () => {
    const mode = (m: string) => `services:\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    environment: { MODE: ${m} }\n`;
    await a.client.up("again", files(mode("one")));
    expect(engine.running("again", "web").map((c) => c.env.filter((e) => e.startsWith("MODE=")))).toEqual([["MODE=one"]]);
    await a.client.down("again");
    const r = await a.client.up("again", files(mode("three")));
    expect(r.created).toBe(true);
    expect(engine.running("again", "web").map((c) => c.env.filter((e) => e.startsWith("MODE=")))).toEqual([["MODE=three"]]);
    // A failed first up removes the deployment; the fixed file is what the next up runs.
    const broken = "services:\n  web:\n    image: fizz-test/busybox:2\n    command: [\"sleep\", \"3600\"]\n    environment: { FAIL: \"yes\" }\n";
    await a.client.down("again");
    await failure(a.client.up("again", files(broken)));
    await until("again removed", 5000, async () => !(await a.client.listDeployments()).some((d) => d.name === "again") || undefined);
    await a.client.up("again", files(mode("four")));
    expect(engine.running("again", "web").map((c) => `${c.image} ${c.env.filter((e) => e.startsWith("MODE=")).join()}`)).toEqual(["fizz-test/busybox:1 MODE=four"]);
    await a.client.down("again");
  });
});

describe("a large deployment", () => {
  test("the API and /healthz answer while 4,000 replicas are planned and converge (18.2)", async () => {
    const engine = new MemoryEngine({ now: Date.now, images: ["fizz-test/busybox:1"] });
    const a = await startTestAgent({ name: "large", dir, engine });
    try {
      const yaml = ["services:"];
      for (let i = 0; i < 4; i++) yaml.push(`  s${i}:`, "    image: fizz-test/busybox:1", '    command: ["sleep", "3600"]', `    deploy: { replicas: ${MAX_REPLICAS} }`, ...(i > 0 ? [`    depends_on: [s${i - 1}]`] : []));
      const up = a.client.up("large", files(yaml.join("\n") + "\n"));
      let done = false;
      void up.finally(() => (done = true)).catch(() => undefined);
      let worst = 0;
      let answers = 0;
      while (!done) {
        const t0 = performance.now();
        expect(await a.client.health()).toEqual({ status: "ok" });
        await a.client.listDeployments();
        worst = Math.max(worst, performance.now() - t0);
        answers++;
        await new Promise((r) => setTimeout(r, 20));
      }
      await up;
      expect(engine.running("large", "s3")).toHaveLength(MAX_REPLICAS);
      process.stderr.write(`large deployment: ${answers} health+list answers while converging, slowest ${worst.toFixed(0)} ms\n`);
      expect(answers).toBeGreaterThan(1);
      // The behaviour: the API stays responsive (an event-loop hog shows up as seconds here).
      expect(worst).toBeLessThan(1000);
    } finally {
      await a.stop();
    }
  }, 120_000);
});

describe("restart", () => {
  test("a stored deployment over the replica limit does not wedge a restarted agent (18.2)", async () => {
    const engine = new MemoryEngine({ now: Date.now, images: ["fizz-test/busybox:1"] });
    const first = await startTestAgent({ name: "wedge", dir, engine });
    await first.client.up("ok", files(web("fizz-test/busybox:1", 1)));
    // As an older agent (or a peer) could have stored it.
    const rec = first.store.getDeployment("ok")!;
    const spec = rec.spec as { services: { web: { deploy: { replicas: number } } } };
    spec.services.web.deploy.replicas = 100_000;
    first.store.putDeployment("huge", { ...(rec.spec as object), name: "huge" }, rec.source, Date.now());
    await first.stop();
    const again = await startTestAgent({ name: "wedge", dir, engine });
    try {
      const t0 = Date.now();
      expect(await again.client.health()).toEqual({ status: "ok" });
      expect(Date.now() - t0).toBeLessThan(1000);
      const failed = await until("the refusal event", 5000, () => again.store.events(0, 10_000).find((e) => e.type === "reconcile.failed" && e.deployment === "huge"));
      expect(failed.message).toContain("over the replicas limit");
      expect(engine.running("huge")).toEqual([]);
      expect(engine.running("ok")).toHaveLength(1);
    } finally {
      await again.stop();
    }
  });
});
