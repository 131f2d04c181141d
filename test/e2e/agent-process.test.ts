/**
 * `fizz agent` as a real process: listeners, several agents on one machine,
 * clean shutdown on SIGTERM, recovery from a stale socket after SIGKILL,
 * node identity kept across restarts, config errors, and the same agent
 * under Deno.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FizzError } from "../../core/errors.ts";
import { ApiClient } from "../../platform/api/client.ts";
import { AgentStore } from "../../platform/store/index.ts";
import { BUN, freePort, ROOT, startAgent } from "../platform/api/agent-process.ts";

const unix = (path: string) => new ApiClient({ address: { kind: "unix", path } });

describe("fizz agent process", () => {
  test("two agents on one machine, each with its own data dir and socket; a third on a used socket, or a used data dir, is refused", async () => {
    const a = await startAgent({ args: ["--api", `unix:${join(tmpdir(), `fizz-a-${process.pid}.sock`)}`] });
    const b = await startAgent({ args: ["--api", `unix:${join(tmpdir(), `fizz-b-${process.pid}.sock`)}`] });
    try {
      const ia = await unix(join(tmpdir(), `fizz-a-${process.pid}.sock`)).info();
      const ib = await unix(join(tmpdir(), `fizz-b-${process.pid}.sock`)).info();
      expect(typeof ia.node).toBe("string");
      expect(ia.node).not.toBe(ib.node);
      expect(statSync(join(tmpdir(), `fizz-a-${process.pid}.sock`)).mode & 0o777).toBe(0o660);
      const dir = mkdtempSync(join(tmpdir(), "fizz-c-"));
      const c = spawnSync(BUN, ["cmd/fizz.ts", "agent", "--data-dir", dir, "--api", `unix:${join(tmpdir(), `fizz-a-${process.pid}.sock`)}`], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, FIZZ_LOG_FORMAT: "json" },
        timeout: 30_000,
      });
      rmSync(dir, { recursive: true, force: true });
      expect(c.status).toBe(1);
      expect(c.stderr).toContain("another process is serving on");
      // Its own socket, but a's data directory: refused before it touches a's store, naming a.
      const d = spawnSync(BUN, ["cmd/fizz.ts", "agent", "--data-dir", a.dataDir, "--api", `unix:${join(tmpdir(), `fizz-d-${process.pid}.sock`)}`], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
      expect(d.status).toBe(1);
      expect(d.stderr).toContain(`another fizz agent (pid ${a.proc.pid}) is running on data directory ${a.dataDir}`);
      expect(existsSync(join(tmpdir(), `fizz-d-${process.pid}.sock`))).toBe(false);
      // The first agent is unharmed.
      expect(await unix(join(tmpdir(), `fizz-a-${process.pid}.sock`)).health()).toEqual({ status: "ok" });
    } finally {
      expect(await a.stop()).toBe(0);
      expect(await b.stop()).toBe(0);
      a.cleanup();
      b.cleanup();
    }
  }, 90_000);

  test("SIGTERM: exit 0, socket removed, stop recorded; SIGKILL leaves a stale socket that the next start replaces; node id survives", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-life-"));
    const sock = join(dataDir, "api.sock");
    try {
      const first = await startAgent({ dataDir, args: ["--api", `unix:${sock}`] });
      const node = (await unix(sock).info()).node;
      expect(await first.stop("SIGTERM")).toBe(0);
      expect(existsSync(sock)).toBe(false);

      const second = await startAgent({ dataDir, args: ["--api", `unix:${sock}`] });
      expect((await unix(sock).info()).node).toBe(node);
      expect(await second.stop("SIGKILL")).toBe("SIGKILL");
      expect(existsSync(sock)).toBe(true);

      const third = await startAgent({ dataDir, args: ["--api", `unix:${sock}`] });
      expect((await unix(sock).info()).node).toBe(node);
      const types: string[] = [];
      for await (const e of unix(sock).events({ follow: false, types: ["agent.*"] })) types.push(e.type);
      expect(types).toEqual(["agent.started", "agent.stopped", "agent.started", "agent.started"]);
      expect(await third.stop("SIGINT")).toBe(0);
      const store = AgentStore.open(join(dataDir, "state.db"));
      expect(store.events(0).map((e) => e.type).slice(-1)).toEqual(["agent.stopped"]);
      store.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  test("a body that is not a normalised project is refused with a precise 400, and nothing is stored", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-bad-project-"));
    const sock = join(dataDir, "api.sock");
    const agent = await startAgent({ dataDir, args: ["--api", `unix:${sock}`] });
    try {
      const c = unix(sock);
      const e = (await c.up("shop", { project: { services: { web: { image: "busybox" } } } }).catch((x: unknown) => x)) as FizzError;
      expect([e.status, e.code]).toEqual([400, "api.bad_project"]);
      expect(e.message).toContain("'networks' must be an object");
      expect(await c.listDeployments()).toEqual([]);
    } finally {
      await agent.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("TCP listener: token generated with mode 0600 and required; FIZZ_* env and config file feed the same options", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-tcp-"));
    const port = await freePort();
    const cfg = join(dataDir, "config.yaml");
    writeFileSync(cfg, `api:\n  socket: ${join(dataDir, "from-file.sock")}\n  tcp:\n    listen: 127.0.0.1:1\n`);
    const agent = await startAgent({ dataDir, args: ["--config", cfg], env: { FIZZ_API_TCP_LISTEN: `127.0.0.1:${port}` }, listeners: 2 });
    try {
      expect(agent.addresses).toEqual([`unix:${join(dataDir, "from-file.sock")}`, `http://127.0.0.1:${port}`]);
      expect(statSync(join(dataDir, "api-token")).mode & 0o777).toBe(0o600);
      const anon = new ApiClient({ address: { kind: "tcp", host: "127.0.0.1", port, tls: false } });
      expect(((await anon.containers().catch((x: unknown) => x)) as FizzError).status).toBe(401);
      const authed = new ApiClient({ address: { kind: "tcp", host: "127.0.0.1", port, tls: false }, token: agent.token() });
      // The agent reports every Fizz container on its engine; what matters here is that the token is accepted.
      expect(Array.isArray(await authed.containers())).toBe(true);
    } finally {
      await agent.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("--tls-cert/--tls-key/--api-token-file: HTTPS with the given certificate and token", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-tls-"));
    const port = await freePort();
    spawnSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(dataDir, "key.pem"), "-out", join(dataDir, "cert.pem"),
    ], { stdio: "ignore" });
    writeFileSync(join(dataDir, "token"), "a-token-of-our-own-0123456789\n");
    const agent = await startAgent({
      dataDir,
      args: ["--api", `127.0.0.1:${port}`, "--tls-cert", join(dataDir, "cert.pem"), "--tls-key", join(dataDir, "key.pem"), "--api-token-file", join(dataDir, "token")],
    });
    try {
      expect(agent.addresses).toEqual([`https://127.0.0.1:${port}`]);
      expect(existsSync(join(dataDir, "api-token"))).toBe(false);
      const ca = readFileSync(join(dataDir, "cert.pem"));
      const c = new ApiClient({ address: { kind: "tcp", host: "127.0.0.1", port, tls: true }, token: "a-token-of-our-own-0123456789", ca });
      expect(Array.isArray(await c.containers())).toBe(true);
      const wrong = new ApiClient({ address: { kind: "tcp", host: "127.0.0.1", port, tls: true }, token: "not-the-token-0123456789", ca });
      expect(((await wrong.containers().catch((x: unknown) => x)) as FizzError).status).toBe(401);
    } finally {
      await agent.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("api.socket_group gives the socket to a group; an unknown group stops the agent with exit 2", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-group-"));
    const sock = join(dataDir, "api.sock");
    try {
      const agent = await startAgent({ dataDir, args: ["--api", `unix:${sock}`], env: { FIZZ_API_SOCKET_GROUP: "daemon" } });
      const st = statSync(sock);
      expect([st.gid, st.mode & 0o777]).toEqual([1, 0o660]);
      await agent.stop();
      const r = spawnSync(BUN, ["cmd/fizz.ts", "agent", "--data-dir", dataDir, "--api", `unix:${sock}`], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, FIZZ_API_SOCKET_GROUP: "no-such-group-here" },
        timeout: 30_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("no group 'no-such-group-here' for the API socket");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("a bad config file stops the agent before it starts, with file:line and exit code 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-badcfg-"));
    writeFileSync(join(dir, "config.yaml"), "api:\n  sockett: /tmp/x.sock\n");
    const r = spawnSync(BUN, ["cmd/fizz.ts", "agent", "--config", join(dir, "config.yaml"), "--data-dir", dir], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(dir, "config.yaml")}:2:3: unknown option 'api.sockett'`);
    expect(r.stderr).toContain("did you mean 'api.socket'?");
  }, 30_000);

  test("the same agent runs under Deno", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-deno-"));
    const sock = join(dataDir, "api.sock");
    const agent = await startAgent({ runtime: "deno", dataDir, args: ["--api", `unix:${sock}`] });
    try {
      const c = unix(sock);
      expect(await c.health()).toEqual({ status: "ok" });
      expect(String((await c.info()).runtime)).toMatch(/^deno /);
      const m = await c.json<unknown>("GET", "/v1/containers?state=bogus").catch((x: unknown) => x);
      expect((m as FizzError).status).toBe(400);
      // Process metrics work under Deno too, and the exposition passes promtool.
      const text = await new Promise<string>((resolve, reject) => {
        const req = request({ socketPath: sock, path: "/metrics" }, (res) => {
          let b = "";
          res.setEncoding("utf8");
          res.on("data", (x: string) => (b += x));
          res.on("end", () => resolve(b));
        });
        req.on("error", reject);
        req.end();
      });
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      if (spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0) {
        const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
        expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: "" });
      }
    } finally {
      expect(await agent.stop()).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
