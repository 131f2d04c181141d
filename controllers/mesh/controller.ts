/**
 * The mesh controller: this node's end of the cluster's WireGuard mesh.
 *
 *  - before the cluster node starts it finds the tools (platform/net/tools.ts;
 *    missing ones: a warning that names the packages, and the node runs
 *    single-node workloads only), makes or loads the key pair (0600 file,
 *    never gossiped) and offers its public key, implementation, endpoint port
 *    and underlay MTU as gossiped metadata (core/net/mesh-meta.ts);
 *  - in a cluster it brings the interface up, claims the node's mesh address
 *    (core/net/assign.ts), and on every membership or state change computes
 *    the plan (core/net/mesh-plan.ts) and applies only the difference: peers
 *    follow membership, a dead or departed node's peer goes, a new key
 *    replaces the old;
 *  - it keeps Fizz's firewall chains in place for the cluster networks this
 *    node serves (core/net/firewall-plan.ts, local-networks.ts), turns on
 *    proxy ARP on their bridges once the engine made them, and releases the
 *    claims of nodes that left and of deployments removed cluster-wide
 *    (core/net/release.ts);
 *  - for other controllers, `meshAddressOf(node)`: where a node is reached
 *    over the mesh now (docs/ENGINEERING.md, "mesh address API");
 *  - for the reconciler it gives each deployment's replicas their addresses
 *    and shapes its desired state for the mesh (`shape`, addresses.ts), and
 *    before a container is created makes sure its bridges route
 *    (`prepareContainer`).
 *
 * On stop the interface stays up (containers keep talking while the agent
 * restarts; the next start adopts it); leaving the cluster takes it down.
 */
import { join } from "node:path";
import type { Gauge } from "prom-client";
import { applyDelta, touchesAny, type ClusterDelta, type ClusterState, type Collection } from "../../core/state/index.ts";
import { encodeHlc } from "../../core/crdt/index.ts";
import { FizzError } from "../../core/errors.ts";
import { assignAddresses } from "../../core/net/assign.ts";
import { firewallPlan } from "../../core/net/firewall-plan.ts";
import { servedNetworks, type ServedNetwork } from "../../core/net/local-networks.ts";
import { departedReleases } from "../../core/net/release.ts";
import { networkAdmission } from "../../core/net/admit.ts";
import type { Project } from "../../core/compose/model.ts";
import { formatCidr, formatIp } from "../../core/net/cidr.ts";
import { resolveClaims, type ClaimPlan } from "../../core/net/claims.ts";
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import type { ActualState, DesiredProject } from "../../core/reconcile/types.ts";
import { ipamConfig, type IpamConfig } from "../../core/net/ipam-config.ts";
import { meshMetaFields, readMeshMeta, type WgImpl } from "../../core/net/mesh-meta.ts";
import { endpointHost, meshApplied, meshDiff, meshPlan, type MeshMember, type MeshPlan } from "../../core/net/mesh-plan.ts";
import type { WgStatus } from "../../core/net/wg-dump.ts";
import { applyFirewall, detectMeshTools, enableBridgeRouting, interfaceExists, loadOrCreateWgKey, toolRunner, WgInterface, type ToolRunner } from "../../platform/net/index.ts";
import { meshRoutes, type MeshStatus } from "../../platform/api/routes-mesh.ts";
import { shapeForMesh, type Shaped } from "./addresses.ts";
import { claimHolders, registerMetrics, servedNetworkStatus } from "./status.ts";
import type { RouteModule } from "../../platform/api/router.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Change } from "../changes.ts";
import type { Controller } from "../controller.ts";
import { ConvergeLoop } from "../converge-loop.ts";
import type { AgentContext } from "../context.ts";

/** The collections a mesh converge reads. */
const MESH_READS: ReadonlySet<Collection> = new Set<Collection>(["ips", "nodes", "deployments"]);

export class MeshController implements Controller {
  readonly name = "mesh";
  readonly routes: readonly RouteModule[];
  private readonly run: ToolRunner;
  private readonly cfg: IpamConfig | undefined;
  private impl: WgImpl | undefined;
  private problem: FizzError | undefined;
  private publicKey: string | undefined;
  private privateKeyFile: string | undefined;
  private wg: WgInterface | undefined;
  private underlayMtu = 1500;
  private plan: MeshPlan | undefined;
  /** One converge at a time; a call during one runs another right after it (and both callers wait for that). */
  private readonly loop = new ConvergeLoop(() => this.pass());
  private lastError: string | undefined;
  private loopback: string | undefined;
  private readonly gauges: { peers: Gauge; handshakeAge: Gauge; bytes: Gauge } | undefined;
  /** Bridges with proxy ARP on (cleared when a bridge goes: the engine may make it again). */
  private readonly routed = new Set<string>();
  /** Until when a served network's missing bridge is looked for again (after a container is prepared). */
  private bridgeWaitUntil = 0;
  /** The firewall plan last applied (restore text), so an unchanged one is not applied again. */
  private firewallApplied: string | undefined;
  /** The mesh plan last applied (JSON), so an unchanged one is not read back and diffed again. */
  private planApplied: string | undefined;
  /**
   * The next converge checks and applies every step, changed or not: the
   * first one, after a failure, a membership change or an engine event, and
   * the periodic check (`mesh.check_interval`, its own timer, so drift is
   * repaired on an idle node too). The others (most of them: every gossiped
   * container or deployment record wakes one) only apply what changed: each
   * full step is several process spawns (ip, wg, iptables), which on a busy
   * node held a new container's creation 0.2-0.9 s (prepareContainer waits
   * for a converge), and a deploy's first converge after an idle spell, when
   * it was the time-based full one, cost each node ~90 ms of CPU in those
   * processes while its containers started.
   */
  private full = true;
  private fullAt = -Infinity;
  private checkTimer: ReturnType<typeof setInterval> | undefined;
  /** The claim plan of one state version (the replica changes its collections in place: identity says nothing). */
  private claimsOf: { node: unknown; version: number; plan: ClaimPlan } | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly o: {
      readonly membership: ClusterAgent;
      readonly run?: ToolRunner;
      /** The cluster resolver's state, shown by `fizz net`. */
      readonly resolver?: { status(): MeshStatus["resolver"] };
    },
  ) {
    this.run = o.run ?? toolRunner();
    const c = ipamConfig(ctx.config.mesh.range);
    if (c.ok) this.cfg = c.value;
    else this.problem = c.error;
    this.routes = [meshRoutes(() => this.status())];
    this.gauges = registerMetrics(ctx.metrics.registry, async () => {
      await this.status();
    });
    o.membership.onLeft(async () => this.down());
  }

  /** Gossiped metadata: what peers need to reach this node (undefined without a working mesh). */
  meta(): { labels: Record<string, string>; ports: Record<string, number> } | undefined {
    if (!this.ctx.config.mesh.enabled || !this.publicKey || !this.impl) return undefined;
    return meshMetaFields({ driver: "wireguard", impl: this.impl, publicKey: this.publicKey, port: this.ctx.config.mesh.port, underlayMtu: this.underlayMtu });
  }

  /** Finds tools, key and MTU; must run before the cluster node starts (its metadata is read then). */
  async prepare(): Promise<void> {
    if (!this.ctx.config.mesh.enabled || this.problem) return;
    const tools = await detectMeshTools(this.run, `${this.ctx.config.mesh.interface.slice(0, 10)}probe`);
    if (!tools.ok) {
      this.problem = tools.error;
      this.ctx.logger.warn({ hint: tools.error.hint }, tools.error.message);
      return;
    }
    this.impl = tools.impl;
    const key = loadOrCreateWgKey(join(this.ctx.config.data_dir, "mesh", "wg.key"));
    this.publicKey = key.publicKey;
    this.privateKeyFile = key.privateKeyFile;
    this.underlayMtu = await this.readUnderlayMtu();
    if (key.created) this.ctx.logger.info({ publicKey: key.publicKey }, "made this node's WireGuard key pair");
    this.ctx.logger.info({ impl: tools.impl, interface: this.ctx.config.mesh.interface, underlayMtu: this.underlayMtu }, `mesh: WireGuard via ${tools.impl === "kernel" ? "the kernel module" : "wireguard-go (no kernel module)"}`);
  }

  start(): void {
    this.schedule();
    // Looks every half interval, so a full converge that a change brought meanwhile postpones the periodic one.
    const every = this.ctx.config.mesh.check_interval;
    clearInterval(this.checkTimer);
    this.checkTimer = setInterval(() => {
      if (this.ctx.now() - this.fullAt < every) return;
      this.full = true;
      this.schedule(0);
    }, every / 2);
    (this.checkTimer as { unref?: () => void }).unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.checkTimer);
    // The pass under way (if any) is not waited for.
    void this.loop.stop();
  }

  onChange(c: Change): void {
    // A container that died may mean the engine restarted (and put its rules above ours): the next converge checks everything.
    if (c.kind === "membership" || c.kind === "engine") this.full = true;
    // The mesh reads addresses (ips), nodes and deployments (removed ones, internal networks): not container records.
    if (c.kind === "membership" || (c.kind === "cluster-state" && touchesAny(c.scope, MESH_READS))) this.schedule();
  }

  private schedule(delay = 50): void {
    this.loop.schedule(delay);
  }

  private converge(): Promise<void> {
    return this.loop.run();
  }

  /** One converge; a failure is logged, kept for the status, and retried in 2 s. */
  private async pass(): Promise<void> {
    try {
      const t0 = this.ctx.now();
      await this.convergeOnce();
      this.ctx.logger.debug({ ms: this.ctx.now() - t0 }, "mesh: converged");
      this.lastError = undefined;
    } catch (e) {
      this.full = true;
      this.lastError = e instanceof Error ? e.message : String(e);
      this.ctx.logger.warn({ err: this.lastError }, "mesh: could not apply the plan; retrying");
      this.schedule(2000);
    }
  }

  /**
   * Whether deployments get cluster networks here: "on" with the mesh up,
   * "off" when this node has no mesh (disabled, tools missing, a loopback
   * cluster, not in a cluster: networks stay the engine's), "starting" when
   * it is about to have one.
   */
  mode(): "on" | "off" | "starting" {
    const node = this.o.membership.current;
    if (!node || !this.ctx.config.mesh.enabled || !this.impl || !this.cfg || !this.privateKeyFile || this.problem) return "off";
    if (isLoopbackHost(endpointHost(node.address))) return "off";
    return this.wg && this.plan ? "on" : "starting";
  }

  /**
   * The mesh address API for other controllers (e.g. an ingress relay that
   * should reach other nodes over the mesh): the IPv4 address (no prefix) at
   * which `nodeId` is reached over the mesh now, or undefined when there is
   * no mesh path to it (no mesh on this node, the node has no mesh or no
   * address yet, or it is not a peer: dead, left, excluded); use its cluster
   * address then. `nodeId` = this node gives this node's own mesh address
   * (bound on the WireGuard interface; traffic to it from a peer arrives
   * decrypted on that interface). Reads the last applied plan: no I/O.
   */
  meshAddressOf(nodeId: string): string | undefined {
    if (this.mode() !== "on" || !this.plan) return undefined;
    if (nodeId === this.ctx.node) return this.plan.address?.replace(/\/32$/, "");
    const node = this.o.membership.current;
    if (!node || !this.plan.peers.some((p) => p.id === nodeId && !p.suspect)) return undefined;
    const a = this.claims(node.state.ips).nodeAddresses.get(nodeId);
    return a === undefined ? undefined : formatIp(a);
  }

  /**
   * The reconciler's network hook: addresses for the deployment's replicas
   * on this node and its desired state shaped for the mesh. Unchanged when
   * the node has no mesh; throws (nothing written) when a replica cannot
   * have an address.
   */
  async shape(deployment: string, desired: DesiredProject<ServiceTemplate>, actual: Pick<ActualState, "containers" | "networks">): Promise<Shaped> {
    if (this.mode() === "starting") await this.converge();
    const mode = this.mode();
    if (mode === "off") return { desired, warnings: [], claimed: false };
    if (mode === "starting") {
      throw new FizzError({ code: "net.mesh_not_ready", message: `the mesh is not up on this node yet${this.lastError ? `: ${this.lastError}` : ""}`, hint: "fizz net shows why; the deployment is applied once it is" });
    }
    const r = shapeForMesh(this.o.membership, this.cfg!, this.ctx.node, this.plan!.mtu, deployment, desired, actual);
    // This node's new claims: routed now, not after the coalescing delay (its containers' starts wait for it).
    if (r.claimed) void this.converge();
    return r;
  }

  /**
   * Before a deployment is accepted (fizz up on any node): its networks'
   * subnets against the cluster's claims; refused with every reason, nothing
   * stored, when one is taken, reserved or the range is full.
   */
  admit(name: string, project: Project): void {
    const node = this.o.membership.current;
    if (this.mode() === "off" || !node) return;
    const bad = networkAdmission(node.state.ips, this.cfg!, name, project);
    if (bad.length === 0) return;
    const first = bad[0]!.error;
    throw new FizzError({
      code: first.code,
      message: bad.map((b) => `networks.${b.network}: ${b.error.message}`).join("; "),
      ...(first.hint ? { hint: first.hint } : {}),
    });
  }

  /** Before a container is created: the bridges it joins route (proxy ARP, firewall) once the engine made them. */
  async prepareContainer(): Promise<[]> {
    if (this.mode() !== "on") return [];
    const node = this.o.membership.current!;
    const served = servedNetworks(this.claims(node.state.ips), node.state, this.ctx.node);
    const pending = served.some((n) => !this.routed.has(n.bridge) && interfaceExists(n.bridge)) || this.firewallText(served) !== this.firewallApplied;
    if (pending) await this.converge();
    // Podman (netavark) makes a network's bridge only when its first container starts: look again soon after.
    if (served.some((n) => !interfaceExists(n.bridge))) {
      this.bridgeWaitUntil = this.ctx.now() + 15_000;
      this.schedule(200);
    }
    return [];
  }

  private claims(ips: ClusterState["ips"]): ClaimPlan {
    const node = this.o.membership.current;
    const version = node?.version ?? -1;
    const c = this.claimsOf;
    if (c && node && c.node === node && c.version === version) return c.plan;
    const plan = resolveClaims(ips, this.cfg!);
    this.claimsOf = { node, version, plan };
    return plan;
  }

  private firewallText(served: readonly ServedNetwork[]): string {
    return firewallPlan(this.ctx.config.mesh.interface, this.cfg!.nodeBlock, served).restore;
  }

  private async convergeOnce(): Promise<void> {
    const node = this.o.membership.current;
    if (!node || !this.impl || !this.cfg || !this.privateKeyFile) return;
    if (isLoopbackHost(endpointHost(node.address))) {
      // A cluster of agents on one machine (tests, trying Fizz out): nobody could reach the
      // endpoint, and a mesh interface would change the machine's own network for nothing.
      this.loopback = `mesh not started: this node's cluster address ${node.address} is a loopback address`;
      return;
    }
    if (!this.wg) {
      this.wg = new WgInterface(this.run, { name: this.ctx.config.mesh.interface, impl: this.impl, privateKeyFile: this.privateKeyFile, listenPort: this.ctx.config.mesh.port, mtu: this.underlayMtu - 80 });
      await this.wg.up();
    }
    // This node's mesh address, claimed once and kept; the claims of nodes that left and of removed deployments freed.
    const cfg = this.cfg;
    const left = new Set(node.members().filter((m) => m.state === "left").map((m) => m.id));
    node.mutate((s: ClusterState, ts) => {
      const a = assignAddresses(s.ips, cfg, this.ctx.node, [], () => encodeHlc(ts));
      const removed = new Set(Object.keys(s.deployments).filter((k) => s.deployments[k]!.deleted));
      const writes = { ...departedReleases(s.ips, { nodes: left, deployments: removed }), ...a.writes };
      if (Object.keys(writes).length === 0) return undefined;
      const delta: ClusterDelta = { ips: writes };
      return {
        delta,
        get state() {
          return applyDelta(s, delta);
        },
      };
    });
    const members: MeshMember[] = node.members().map((m) => {
      const r = readMeshMeta(m.meta.labels, m.meta.ports);
      return { id: m.id, state: m.state, address: m.address, meta: r.ok ? r.value : undefined, ...(r.ok ? {} : { metaProblem: r.reason }) };
    });
    const full = this.full;
    this.full = false;
    const plan = meshPlan(this.ctx.node, "wireguard", this.underlayMtu, members, resolveClaims(node.state.ips, this.cfg));
    const planText = JSON.stringify(plan);
    if (full || planText !== this.planApplied) {
      // Between full converges the interface holds what the last applied plan put there (a failed converge makes
      // the next one full): the new plan is diffed against that, without reading the interface back.
      const last = full ? undefined : this.plan;
      if (plan.address && plan.address !== last?.address) await this.wg.setAddress(plan.address);
      if (plan.mtu !== this.plan?.mtu) await this.wg.setMtu(plan.mtu);
      const actions = meshDiff(plan, last ? meshApplied(last) : await this.wg.actual());
      if (actions.length) {
        await this.wg.apply(actions, plan.address);
        this.ctx.logger.info({ actions: actions.map((x) => `${x.kind} ${"cidr" in x ? x.cidr : x.publicKey.slice(0, 8)}`) }, "mesh: applied");
      }
    }
    const served = servedNetworks(this.claims(node.state.ips), node.state, this.ctx.node);
    const fw = firewallPlan(this.wg.name, this.cfg.nodeBlock, served);
    // On a full converge even when unchanged, jumps checked: an engine restart may have put its own rules above them.
    if (full || fw.restore !== this.firewallApplied) {
      await applyFirewall(this.run, fw, { jumps: full });
      this.firewallApplied = fw.restore;
    }
    // A network no longer served here forgets its bridge: when it comes back (down, then up) its new bridge is
    // routed again. A full converge routes every served bridge again (a bridge made anew keeps its name).
    const servedBridges = new Set(served.map((n) => n.bridge));
    const wasRouted = new Set([...this.routed].filter((b) => servedBridges.has(b)));
    for (const b of [...this.routed]) if (full || !servedBridges.has(b)) this.routed.delete(b);
    for (const n of served) {
      if (!interfaceExists(n.bridge)) {
        this.routed.delete(n.bridge);
        if (this.ctx.now() < this.bridgeWaitUntil) this.schedule(200);
        continue;
      }
      if (this.routed.has(n.bridge)) continue;
      await enableBridgeRouting(this.run, n.bridge);
      this.routed.add(n.bridge);
      if (!wasRouted.has(n.bridge)) this.ctx.logger.info({ bridge: n.bridge, subnet: formatCidr(n.subnet) }, "mesh: bridge routes to the other nodes' slices (proxy ARP on)");
    }
    this.plan = plan;
    this.planApplied = planText;
    if (full) this.fullAt = this.ctx.now();
  }

  private async down(): Promise<void> {
    await this.wg?.down().catch(() => {});
    this.wg = undefined;
    this.plan = undefined;
    this.planApplied = undefined;
    this.full = true;
  }

  /**
   * The MTU of the interface that carries traffic to the world (default route
   * else), asked of `ip` (this process's network namespace; /sys/class/net may
   * show another one, see platform/net/host-addresses.ts).
   */
  private async readUnderlayMtu(): Promise<number> {
    const r = await this.run(["ip", "-o", "route", "get", "1.1.1.1"]);
    const dev = /\bdev (\S+)/.exec(r.stdout)?.[1] ?? (await this.run(["ip", "-o", "-4", "route", "show", "default"])).stdout.match(/\bdev (\S+)/)?.[1];
    if (!dev) return 1500;
    const link = await this.run(["ip", "-o", "link", "show", "dev", dev]);
    const n = Number(/\bmtu (\d+)/.exec(link.stdout)?.[1]);
    return Number.isInteger(n) && n >= 576 ? n : 1500;
  }

  private holders(): MeshStatus["holders"] {
    const node = this.o.membership.current;
    return node && this.cfg ? claimHolders(this.claims(node.state.ips)) : [];
  }

  private networkStatus(): MeshStatus["networks"] {
    const node = this.o.membership.current;
    return node && this.cfg ? servedNetworkStatus(this.claims(node.state.ips), node.state, this.ctx.node) : [];
  }

  async status(): Promise<MeshStatus> {
    const node = this.o.membership.current;
    let wg: WgStatus | undefined;
    if (this.wg) wg = await this.wg.status().catch(() => undefined);
    const byKey = new Map((wg?.peers ?? []).map((p) => [p.publicKey, p]));
    const members = new Map((node?.members() ?? []).map((m) => [m.id, m]));
    const now = Date.now() / 1000;
    const peers = (this.plan?.peers ?? []).map((p) => {
      const live = p.publicKey ? byKey.get(p.publicKey) : undefined;
      const m = members.get(p.id);
      return {
        node: p.id,
        name: m?.meta.name ?? p.id,
        endpoint: p.endpoint,
        allowedIps: [...p.allowedIps],
        lastHandshakeSeconds: live && live.latestHandshake > 0 ? Math.max(0, Math.round(now - live.latestHandshake)) : null,
        rttMs: m?.rttMs === undefined ? null : Math.round(m.rttMs * 100) / 100,
        rxBytes: live?.rxBytes ?? 0,
        txBytes: live?.txBytes ?? 0,
      };
    });
    if (this.gauges) {
      this.gauges.peers.set(peers.length);
      this.gauges.handshakeAge.reset();
      this.gauges.bytes.reset();
      for (const p of peers) {
        if (p.lastHandshakeSeconds !== null) this.gauges.handshakeAge.set({ peer: p.node }, p.lastHandshakeSeconds);
        this.gauges.bytes.set({ peer: p.node, direction: "rx" }, p.rxBytes);
        this.gauges.bytes.set({ peer: p.node, direction: "tx" }, p.txBytes);
      }
    }
    return {
      enabled: this.ctx.config.mesh.enabled,
      driver: "wireguard",
      encrypted: true,
      implementation: this.impl ?? null,
      interface: this.ctx.config.mesh.interface,
      inCluster: Boolean(node),
      address: this.plan?.address ?? null,
      publicKey: this.publicKey ?? null,
      port: this.ctx.config.mesh.port,
      mtu: this.plan?.mtu ?? null,
      underlayMtu: this.underlayMtu,
      peers,
      excluded: [...(this.plan?.excluded ?? [])],
      warnings: [...(this.plan?.warnings ?? [])],
      networks: this.networkStatus(),
      holders: this.holders(),
      resolver: this.o.resolver?.status() ?? null,
      problem: this.problem
        ? { code: this.problem.code, message: this.problem.message, ...(this.problem.hint ? { hint: this.problem.hint } : {}) }
        : this.loopback
          ? { code: "net.loopback_cluster", message: this.loopback, hint: "advertise an address other machines reach (fizz agent --advertise or cluster.advertise)" }
          : this.lastError
            ? { code: "net.apply_failed", message: this.lastError }
            : null,
    };
  }
}

function isLoopbackHost(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host === "localhost";
}
