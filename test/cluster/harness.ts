/**
 * Multi-host test harness: N "hosts" on one machine, each a network namespace
 * with its own dockerd (own data-root, exec-root, socket, pidfile, --bip,
 * cgroup parent) and, when a test starts one, its own `fizz agent`. The hosts
 * sit on one bridge (10.99.0.0/24, host i at 10.99.0.(10+i)); fixture images
 * are loaded into every engine. Faults: kill/restart a host, partition groups
 * of hosts (silent drops, like a real network split), cut/restore one host's
 * link. `destroy()` removes everything and checks nothing is left; the same
 * teardown is `test/cluster/cleanup.sh PREFIX` for leftovers of a crashed run.
 *
 * Needs root, ip, iptables, nsenter, dockerd, a static busybox (probes) and a
 * host engine holding the fixture images. Every step is bounded in time.
 *
 * Dropping an agent in (its flags are the ones issue 7 plans; adjust there):
 *
 *   const c = await createCluster({ hosts: 3 });
 *   try {
 *     for (const h of c.hosts) {
 *       const join = h.index === 0 ? [] : ["--join", c.hosts[0]!.gossipAddr];
 *       h.startAgent(agentCommand(h, join));   // log: h.agentLog, API: h.agentSocket
 *     }
 *     await c.partition([0], [1, 2]); … await c.heal(); await c.killHost(2); …
 *   } finally {
 *     await c.destroy();
 *   }
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes, createHash } from "node:crypto";
import { ENGINE_SOCKETS, pingSocket } from "../support/engine.ts";
import { describeFailure, must, run, sleep, waitFor, type RunOptions, type RunResult } from "./shell.ts";

export const FIXTURE_IMAGES: readonly string[] = ["fizz-test/busybox:1", "fizz-test/busybox:2"];
/** The hosts' shared L2 segment; only exists inside the harness's namespaces. */
export const SUBNET_PREFIX = "10.99.0";
export const SUBNET_BITS = 24;
/** Default gossip port the agents are expected to bind (`--bind <ip>:7946`). */
export const AGENT_PORT = 7946;

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(HERE, "..", "..");
export const CLEANUP_SCRIPT = join(HERE, "cleanup.sh");
const PREFIX_RE = /^[a-z0-9]{1,8}$/;
const MAX_HOSTS = 50;
/** iptables chain (raw table, inside each namespace) holding partition drops. */
const FAULT_CHAIN = "FIZZ-FAULTS";

export interface ClusterOptions {
  /** Number of hosts, 1..50. */
  readonly hosts: number;
  /** Prefix for every name the cluster creates ([a-z0-9]{1,8}); random by default. */
  readonly name?: string;
  /** Images copied from the host engine into every host's engine. */
  readonly images?: readonly string[];
  /** Socket of the engine the images come from; default the test docker socket. */
  readonly sourceEngine?: string;
  /** Where data dirs live; default $FIZZ_CLUSTER_DIR or /tmp/fizz-cluster. */
  readonly baseDir?: string;
  /** Bound on one dockerd answering /_ping after start; default 60 s. */
  readonly engineStartTimeoutMs?: number;
  /** Extra dockerd flags for every host. */
  readonly dockerdArgs?: readonly string[];
}

export interface SpawnOptions {
  /** Added to the inherited environment (which already has DOCKER_HOST for this host). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** stdout+stderr go here (appended); default <host dir>/<label>.log. */
  readonly logFile?: string;
  /** Names the default log file; default "proc-<n>". */
  readonly label?: string;
}

export type EngineState = "up" | "down";

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export interface Host {
  readonly index: number;
  /** "h<index>", what tests print. */
  readonly name: string;
  /** Network namespace name (fizzc-<prefix>-<index>). */
  readonly ns: string;
  /** /var/run/netns/<ns>, for nsenter --net=. */
  readonly nsPath: string;
  /** The host's address on the cluster bridge, 10.99.0.(10+index). */
  readonly ip: string;
  /** ip:AGENT_PORT, the address an agent on this host binds. */
  readonly gossipAddr: string;
  /** Host-side end of the host's veth (the inner end is eth0). */
  readonly veth: string;
  /** Root of everything on disk for this host. */
  readonly dir: string;
  /** dockerd --data-root. */
  readonly dataDir: string;
  /** dockerd --exec-root. */
  readonly execRoot: string;
  /** Path of the host engine's unix socket. */
  readonly dockerSocket: string;
  /** unix://<dockerSocket>, for DOCKER_HOST / docker -H. */
  readonly dockerHost: string;
  /** Suggested agent data dir and API socket (used by agentCommand). */
  readonly agentDataDir: string;
  readonly agentSocket: string;
  /** Where startAgent sends the agent's stdout and stderr (unless given a logFile). */
  readonly agentLog: string;
  /** cgroup parent of this host's containers (lets the harness find their processes). */
  readonly cgroupParent: string;
  /** docker0 address inside this host, distinct per host. */
  readonly bip: string;
  /** The agent's mesh interface (FIZZ_MESH_INTERFACE), unique per host on this machine. */
  readonly meshInterface: string;
  engineState(): EngineState;
  /** Runs argv inside the namespace (nsenter --net); never throws for a failing command. */
  exec(cmd: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** `docker -H <this host's socket> …` from outside the namespace. */
  docker(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-running process inside the namespace; output goes to a log file. */
  spawn(cmd: readonly string[], opts?: SpawnOptions): ChildProcess;
  /**
   * Starts this host's agent: argv (default `agentCommand(host)`) inside the
   * namespace, logging to <dir>/agent.log. killHost SIGKILLs it and
   * restartHost starts the same argv again.
   */
  startAgent(cmd?: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** The running agent, if any. */
  agent(): ChildProcess | undefined;
  /** Stops the agent: the signal, then SIGKILL after graceMs. */
  stopAgent(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** Live pids belonging to this host: in its namespace or in its containers' cgroups. */
  processes(): number[];
  /**
   * HTTP/1.0 GET from inside the namespace (busybox nc; busybox 1.35's wget
   * segfaults on a successful connect). Undefined when no answer came.
   */
  httpGet(url: string, timeoutSec?: number): Promise<HttpAnswer | undefined>;
  /** True when `httpGet` got a 2xx answer. */
  httpOk(url: string, timeoutSec?: number): Promise<boolean>;
  /** True when a TCP connection from inside the namespace to "ip:port" succeeds. */
  canConnect(addr: string, timeoutSec?: number): Promise<boolean>;
}

export interface Cluster {
  readonly name: string;
  readonly bridge: string;
  readonly dir: string;
  readonly hosts: readonly Host[];
  /** SIGKILL the host's agent, dockerd, containerd, shims and container processes. */
  killHost(i: number): Promise<void>;
  /** Starts the host's dockerd again on the same data (and its agent, if it had one). */
  restartHost(i: number, opts?: { readonly agent?: boolean }): Promise<void>;
  /** Silently drops all IP traffic between every host of a and every host of b, both ways. */
  partition(a: readonly number[], b: readonly number[]): Promise<void>;
  /** Drops traffic from host `from` arriving at host `to` (the other direction still flows). */
  blockOneWay(from: number, to: number): Promise<void>;
  /** Removes every partition and restores every cut link. */
  heal(): Promise<void>;
  /** Takes the host's link down (host-side veth): it can reach nobody and nobody it. */
  cutLink(i: number): Promise<void>;
  restoreLink(i: number): Promise<void>;
  /** Removes everything; idempotent; throws when something is left behind. */
  destroy(): Promise<void>;
}

/** Every name the harness derives from a prefix; cleanup.sh uses the same scheme. */
export function clusterNames(prefix: string, baseDir = defaultBaseDir()) {
  return {
    bridge: `fizzbr-${prefix}`,
    dir: join(baseDir, prefix),
    forwardComment: `fizz-cluster:${prefix}`,
    ns: (i: number) => `fizzc-${prefix}-${i}`,
    veth: (i: number) => `fzc${prefix}-${i}`,
    cgroup: (i: number) => `fizzc-${prefix}-${i}`,
    hostDir: (i: number) => join(baseDir, prefix, `h${i}`),
    ip: (i: number) => `${SUBNET_PREFIX}.${10 + i}`,
    bip: (i: number) => `172.30.${i}.1/24`,
    meshInterface: (i: number) => `fzm${prefix.slice(0, 8)}-${i}`.slice(0, 15),
  };
}

function defaultBaseDir(): string {
  return process.env.FIZZ_CLUSTER_DIR ?? "/tmp/fizz-cluster";
}

/** The command that runs a Fizz agent on `host` (flags per issue 7; not exercised here yet). */
export function agentCommand(host: Host, extra: readonly string[] = []): string[] {
  return [
    process.execPath,
    // Diagnostics only (bench/support/profile-cluster-deploy.ts): runtime flags for the agents, e.g. a CPU profile.
    ...(process.env.FIZZ_AGENT_RUNTIME_FLAGS ?? "").split(" ").filter(Boolean),
    join(REPO_ROOT, "cmd", "fizz.ts"),
    "agent",
    "--data-dir",
    host.agentDataDir,
    "--bind",
    host.gossipAddr,
    "--api",
    `unix:${host.agentSocket}`,
    ...extra,
  ];
}

// ---------------------------------------------------------------------------
// Image archive: saved once per image set and shared by the clusters alive in
// this process; the last one to be destroyed deletes it (cleanup.sh --all
// deletes archives whose process is gone).

interface Archive {
  readonly path: string;
  readonly ready: Promise<string>;
  users: number;
}
const archives = new Map<string, Archive>();

function acquireImages(sourceEngine: string, images: readonly string[], baseDir: string): { key: string; ready: Promise<string> } {
  const key = `${baseDir}\n${sourceEngine}\n${[...images].sort().join("\n")}`;
  let a = archives.get(key);
  if (!a) {
    const hash = createHash("sha256").update(key).digest("hex").slice(0, 8);
    const path = join(baseDir, `images-${process.pid}-${hash}.tar`);
    const ready = (async () => {
      mkdirSync(baseDir, { recursive: true });
      await must(["docker", "-H", `unix://${sourceEngine}`, "save", "-o", path, ...images], { timeoutMs: 60_000 });
      return path;
    })();
    a = { path, ready, users: 0 };
    archives.set(key, a);
    ready.catch(() => {
      if (archives.get(key) === a) archives.delete(key);
      rmSync(path, { force: true });
    });
  }
  a.users++;
  return { key, ready: a.ready };
}

function releaseImages(key: string): void {
  const a = archives.get(key);
  if (!a) return;
  if (--a.users > 0) return;
  archives.delete(key);
  rmSync(a.path, { force: true });
}

// ---------------------------------------------------------------------------
// Processes.

function nsInode(nsPath: string): number | undefined {
  try {
    return statSync(nsPath).ino;
  } catch {
    return undefined;
  }
}

function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  const root = "/sys/fs/cgroup";
  if (existsSync(join(root, name))) out.push(join(root, name));
  let subs: string[] = [];
  try {
    subs = readdirSync(root);
  } catch {
    return out;
  }
  for (const s of subs) {
    const d = join(root, s, name);
    if (existsSync(d)) out.push(d);
  }
  return out;
}

function cgroupPids(dir: string, into: Set<number>): void {
  try {
    for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
      const pid = Number(line);
      if (line && Number.isInteger(pid)) into.add(pid);
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) cgroupPids(join(dir, e.name), into);
    }
  } catch {
    // Gone while we looked: nothing left in it.
  }
}

/** Live (non-zombie) pids in the namespace or in the cgroup subtree. */
function hostPids(nsPath: string, cgroup: string): number[] {
  const pids = new Set<number>();
  const ino = nsInode(nsPath);
  if (ino !== undefined) {
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        // A zombie's ns links are gone, so it is skipped here: it holds nothing.
        if (statSync(`/proc/${e}/ns/net`).ino === ino) pids.add(Number(e));
      } catch {
        // Exited meanwhile.
      }
    }
  }
  for (const d of cgroupDirs(cgroup)) cgroupPids(d, pids);
  pids.delete(process.pid);
  return [...pids].filter(isAlive).sort((a, b) => a - b);
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 3 (after the parenthesised comm) is the state; Z and X are dead.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(exited(child)), timeoutMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------------------
// Hosts.

class HostImpl implements Host {
  readonly name: string;
  readonly ns: string;
  readonly nsPath: string;
  readonly ip: string;
  readonly gossipAddr: string;
  readonly veth: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly execRoot: string;
  readonly dockerSocket: string;
  readonly dockerHost: string;
  readonly agentDataDir: string;
  readonly agentSocket: string;
  readonly agentLog: string;
  readonly cgroupParent: string;
  readonly bip: string;
  /** The agent's mesh interface (FIZZ_MESH_INTERFACE), unique per host on this machine. */
  readonly meshInterface: string;
  readonly pidFile: string;
  readonly engineLog: string;

  private dockerd: ChildProcess | undefined;
  private agentProc: ChildProcess | undefined;
  agentArgv: { cmd: readonly string[]; opts: SpawnOptions } | undefined;
  readonly spawned = new Set<ChildProcess>();
  private spawnCount = 0;
  private state: EngineState = "down";

  constructor(
    readonly index: number,
    names: ReturnType<typeof clusterNames>,
    private readonly dockerdExtra: readonly string[],
  ) {
    this.name = `h${index}`;
    this.ns = names.ns(index);
    this.nsPath = `/var/run/netns/${this.ns}`;
    this.ip = names.ip(index);
    this.gossipAddr = `${this.ip}:${AGENT_PORT}`;
    this.veth = names.veth(index);
    this.dir = names.hostDir(index);
    this.dataDir = join(this.dir, "data");
    this.execRoot = join(this.dir, "exec");
    this.dockerSocket = join(this.dir, "docker.sock");
    this.dockerHost = `unix://${this.dockerSocket}`;
    this.agentDataDir = join(this.dir, "agent");
    this.agentSocket = join(this.dir, "fizz.sock");
    this.agentLog = join(this.dir, "agent.log");
    this.cgroupParent = names.cgroup(index);
    this.bip = names.bip(index);
    this.meshInterface = names.meshInterface(index);
    this.pidFile = join(this.dir, "docker.pid");
    this.engineLog = join(this.dir, "dockerd.log");
  }

  engineState(): EngineState {
    return this.state;
  }

  exec(cmd: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(["nsenter", `--net=${this.nsPath}`, "--", ...cmd], opts);
  }

  docker(args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(["docker", "-H", this.dockerHost, ...args], opts);
  }

  spawn(cmd: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (cmd.length === 0) throw new Error("spawn: empty command");
    const label = opts.label ?? `proc-${++this.spawnCount}`;
    const logFile = opts.logFile ?? join(this.dir, `${label}.log`);
    mkdirSync(dirname(logFile), { recursive: true });
    const fd = openSync(logFile, "a");
    try {
      const child = spawn("nsenter", [`--net=${this.nsPath}`, "--", ...cmd], {
        cwd: opts.cwd ?? REPO_ROOT,
        env: { ...process.env, DOCKER_HOST: this.dockerHost, ...opts.env },
        stdio: ["ignore", fd, fd],
        // Own process group: a Ctrl-C on the test run must not kill it before
        // destroy() has removed its containers.
        detached: true,
      });
      child.on("error", () => {
        // Reported through exitCode/signalCode; a missing binary shows in the log.
      });
      this.spawned.add(child);
      child.once("exit", () => this.spawned.delete(child));
      child.unref();
      return child;
    } finally {
      closeSync(fd);
    }
  }

  startAgent(cmd?: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.agentProc && !exited(this.agentProc)) throw new Error(`${this.name}: agent already running`);
    const argv = cmd ?? agentCommand(this);
    mkdirSync(this.agentDataDir, { recursive: true });
    // wireguard-go's control socket (/var/run/wireguard/<if>.sock) is shared by every
    // namespace of the machine: each host's agent gets its own mesh interface name.
    const withMesh: SpawnOptions = { ...opts, env: { FIZZ_MESH_INTERFACE: this.meshInterface, ...opts.env } };
    this.agentArgv = { cmd: argv, opts: withMesh };
    this.agentProc = this.spawn(argv, { logFile: this.agentLog, ...withMesh });
    return this.agentProc;
  }

  agent(): ChildProcess | undefined {
    return this.agentProc && !exited(this.agentProc) ? this.agentProc : undefined;
  }

  async stopAgent(signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000): Promise<void> {
    const a = this.agentProc;
    if (!a || exited(a)) return;
    a.kill(signal);
    if (!(await waitExit(a, graceMs))) {
      a.kill("SIGKILL");
      await waitExit(a, 5_000);
    }
  }

  processes(): number[] {
    return hostPids(this.nsPath, this.cgroupParent);
  }

  async httpGet(url: string, timeoutSec = 2): Promise<HttpAnswer | undefined> {
    const u = new URL(url);
    const port = u.port || "80";
    const res = await this.exec(["busybox", "nc", "-w", String(timeoutSec), u.hostname, port], {
      input: `GET ${u.pathname}${u.search} HTTP/1.0\r\nHost: ${u.host}\r\n\r\n`,
      timeoutMs: (timeoutSec * 2 + 3) * 1000,
    });
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(res.stdout);
    if (!m) return undefined;
    const sep = res.stdout.indexOf("\r\n\r\n");
    return { status: Number(m[1]), body: sep < 0 ? "" : res.stdout.slice(sep + 4) };
  }

  async httpOk(url: string, timeoutSec = 2): Promise<boolean> {
    const a = await this.httpGet(url, timeoutSec);
    return a !== undefined && a.status >= 200 && a.status < 300;
  }

  async canConnect(addr: string, timeoutSec = 2): Promise<boolean> {
    const i = addr.lastIndexOf(":");
    if (i < 0) throw new Error(`canConnect: '${addr}' is not ip:port`);
    // busybox nc has no -z: connect, run `true` on the socket, exit 0.
    const res = await this.exec(["busybox", "nc", "-w", String(timeoutSec), addr.slice(0, i), addr.slice(i + 1), "-e", "busybox", "true"], {
      timeoutMs: (timeoutSec * 2 + 3) * 1000,
    });
    return res.ok;
  }

  /** Network plumbing: namespace, veth to the bridge, address, fault chain. */
  async plumb(bridge: string): Promise<void> {
    await must(["ip", "netns", "add", this.ns]);
    await must(["ip", "link", "add", this.veth, "type", "veth", "peer", "name", "eth0", "netns", this.ns]);
    await must(["ip", "link", "set", this.veth, "master", bridge]);
    await must(["ip", "link", "set", this.veth, "up"]);
    await must(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
    await must(["ip", "-n", this.ns, "addr", "add", `${this.ip}/${SUBNET_BITS}`, "dev", "eth0"]);
    await must(["ip", "-n", this.ns, "link", "set", "eth0", "up"]);
    // Partitions drop in raw/PREROUTING: before conntrack and NAT, so they cut
    // established flows and traffic to published ports too, and senders see
    // silence (no EPERM), as on a real network. dockerd leaves the raw table alone.
    await must(["nsenter", `--net=${this.nsPath}`, "--", "iptables", "-t", "raw", "-N", FAULT_CHAIN]);
    await must(["nsenter", `--net=${this.nsPath}`, "--", "iptables", "-t", "raw", "-I", "PREROUTING", "-j", FAULT_CHAIN]);
  }

  async startEngine(timeoutMs: number): Promise<void> {
    if (this.dockerd && !exited(this.dockerd)) throw new Error(`${this.name}: dockerd already running`);
    mkdirSync(this.dir, { recursive: true });
    // A SIGKILLed dockerd leaves its pidfile, and dockerd refuses to start while
    // the pid in it exists (a zombie still does); the harness knows it is dead.
    rmSync(this.pidFile, { force: true });
    // Same for the managed containerd: dockerd would wait for the dead one's socket.
    rmSync(join(this.execRoot, "containerd", "containerd.pid"), { force: true });
    const args = [
      "dockerd",
      "--data-root", this.dataDir,
      "--exec-root", this.execRoot,
      "-H", this.dockerHost,
      "-p", this.pidFile,
      "--bip", this.bip,
      "--cgroup-parent", `/${this.cgroupParent}`,
      // docker-proxy processes would outlive a SIGKILLed dockerd; iptables DNAT
      // serves published ports without them.
      "--userland-proxy=false",
      "--log-level", "warn",
      ...this.dockerdExtra,
    ];
    const fd = openSync(this.engineLog, "a");
    try {
      // nsenter --net only: `ip netns exec` would remount /sys and lose the cgroup mounts.
      this.dockerd = spawn("nsenter", [`--net=${this.nsPath}`, "--", ...args], {
        stdio: ["ignore", fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const d = this.dockerd;
    d.on("error", () => {});
    d.once("exit", () => {
      if (this.dockerd === d) this.state = "down";
    });
    d.unref();
    const up = await waitFor(async () => exited(d) || (await pingSocket(this.dockerSocket)), timeoutMs, 100);
    if (!up || exited(d)) {
      const why = exited(d) ? `exited (${d.exitCode ?? d.signalCode})` : `did not answer /_ping within ${timeoutMs} ms`;
      throw new Error(`${this.name}: dockerd ${why}; ${this.engineLog}:\n${tail(this.engineLog)}`);
    }
    this.state = "up";
  }

  async loadImages(archive: string): Promise<void> {
    const res = await this.docker(["load", "-i", archive], { timeoutMs: 60_000 });
    if (!res.ok) throw new Error(`${this.name}: ${describeFailure(res)}`);
  }

  /** SIGKILL everything of this host (agent, spawned, engine, containers) until nothing is left. */
  async kill(): Promise<void> {
    for (const c of this.spawned) if (!exited(c)) c.kill("SIGKILL");
    if (this.dockerd && !exited(this.dockerd)) this.dockerd.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pids = this.processes();
      if (pids.length === 0) break;
      if (Date.now() > deadline) throw new Error(`${this.name}: processes survive SIGKILL: ${pids.join(" ")}`);
      for (const p of pids) killPid(p, "SIGKILL");
      await sleep(100);
    }
    if (this.dockerd) await waitExit(this.dockerd, 5_000);
    this.state = "down";
  }

  /** Graceful stop of what the harness spawned (agents first); the rest is cleanup.sh's. */
  async stopSpawned(graceMs: number): Promise<void> {
    const live = [...this.spawned].filter((c) => !exited(c));
    for (const c of live) c.kill("SIGTERM");
    await Promise.all(
      live.map(async (c) => {
        if (!(await waitExit(c, graceMs))) {
          c.kill("SIGKILL");
          await waitExit(c, 2_000);
        }
      }),
    );
  }
}

// ---------------------------------------------------------------------------
// The cluster.

function randomPrefix(): string {
  // Starts with a letter so names never look numeric; 6 chars keeps veth names short.
  return `c${randomBytes(4).toString("hex").slice(0, 5)}`;
}

async function leftoversExist(names: ReturnType<typeof clusterNames>, hosts: number): Promise<string[]> {
  const found: string[] = [];
  if (existsSync(names.dir)) found.push(names.dir);
  if ((await run(["ip", "link", "show", names.bridge])).ok) found.push(`bridge ${names.bridge}`);
  for (let i = 0; i < hosts; i++) if (existsSync(`/var/run/netns/${names.ns(i)}`)) found.push(`netns ${names.ns(i)}`);
  return found;
}

export async function createCluster(opts: ClusterOptions): Promise<Cluster> {
  const prefix = opts.name ?? randomPrefix();
  if (!PREFIX_RE.test(prefix)) throw new Error(`cluster name '${prefix}' must match ${PREFIX_RE} (it prefixes interface names)`);
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > MAX_HOSTS) {
    throw new Error(`hosts must be an integer in 1..${MAX_HOSTS}, got ${opts.hosts}`);
  }
  const baseDir = opts.baseDir ?? defaultBaseDir();
  const names = clusterNames(prefix, baseDir);
  const images = opts.images ?? FIXTURE_IMAGES;
  const sourceEngine = opts.sourceEngine ?? ENGINE_SOCKETS.docker;
  const startTimeout = opts.engineStartTimeoutMs ?? 60_000;

  const stale = await leftoversExist(names, opts.hosts);
  if (stale.length > 0) {
    throw new Error(`cluster '${prefix}' already exists (${stale.join(", ")}); remove it with: bash ${CLEANUP_SCRIPT} ${prefix}`);
  }

  const hosts = Array.from({ length: opts.hosts }, (_, i) => new HostImpl(i, names, opts.dockerdArgs ?? []));
  const cluster = new ClusterImpl(prefix, names, hosts, baseDir);
  try {
    mkdirSync(names.dir, { recursive: true });
    // cleanup.sh --all leaves clusters alone while this process lives.
    writeFileSync(join(names.dir, "owner"), `${process.pid}\n`);
    const archive = images.length > 0 ? cluster.holdImages(acquireImages(sourceEngine, images, baseDir)) : undefined;
    await must(["ip", "link", "add", names.bridge, "type", "bridge"]);
    await must(["ip", "link", "set", names.bridge, "up"]);
    // The host dockerd sets FORWARD to DROP and bridged frames traverse
    // iptables (br_netfilter), so frames between our veths need this.
    await must(["iptables", "-I", "FORWARD", "-i", names.bridge, "-o", names.bridge,
      "-m", "comment", "--comment", names.forwardComment, "-j", "ACCEPT"]);
    // allSettled, not all: teardown must not start while another host is still
    // creating things it would then miss.
    const results = await Promise.allSettled(
      hosts.map(async (h) => {
        await h.plumb(names.bridge);
        await h.startEngine(startTimeout);
        if (archive) await h.loadImages(await archive);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return cluster;
  } catch (err) {
    try {
      await cluster.destroy();
    } catch (cleanupErr) {
      throw new AggregateError([err, cleanupErr], `createCluster failed and so did cleanup: ${(err as Error).message}`);
    }
    throw err;
  }
}

class ClusterImpl implements Cluster {
  readonly bridge: string;
  readonly dir: string;
  private readonly cutLinks = new Set<number>();
  private destroying: Promise<void> | undefined;
  private imagesKey: string | undefined;

  constructor(
    readonly name: string,
    private readonly names: ReturnType<typeof clusterNames>,
    readonly hosts: readonly HostImpl[],
    private readonly baseDir: string,
  ) {
    this.bridge = names.bridge;
    this.dir = names.dir;
  }

  holdImages(held: { key: string; ready: Promise<string> }): Promise<string> {
    this.imagesKey = held.key;
    return held.ready;
  }

  private host(i: number): HostImpl {
    const h = this.hosts[i];
    if (!h) throw new Error(`no host ${i} (cluster has ${this.hosts.length})`);
    return h;
  }

  async killHost(i: number): Promise<void> {
    await this.host(i).kill();
  }

  async restartHost(i: number, opts: { readonly agent?: boolean } = {}): Promise<void> {
    const h = this.host(i);
    if (h.engineState() === "up") await h.kill();
    await h.startEngine(60_000);
    const again = opts.agent ?? h.agentArgv !== undefined;
    if (again && h.agentArgv) h.startAgent(h.agentArgv.cmd, h.agentArgv.opts);
  }

  private async dropFrom(at: HostImpl, from: HostImpl): Promise<void> {
    await must(["nsenter", `--net=${at.nsPath}`, "--", "iptables", "-t", "raw", "-A", FAULT_CHAIN, "-s", `${from.ip}/32`, "-j", "DROP"]);
  }

  async partition(a: readonly number[], b: readonly number[]): Promise<void> {
    const overlap = a.filter((x) => b.includes(x));
    if (overlap.length > 0) throw new Error(`partition: hosts ${overlap.join(",")} are on both sides`);
    for (const x of a) {
      for (const y of b) {
        await this.dropFrom(this.host(x), this.host(y));
        await this.dropFrom(this.host(y), this.host(x));
      }
    }
  }

  async blockOneWay(from: number, to: number): Promise<void> {
    await this.dropFrom(this.host(to), this.host(from));
  }

  async heal(): Promise<void> {
    for (const h of this.hosts) {
      await must(["nsenter", `--net=${h.nsPath}`, "--", "iptables", "-t", "raw", "-F", FAULT_CHAIN]);
    }
    for (const i of [...this.cutLinks]) await this.restoreLink(i);
  }

  async cutLink(i: number): Promise<void> {
    await must(["ip", "link", "set", this.host(i).veth, "down"]);
    this.cutLinks.add(i);
  }

  async restoreLink(i: number): Promise<void> {
    await must(["ip", "link", "set", this.host(i).veth, "up"]);
    this.cutLinks.delete(i);
  }

  destroy(): Promise<void> {
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<void> {
    // Agents get a chance to exit cleanly while their engines still answer;
    // cleanup.sh then removes containers, engines and all plumbing.
    await Promise.all(this.hosts.map((h) => h.stopSpawned(5_000)));
    if (this.imagesKey !== undefined) releaseImages(this.imagesKey);
    this.imagesKey = undefined;
    const res = await run(["bash", CLEANUP_SCRIPT, this.name], {
      timeoutMs: 180_000,
      env: { ...process.env, FIZZ_CLUSTER_DIR: this.baseDir },
    });
    if (!res.ok) throw new Error(`destroy ${this.name}: ${describeFailure(res)}`);
  }
}
