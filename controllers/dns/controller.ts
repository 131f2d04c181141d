/**
 * The dns controller: the cluster resolver on every cluster network this
 * node serves. It listens on each network's gateway address (port 53, UDP
 * and TCP) once the engine has made the bridge that carries it, and stops
 * listening when the network leaves the node. Containers on cluster networks
 * are pointed at it (core/net/deploy-shape.ts); on Docker they ask the
 * engine's embedded DNS at 127.0.0.11, which answers only its own container
 * names and forwards everything else here, from the container's address.
 *
 * Answers come from the replicated state (core/net/dns-from-state.ts,
 * dns-records.ts): service, service.project, container names, aliases, SRV
 * and PTR, only running and healthy replicas, TTL 5 s, scoped to the asker's
 * networks; the table is rebuilt at the first query after the state changed (the
 * cluster node's version counter: one comparison per query). Everything else goes to the node's
 * upstreams (dns.upstreams, else /etc/resolv.conf) with a deadline.
 *
 * `prepareContainer` runs before each container is created: the networks the
 * container is about to join exist by then, so the resolver listens on them
 * before the container's first query.
 */
import { resolveClaims } from "../../core/net/claims.ts";
import { answerQuery, type DnsDecision } from "../../core/net/dns-answer.ts";
import { dnsEndpointsFromState } from "../../core/net/dns-from-state.ts";
import { buildDnsTable, type DnsTable } from "../../core/net/dns-records.ts";
import { ipamConfig, type IpamConfig } from "../../core/net/ipam-config.ts";
import { networkSubnets, servedNetworks } from "../../core/net/local-networks.ts";
import type { ClusterState } from "../../core/state/cluster-state.ts";
import { touchesAny, type Collection } from "../../core/state/index.ts";
import { DnsServer, dnsQueryMetric, newDnsQueryCounts, upstreamSource, type DnsQueryCounts } from "../../platform/dns/index.ts";
import { hostAddresses, interfaceExists } from "../../platform/net/index.ts";
import type { Upstream } from "../../core/net/resolv-conf.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { MeshStatus } from "../../platform/api/routes-mesh.ts";
import type { Change } from "../changes.ts";
import type { Controller } from "../controller.ts";
import { ConvergeLoop } from "../converge-loop.ts";
import type { AgentContext } from "../context.ts";

/** Port the resolver listens on (what containers' resolv.conf can name). */
export const DNS_PORT = 53;
/** After a container is prepared, how long and how often a missing bridge is looked for (Podman makes it at start). */
const BRIDGE_WAIT_MS = 15_000;
const BRIDGE_POLL_MS = 200;
/** What the listeners are derived from (servedNetworks: the claims, the nodes' slices, the deployments' networks). */
const DNS_LISTENER_READS: ReadonlySet<Collection> = new Set<Collection>(["ips", "nodes", "deployments"]);

export type ResolverStatus = NonNullable<MeshStatus["resolver"]>;

export class DnsController implements Controller {
  readonly name = "dns";
  private readonly cfg: IpamConfig | undefined;
  private readonly servers = new Map<string, DnsServer>();
  private readonly problems = new Map<string, string>();
  private readonly upstreams: () => readonly Upstream[];
  /** Shared by every listener; fizz_dns_queries_total reads it when scraped (platform/dns/metrics.ts). */
  private readonly counts: DnsQueryCounts = newDnsQueryCounts();
  private table: DnsTable = buildDnsTable([]);
  /** The state version the table was built from (the replica changes its collections in place: identity says nothing). */
  private tableOf: { node: unknown; version: number } | undefined;
  private local = new Set<number>();
  /** One converge at a time; a call during one runs another after it. */
  private readonly loop = new ConvergeLoop(() => this.convergeOnce().catch((e: unknown) => this.ctx.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "dns: converge failed")));
  /** Until when a served network's missing bridge is looked for again (after a container is prepared). */
  private bridgeWaitUntil = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly o: { readonly membership: ClusterAgent; readonly port?: number },
  ) {
    const c = ipamConfig(ctx.config.mesh.range);
    if (c.ok) this.cfg = c.value;
    this.upstreams = upstreamSource(ctx.config.dns.upstreams);
    const bad = ctx.config.dns.upstreams.filter((u) => !/^[0-9.]+(:\d{1,5})?$/.test(u.trim()));
    if (bad.length) ctx.logger.warn({ upstreams: bad }, "dns.upstreams: entries that are not ip or ip:port are ignored");
    dnsQueryMetric(ctx.metrics.registry, this.counts);
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all([...this.servers.values()].map((s) => s.close()));
    this.servers.clear();
  }

  onChange(c: Change): void {
    // New networks appear with a pass's createNetwork; networks leave with slices and deployments. A peer's
    // change that touches none of the claims, nodes and deployments the listeners come from (during a deploy
    // most are container records) changes no listener: the table follows the state at the next query anyway.
    if (c.kind === "cluster-state" && !touchesAny(c.scope, DNS_LISTENER_READS)) return;
    if (c.kind === "membership" || c.kind === "cluster-state" || c.kind === "reconciled" || c.kind === "deployment-removed") this.schedule(100);
  }

  /** Before a container is created: listen on the gateways of networks that exist by now. */
  async prepareContainer(): Promise<[]> {
    await this.converge();
    // Podman (netavark) makes a network's bridge only when its first container starts: look again soon after.
    this.bridgeWaitUntil = this.ctx.now() + BRIDGE_WAIT_MS;
    this.schedule(BRIDGE_POLL_MS);
    return [];
  }

  private schedule(delay: number): void {
    this.loop.schedule(delay);
  }

  private converge(): Promise<void> {
    return this.loop.run();
  }

  private async convergeOnce(): Promise<void> {
    const node = this.o.membership.current;
    const want = new Set<string>();
    let bridgeMissing = false;
    this.local = hostAddresses();
    if (node && this.cfg && this.ctx.config.dns.enabled && !this.loop.stopped) {
      for (const n of servedNetworks(resolveClaims(node.state.ips, this.cfg), node.state, this.ctx.node)) {
        // The bridge carries the gateway once the engine made the network here (up or not yet:
        // a bridge is down until its first container starts, and the resolver must be there first).
        if (interfaceExists(n.bridge)) want.add(n.gateway);
        else bridgeMissing = true;
      }
    }
    if (bridgeMissing && this.ctx.now() < this.bridgeWaitUntil) this.schedule(BRIDGE_POLL_MS);
    for (const [addr, s] of this.servers) {
      if (want.has(addr)) continue;
      this.servers.delete(addr);
      await s.close();
      this.ctx.logger.info({ address: addr }, "dns: stopped listening (the network left this node)");
    }
    for (const k of this.problems.keys()) if (!want.has(k)) this.problems.delete(k);
    for (const addr of want) {
      if (this.servers.has(addr)) continue;
      try {
        const s = await DnsServer.start({
          listen: [{ host: addr, port: this.o.port ?? DNS_PORT }],
          decide: (q, c) => this.decide(q, c),
          tableVersion: () => this.currentTable(),
          upstreams: this.upstreams,
          forwardTimeoutMs: this.ctx.config.dns.forward_timeout,
          counts: this.counts,
        });
        this.servers.set(addr, s);
        this.problems.delete(addr);
        this.ctx.logger.info({ address: `${addr}:${this.o.port ?? DNS_PORT}` }, "dns: resolver listening");
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (this.problems.get(addr) !== message) this.ctx.logger.warn({ address: addr, err: message }, "dns: cannot listen on a network's gateway; its containers will not resolve service names");
        this.problems.set(addr, message);
      }
    }
    if (this.problems.size && !this.loop.stopped) this.schedule(2000);
  }

  private decide(q: Uint8Array, c: { askerIp: number | undefined; transport: "udp" | "tcp"; rotation: number }): DnsDecision {
    return answerQuery(this.currentTable(), q, c);
  }

  private currentTable(): DnsTable {
    const node = this.o.membership.current;
    if (!node || !this.cfg) return this.table;
    const s: ClusterState = node.state;
    const t = this.tableOf;
    if (t && t.node === node && t.version === node.version) return this.table;
    this.tableOf = { node, version: node.version };
    const subnets = networkSubnets(resolveClaims(s.ips, this.cfg));
    // A dead or departed node's records stay in the state (nobody updates them): never answered.
    const gone = new Set(node.members().filter((m) => m.state === "dead" || m.state === "left").map((m) => m.id));
    this.table = buildDnsTable(dnsEndpointsFromState(s, subnets, gone), subnets, this.local);
    return this.table;
  }

  status(): ResolverStatus {
    const port = this.o.port ?? DNS_PORT;
    return {
      enabled: this.ctx.config.dns.enabled,
      listening: [...this.servers.values()].map((s) => s.addresses()[0]).filter((a) => a !== undefined).map((a) => `${a.host}:${a.port}`).sort(),
      upstreams: this.upstreams().map((u) => `${u.host}:${u.port}`),
      problems: [...this.problems].map(([address, message]) => ({ address: `${address}:${port}`, message })),
    };
  }
}
