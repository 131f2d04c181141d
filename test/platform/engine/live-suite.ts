/**
 * The engine client against a real engine, shared by test/e2e/engine-docker
 * and engine-podman. Every object gets a unique name and is removed in
 * afterAll, also when a test fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectEngine, collectOutput, type Engine, type OutputFrame } from "../../../platform/engine/index.ts";
import { isFizzError } from "../../../core/errors.ts";
import type { EngineKind } from "../../support/engine.ts";

export const IMAGE = "fizz-test/busybox:1";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function suffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function expectFizz(p: Promise<unknown>, code: string): Promise<Error & { code: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    if (!isFizzError(e)) throw e;
    expect(e.code).toBe(code);
    return e as Error & { code: string; hint?: string };
  }
  throw new Error(`expected a FizzError ${code}, but the call succeeded`);
}

export function engineSuite(kind: EngineKind, socket: string | undefined): void {
  describe.skipIf(!socket)(`engine client against real ${kind}`, () => {
    let engine: Engine;
    const run = suffix();
    const label = { "io.fizz.test-run": run };
    const containers: string[] = [];
    const networks: string[] = [];
    const volumes: string[] = [];
    const images: string[] = [];
    const name = (what: string) => {
      const n = `fizz-e2e-${what}-${run}`;
      return n;
    };

    beforeAll(async () => {
      engine = await connectEngine({ engine: `unix://${socket}` });
    }, 30_000);

    afterAll(async () => {
      if (!engine) return;
      for (const c of containers) await engine.containers.remove(c, { force: true, volumes: true }).catch(() => undefined);
      for (const n of networks) await engine.networks.remove(n).catch(() => undefined);
      for (const v of volumes) await engine.volumes.remove(v, { force: true }).catch(() => undefined);
      for (const i of images) await engine.images.remove(i, { force: true }).catch(() => undefined);
      // Nothing labelled with this run may survive.
      const left = await engine.containers.list({ all: true, labels: label });
      await engine.close();
      expect(left.map((c) => c.Names)).toEqual([]);
    }, 120_000);

    async function startContainer(what: string, cmd: string[], extra: Parameters<Engine["containers"]["create"]>[0] = { Image: IMAGE }) {
      const n = name(what);
      containers.push(n);
      const created = await engine.containers.create({ ...extra, Image: extra.Image ?? IMAGE, Cmd: cmd, Labels: { ...label, ...extra.Labels } }, { name: n });
      await engine.containers.start(n);
      return { name: n, id: created.Id };
    }

    test("ping identifies the engine and the API version is negotiated", async () => {
      expect(engine.name).toBe(kind);
      expect(engine.apiVersion).toMatch(/^1\.\d+$/);
      const v = await engine.version();
      expect(v.Os).toBe("linux");
      expect(v.ApiVersion).toBeTruthy();
      const info = await engine.info();
      expect(info.NCPU).toBeGreaterThan(0);
      expect(await engine.images.exists(IMAGE)).toBe(true);
      expect(await engine.images.exists(`fizz-test/absent-${run}:1`)).toBe(false);
    }, 60_000);

    test("container lifecycle: create with labels, start, logs, exec, inspect, list by label, stop, wait, remove", async () => {
      const c = await startContainer("life", ["sh", "-c", "echo to-out; echo to-err >&2; trap 'exit 7' TERM; while true; do sleep 0.1; done"], {
        Image: IMAGE,
        Labels: { "com.docker.compose.service": "web" },
      });
      // Starting an already running container is success (304), not an error.
      await engine.containers.start(c.name);

      const info = await engine.containers.inspect(c.name);
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels?.["io.fizz.test-run"]).toBe(run);
      expect(info.Config.Labels?.["com.docker.compose.service"]).toBe("web");

      let logs = { stdout: "", stderr: "" };
      for (let i = 0; i < 50 && !(logs.stdout && logs.stderr); i++) {
        logs = await collectOutput(engine.containers.logs(c.name));
        if (!(logs.stdout && logs.stderr)) await sleep(100);
      }
      expect(logs).toEqual({ stdout: "to-out\n", stderr: "to-err\n" });

      const ex = await engine.exec.run(c.name, ["sh", "-c", "cat /etc/fizz-fixture; echo oops >&2; exit 3"]);
      expect(ex).toEqual({ exitCode: 3, stdout: "fizz-test busybox fixture version 1\n", stderr: "oops\n" });

      const listed = await engine.containers.list({ labels: { ...label, "com.docker.compose.service": "web" } });
      expect(listed.map((x) => x.Id)).toEqual([c.id]);
      expect(await engine.containers.list({ labels: { ...label, "com.docker.compose.service": "db" } })).toEqual([]);

      const waited = engine.containers.wait(c.name);
      await engine.containers.stop(c.name, { timeout: 5 });
      expect((await waited).StatusCode).toBe(7);
      await engine.containers.stop(c.name); // already stopped: 304 is success
      expect((await engine.containers.inspect(c.name)).State.Status).toBe("exited");

      await engine.containers.remove(c.name);
      expect(await engine.containers.find(c.name)).toBeUndefined();
      await expectFizz(engine.containers.inspect(c.name), "engine.not_found");
    }, 60_000);

    test("follow logs streams until the container exits; a TTY container's output is raw", async () => {
      const c = await startContainer("follow", ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo bye >&2"]);
      const frames: OutputFrame[] = [];
      for await (const f of engine.containers.logs(c.name, { follow: true, signal: AbortSignal.timeout(20_000) })) frames.push(f);
      const text = (s: string) => frames.filter((f) => f.stream === s).map((f) => new TextDecoder().decode(f.data)).join("");
      expect(text("stdout")).toBe("line1\nline2\nline3\n");
      expect(text("stderr")).toBe("bye\n");

      const t = await startContainer("tty", ["sh", "-c", "echo tty-out; echo tty-err >&2"], { Image: IMAGE, Tty: true });
      await engine.containers.wait(t.name, { signal: AbortSignal.timeout(20_000) });
      const out = await collectOutput(engine.containers.logs(t.name));
      expect(out.stdout.replace(/\r/g, "")).toBe("tty-out\ntty-err\n");
      expect(out.stderr).toBe("");
    }, 60_000);

    test("attach sees live output; aborting a stream ends it promptly", async () => {
      const c = await startContainer("attach", ["sh", "-c", "while true; do echo tick; sleep 0.1; done"]);
      const ac = new AbortController();
      let ticks = 0;
      let ended: unknown;
      try {
        for await (const f of engine.containers.attach(c.name, { signal: ac.signal })) {
          ticks += new TextDecoder().decode(f.data).split("tick").length - 1;
          if (ticks >= 3) ac.abort(new Error("enough"));
        }
      } catch (e) {
        ended = e;
      }
      expect(ticks).toBeGreaterThanOrEqual(3);
      // Either the loop ended quietly or with our abort reason, never another error.
      if (ended !== undefined) expect((ended as Error).message).toBe("enough");
    }, 60_000);

    test("two-way streams: exec with stdin, attach with stdin", async () => {
      const c = await startContainer("stdin", ["sleep", "30"]);
      const execId = await engine.exec.create(c.name, { Cmd: ["sh", "-c", "tr a-z A-Z; echo eof-seen >&2"], AttachStdin: true });
      const s = await engine.exec.startInteractive(execId);
      await s.write("hello stdin\n");
      s.end();
      const out = await collectOutput(s.output);
      expect(out).toEqual({ stdout: "HELLO STDIN\n", stderr: "eof-seen\n" });
      let info = await engine.exec.inspect(execId);
      for (let i = 0; i < 50 && info.Running; i++) {
        await sleep(20);
        info = await engine.exec.inspect(execId);
      }
      expect(info.ExitCode).toBe(0);

      const n = name("attach-stdin");
      containers.push(n);
      await engine.containers.create(
        { Image: IMAGE, Cmd: ["sh", "-c", "read line; echo got:$line"], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Labels: label },
        { name: n },
      );
      // Attach before start so no output is missed.
      const a = await engine.containers.attachInteractive(n, { tty: false });
      await engine.containers.start(n);
      await a.write("ping\n");
      const got = await collectOutput(a.output);
      expect(got.stdout).toBe("got:ping\n");
      expect((await engine.containers.wait(n, { signal: AbortSignal.timeout(20_000) })).StatusCode).toBe(0);
    }, 60_000);

    test("networks and volumes: create with labels, inspect, list by label, connect, remove", async () => {
      const net = name("net");
      networks.push(net);
      await engine.networks.create({ Name: net, Driver: "bridge", Labels: label });
      const ni = await engine.networks.inspect(net);
      expect(ni.Name).toBe(net);
      expect(ni.Labels?.["io.fizz.test-run"]).toBe(run);
      expect((await engine.networks.list({ labels: label })).map((n) => n.Name)).toEqual([net]);

      const vol = name("vol");
      volumes.push(vol);
      const v = await engine.volumes.create({ Name: vol, Labels: label });
      expect(v.Name).toBe(vol);
      expect((await engine.volumes.inspect(vol)).Labels?.["io.fizz.test-run"]).toBe(run);
      expect((await engine.volumes.list({ labels: label })).map((x) => x.Name)).toEqual([vol]);

      const c = await startContainer("netvol", ["sh", "-c", "echo stored > /data/f; sleep 30"], {
        Image: IMAGE,
        HostConfig: { Mounts: [{ Type: "volume", Source: vol, Target: "/data" }], NetworkMode: net },
        NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: ["svc"] } } },
      });
      const inNet = await engine.containers.inspect(c.name);
      expect(Object.keys(inNet.NetworkSettings.Networks ?? {})).toContain(net);
      let read = { exitCode: -1, stdout: "", stderr: "" };
      for (let i = 0; i < 30 && read.stdout !== "stored\n"; i++) {
        read = await engine.exec.run(c.name, ["cat", "/data/f"]);
        if (read.stdout !== "stored\n") await sleep(100);
      }
      expect(read.stdout).toBe("stored\n");

      await engine.containers.remove(c.name, { force: true });
      await engine.networks.remove(net);
      await engine.volumes.remove(vol);
      await expectFizz(engine.networks.inspect(net), "engine.not_found");
      await expectFizz(engine.volumes.inspect(vol), "engine.not_found");
      expect(await engine.volumes.list({ labels: label })).toEqual([]);
    }, 60_000);

    test("restart, and connecting/disconnecting a running container to a network", async () => {
      const c = await startContainer("restart", ["sleep", "30"]);
      const before = await engine.containers.inspect(c.name);
      await sleep(1100); // StartedAt has nanosecond text but engines may round to the second
      await engine.containers.restart(c.name, { timeout: 1 });
      const after = await engine.containers.inspect(c.name);
      expect(after.State.Running).toBe(true);
      expect(after.State.StartedAt).not.toBe(before.State.StartedAt);

      const net = name("net2");
      networks.push(net);
      await engine.networks.create({ Name: net, Labels: label });
      await engine.networks.connect(net, c.name, { Aliases: ["api"] });
      const joined = await engine.containers.inspect(c.name);
      expect(Object.keys(joined.NetworkSettings.Networks ?? {})).toContain(net);
      expect(joined.NetworkSettings.Networks?.[net]?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      await engine.networks.disconnect(net, c.name);
      expect(Object.keys((await engine.containers.inspect(c.name)).NetworkSettings.Networks ?? {})).not.toContain(net);
      await engine.containers.remove(c.name, { force: true });
      await engine.networks.remove(net);
    }, 60_000);

    test("the event stream sees a container start", async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      const ac = new AbortController();
      const seen = (async () => {
        for await (const ev of engine.events({ since, labels: label, filters: { type: ["container"], event: ["start"] }, signal: ac.signal })) {
          if (ev.Action === "start" && ev.Actor.Attributes.name === name("events")) return ev;
        }
        return undefined;
      })();
      const timer = setTimeout(() => ac.abort(new Error("no start event within 20s")), 20_000);
      const c = await startContainer("events", ["sleep", "30"]);
      const ev = await seen;
      clearTimeout(timer);
      ac.abort();
      expect(ev?.Type).toBe("container");
      expect(ev?.Actor.ID).toBe(c.id);
      expect(ev?.Actor.Attributes["io.fizz.test-run"]).toBe(run);
    }, 60_000);

    test("build an image from a context directory (with .dockerignore), run it, remove it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "fizz-build-"));
      try {
        writeFileSync(join(dir, "Dockerfile"), `FROM ${IMAGE}\nCOPY . /app\nCMD ["sh", "-c", "ls /app"]\n`);
        writeFileSync(join(dir, ".dockerignore"), "secret.txt\n");
        writeFileSync(join(dir, "hello.txt"), "hi\n");
        writeFileSync(join(dir, "secret.txt"), "do not ship\n");
        mkdirSync(join(dir, "sub"));
        writeFileSync(join(dir, "sub", "x"), "x\n");
        const tag = `fizz-test/built-${run}:1`;
        images.push(tag);
        const events = [];
        for await (const ev of engine.images.build(dir, { tag, labels: label, signal: AbortSignal.timeout(120_000) })) events.push(ev);
        expect(events.length).toBeGreaterThan(0);
        const img = await engine.images.inspect(tag);
        expect(img.Config?.Labels?.["io.fizz.test-run"]).toBe(run);
        const c = await startContainer("built", ["sh", "-c", "ls -A /app | sort | tr '\\n' ' '"], { Image: tag });
        expect((await engine.containers.wait(c.name, { signal: AbortSignal.timeout(20_000) })).StatusCode).toBe(0);
        const out = await collectOutput(engine.containers.logs(c.name));
        expect(out.stdout.trim().split(" ")).toEqual([".dockerignore", "Dockerfile", "hello.txt", "sub"]);
        await engine.containers.remove(c.name, { force: true });
        const removed = await engine.images.remove(tag, { force: true });
        expect(removed.length).toBeGreaterThan(0);
        expect(await engine.images.exists(tag)).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);

    test("errors: missing image, name conflict, port conflict, build failure, unreachable socket", async () => {
      const missing = await expectFizz(engine.containers.create({ Image: `fizz-test/absent-${run}:9`, Labels: label }), "engine.image_not_found");
      expect(missing.message).toContain(`fizz-test/absent-${run}:9`);
      expect(missing.hint).toContain("pull");

      const port = await freePort();
      const publish = { ExposedPorts: { "80/tcp": {} }, HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] } } };
      const a = await startContainer("port-a", ["sleep", "30"], { Image: IMAGE, ...publish });

      const conflict = await expectFizz(engine.containers.create({ Image: IMAGE, Labels: label }, { name: a.name }), "engine.name_conflict");
      expect(conflict.message).toContain(`'${a.name}'`);
      expect(conflict.message).toContain(a.id.slice(0, 12));

      const b = name("port-b");
      containers.push(b);
      await engine.containers.create({ Image: IMAGE, Cmd: ["sleep", "30"], Labels: label, ...publish }, { name: b });
      const taken = await expectFizz(engine.containers.start(b), "engine.port_allocated");
      expect(taken.message).toContain(`host port ${port}`);

      const dir = mkdtempSync(join(tmpdir(), "fizz-build-bad-"));
      try {
        writeFileSync(join(dir, "Dockerfile"), `FROM ${IMAGE}\nRUN exit 42\n`);
        let failed: unknown;
        try {
          for await (const _ of engine.images.build(dir, { tag: `fizz-test/bad-${run}:1`, signal: AbortSignal.timeout(120_000) })) {
            /* drain */
          }
        } catch (e) {
          failed = e;
        }
        images.push(`fizz-test/bad-${run}:1`);
        expect(isFizzError(failed)).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      const nowhere = join(tmpdir(), `fizz-no-engine-${run}.sock`);
      const down = await expectFizz(connectEngine({ engine: `unix://${nowhere}` }), "engine.unreachable");
      expect(down.message).toBe(`no container engine at ${nowhere}`);
    }, 180_000);
  });
}
