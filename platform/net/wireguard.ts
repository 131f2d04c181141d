/**
 * The node's WireGuard interface through `ip` and `wg`: bring it up (the
 * kernel's, or a wireguard-go process this object owns), apply core/net's
 * mesh actions, read its status back, take it down. The private key is read
 * by `wg` from a 0600 file; it never passes through argv or the environment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { FizzError } from "../../core/errors.ts";
import type { MeshAction, MeshActual } from "../../core/net/mesh-plan.ts";
import type { WgImpl } from "../../core/net/mesh-meta.ts";
import { parseWgDump, type WgStatus } from "../../core/net/wg-dump.ts";
import { must, type ToolRunner } from "./exec.ts";

export interface WgInterfaceOptions {
  readonly name: string;
  readonly impl: WgImpl;
  readonly privateKeyFile: string;
  readonly listenPort: number;
  /** The node's mesh address as a /32, once it holds one. */
  readonly address?: string;
  readonly mtu: number;
  /** argv prefix to run wireguard-go elsewhere (tests: nsenter into a namespace). */
  readonly spawnPrefix?: readonly string[];
  readonly keepaliveSeconds?: number;
}

export class WgInterface {
  private proc: ChildProcess | undefined;

  constructor(
    private readonly run: ToolRunner,
    readonly opts: WgInterfaceOptions,
  ) {}

  get name(): string {
    return this.opts.name;
  }

  async exists(): Promise<boolean> {
    return (await this.run(["ip", "link", "show", this.name])).code === 0;
  }

  /** Creates (or adopts) the interface and sets key, port, MTU and address. Idempotent. */
  async up(): Promise<void> {
    if (!(await this.exists())) {
      if (this.opts.impl === "kernel") await must(this.run, ["ip", "link", "add", this.name, "type", "wireguard"]);
      else await this.startUserspace();
    }
    await must(this.run, ["wg", "set", this.name, "listen-port", String(this.opts.listenPort), "private-key", this.opts.privateKeyFile]);
    await must(this.run, ["ip", "link", "set", this.name, "mtu", String(this.opts.mtu), "up"]);
    if (this.opts.address) await this.setAddress(this.opts.address);
  }

  async setAddress(cidr: string): Promise<void> {
    const cur = await must(this.run, ["ip", "-4", "-o", "addr", "show", "dev", this.name]);
    const have = [...cur.matchAll(/inet (\S+)/g)].map((m) => m[1]!);
    for (const h of have) if (h !== cidr) await must(this.run, ["ip", "addr", "del", h, "dev", this.name]);
    if (!have.includes(cidr)) await must(this.run, ["ip", "addr", "add", cidr, "dev", this.name]);
  }

  async setMtu(mtu: number): Promise<void> {
    await must(this.run, ["ip", "link", "set", this.name, "mtu", String(mtu)]);
  }

  private async startUserspace(): Promise<void> {
    const argv = [...(this.opts.spawnPrefix ?? []), "wireguard-go", "-f", this.name];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, WG_PROCESS_FOREGROUND: "1" } });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.on("error", (e) => (err += String(e.message)));
    this.proc = child;
    for (let i = 0; i < 100; i++) {
      if (await this.exists()) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    this.proc = undefined;
    throw new FizzError({ code: "net.wireguard_start_failed", message: `wireguard-go did not bring up ${this.name}: ${err.replace(/[┌─┐│└┘]/g, "").replace(/\s+/g, " ").trim().slice(0, 400)}`, status: 500 });
  }

  async status(): Promise<WgStatus> {
    const r = parseWgDump(await must(this.run, ["wg", "show", this.name, "dump"]));
    if (!r.ok) throw new FizzError({ code: "net.bad_wg_output", message: `cannot read wg show ${this.name} dump: ${r.reason}`, status: 500 });
    return r.value;
  }

  /** Peers and the routes through the interface, in the shape meshDiff compares. */
  async actual(): Promise<MeshActual> {
    const st = await this.status();
    const routes = (await must(this.run, ["ip", "-4", "route", "show", "dev", this.name]))
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter((d) => d && d !== "")
      .map((d) => (d.includes("/") ? d : `${d}/32`));
    return { peers: st.peers.map((p) => ({ publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps })), routes };
  }

  /**
   * Applies a plan's actions in three processes at most, whatever their
   * number: the routes that go (`ip -force -batch`, a route already gone is
   * no error), every peer change in one `wg set`, the routes that come
   * (`ip -batch`). A deploy's claims change every peer's allowed IPs and add
   * a route per slice at once; one process per action cost 30-60 ms each
   * while the engines were busy creating networks.
   */
  async apply(actions: readonly MeshAction[], srcAddress: string | undefined): Promise<void> {
    const src = srcAddress?.replace(/\/32$/, "");
    const gone = actions.flatMap((a) => (a.kind === "remove-route" ? [`route del ${a.cidr} dev ${this.name}`] : []));
    if (gone.length) await this.run(["ip", "-force", "-batch", "-"], { input: `${gone.join("\n")}\n` });
    const peers = actions.flatMap((a) => {
      if (a.kind === "remove-peer") return ["peer", a.publicKey, "remove"];
      if (a.kind !== "set-peer") return [];
      return ["peer", a.publicKey, "endpoint", a.endpoint, "persistent-keepalive", String(this.opts.keepaliveSeconds ?? 25), "allowed-ips", a.allowedIps.length ? a.allowedIps.join(",") : ""];
    });
    if (peers.length) await must(this.run, ["wg", "set", this.name, ...peers]);
    const added = actions.flatMap((a) => (a.kind === "add-route" ? [`route replace ${a.cidr} dev ${this.name}${src ? ` src ${src}` : ""}`] : []));
    if (added.length) await must(this.run, ["ip", "-batch", "-"], { input: `${added.join("\n")}\n` });
  }

  /** Removes the interface (and stops wireguard-go). */
  async down(): Promise<void> {
    await this.run(["ip", "link", "del", this.name]);
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(r, 2000);
        this.proc!.once("exit", () => {
          clearTimeout(t);
          r(undefined);
        });
      });
      if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    }
    this.proc = undefined;
  }
}
