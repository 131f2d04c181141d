/**
 * Debian's docker-registry (distribution 2.8) as a real upstream for tests:
 * started on a loopback port over a temp directory, with its access log
 * parsed so a test can count how often each blob was fetched. Locally a
 * missing binary skips (the caller checks `dockerRegistryBinary()`); with
 * CI=true it fails the run, like a missing engine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function dockerRegistryBinary(): string | undefined {
  for (const p of ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]) if (existsSync(p)) return p;
  const msg = "docker-registry not installed; run 'bash test/setup-engines.sh' (apt-get install docker-registry)";
  if (process.env.CI === "true") throw new Error(`CI requires ${msg}`);
  process.stderr.write(`skipping: ${msg}\n`);
  return undefined;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface AccessEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytes: number;
}

export interface DockerRegistry {
  /** host:port */
  readonly address: string;
  readonly url: string;
  readonly root: string;
  log(): string;
  access(): AccessEntry[];
  /** GET requests for each blob digest that answered 200. */
  blobGets(): Map<string, number>;
  /**
   * Resolves once every request the registry answered before this call is in
   * the access log: distribution writes a request's line after its handler
   * returns, so a client can hold the whole response before the line is out.
   * It sends a marked request and waits (bounded) for that request's line.
   */
  logged(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop). */
  start(): Promise<void>;
}

const ACCESS_RE = /"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP\/[0-9.]+" (\d{3}) (\d+)/;

/** `proxy`: run as distribution's pull-through cache of that registry URL (its "proxy: remoteurl"). */
export async function startDockerRegistry(o: { host?: string; port?: number; bin?: string; spawnVia?: string[]; tls?: { cert: string; key: string }; htpasswd?: string; proxy?: string } = {}): Promise<DockerRegistry> {
  const bin = o.bin ?? "/usr/bin/docker-registry";
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? (await freePort(host));
  const root = mkdtempSync(join(tmpdir(), "fizz-upstream-"));
  const config = join(root, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(root, "data")}\n  delete:\n    enabled: true\n${o.proxy ? `proxy:\n  remoteurl: ${o.proxy}\n` : ""}${o.htpasswd ? `auth:\n  htpasswd:\n    realm: fizz-test\n    path: ${o.htpasswd}\n` : ""}http:\n  addr: ${host}:${port}\n${o.tls ? `  tls:\n    certificate: ${o.tls.cert}\n    key: ${o.tls.key}\n` : ""}`,
  );
  let out = "";
  let marks = 0;
  let child: ChildProcess | undefined;
  const url = `${o.tls ? "https" : "http"}://${host}:${port}`;
  const start = async () => {
    const argv = [...(o.spawnVia ?? []), bin, "serve", config];
    child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        const r = await fetch(`${url}/v2/`, o.tls ? ({ tls: { rejectUnauthorized: false } } as RequestInit) : {});
        // With htpasswd auth an anonymous /v2/ is 401: up all the same.
        if (r.status === 200 || (o.htpasswd && r.status === 401)) break;
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`docker-registry did not start on ${host}:${port}: ${out.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  const access = () =>
    out
      .split("\n")
      .map((l) => ACCESS_RE.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ method: m[1]!, path: m[2]!, status: Number(m[3]), bytes: Number(m[4]) }));
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
      setTimeout(() => c.kill("SIGKILL"), 3000).unref();
    });
  };
  return {
    address: `${host}:${port}`,
    url,
    root,
    log: () => out,
    access,
    blobGets() {
      const m = new Map<string, number>();
      for (const e of access()) {
        const d = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(e.path)?.[1];
        if (e.method === "GET" && e.status === 200 && d) m.set(d, (m.get(d) ?? 0) + 1);
      }
      return m;
    },
    async logged() {
      const mark = `fizz-log-mark=${++marks}`;
      await fetch(`${url}/v2/?${mark}`, o.tls ? ({ tls: { rejectUnauthorized: false } } as RequestInit) : {}).then((r) => r.arrayBuffer());
      const until = Date.now() + 5_000;
      while (!access().some((e) => e.path.endsWith(`?${mark}`))) {
        if (Date.now() > until) throw new Error(`docker-registry's access log did not record ${mark} within 5 s: ${out.slice(-500)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stop: async () => {
      await stop();
    },
    start,
  };
}

/** Removes a stopped registry's data. */
export function removeDockerRegistry(r: DockerRegistry): void {
  rmSync(r.root, { recursive: true, force: true });
}
