/**
 * The ingress controller: keeps this node's listeners (platform/ingress) in
 * step with the route table every node computes from the deployments
 * (core/ingress), and the replica sets with where the replicas run. Woken by
 * changes that can move the plan (specs, membership, drain marks, and the
 * records and engine events of routed deployments' replicas:
 * core/ingress/routed.ts) and on a slow timer, it re-reads the state,
 * computes the plan and applies only what differs. In a cluster it also
 * runs the relay through which the other nodes reach the replicas running
 * here. Listener problems (a port already taken) and route conflicts become
 * events, once each.
 */
import { parseCidr, type Cidr } from "../../core/ingress/address.ts";
import { ingressPlan, type IngressPlanValue } from "../../core/ingress/plan.ts";
import { placeText } from "../../core/ingress/routes.ts";
import type { Engine } from "../../platform/engine/index.ts";
import { CertStore, IngressServer, createIngressMetrics, type IngressMetrics } from "../../platform/ingress/index.ts";
import { Relay } from "../../platform/ingress/relay.ts";
import { onHandlerError } from "../../platform/ingress/sockets.ts";
import { ingressRoutes } from "../../platform/api/routes-ingress.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Change } from "../changes.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import { readInputs } from "./inputs.ts";
import { IngressRecords } from "./records.ts";
import { TlsManager } from "./tls.ts";
import type { Project } from "../../core/compose/model.ts";
import { drainState } from "../../core/ingress/drain.ts";
import { deploymentConflicts } from "../../core/ingress/conflicts.ts";
import { deltaConcernsIngress, routedDeployments } from "../../core/ingress/routed.ts";
import type { DeploymentInput } from "../../core/ingress/routes.ts";
import { deleteIngressRecord, drainKey, listContainers, listDeployments, putIngressRecord, touchesAny, type Collection } from "../../core/state/index.ts";
import { FizzError } from "../../core/errors.ts";

/** The collections an ingress pass reads: specs, replicas' records, drain marks and certificates (ingress), nodes. */
const INGRESS_READS: ReadonlySet<Collection> = new Set<Collection>(["deployments", "containers", "ingress", "nodes"]);

/** Which replica a container name is (`<project>-<service>-<number>`, Compose's naming). */
function replicaOfName(project: Project, container: string): { service: string; index: number } | undefined {
  for (const service of Object.keys(project.services)) {
    const prefix = `${project.name}-${service}-`;
    if (!container.startsWith(prefix)) continue;
    const n = Number(container.slice(prefix.length));
    if (Number.isInteger(n) && n >= 1) return { service, index: n - 1 };
  }
  return undefined;
}

function cidrs(list: readonly string[]): Cidr[] {
  return list.map((s) => parseCidr(s)).filter((c): c is Cidr => c !== undefined);
}

export class IngressController implements Controller {
  readonly name = "ingress";
  readonly routes = [ingressRoutes(this)];
  private server: IngressServer | undefined;
  private relay: Relay | undefined;
  private relayProblem: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The pass a change asked for (`wakeSoon`), not yet run. */
  private soon: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private busy: Promise<void> | undefined;
  private again = false;
  private plan: IngressPlanValue | undefined;
  /** The deployments with a route in the last pass's plan (undefined before the first). */
  private routed: Set<string> | undefined;
  private clustered = false;
  private members = new Set<string>();
  /** The alive nodes (this one included), each serving the same route table. */
  private routedBy: string[] = [];
  private reported = new Set<string>();
  /** Replicas of this node being drained before they stop (deployment/service/index). */
  readonly draining = new Set<string>();
  readonly certs = new CertStore();
  private readonly records: IngressRecords;
  readonly tls: TlsManager;
  private readonly metrics: IngressMetrics;

  constructor(
    private readonly ctx: AgentContext,
    private readonly o: { readonly membership: ClusterAgent; readonly engine: Engine },
  ) {
    this.metrics = createIngressMetrics(ctx.metrics.registry);
    this.records = new IngressRecords(ctx.node, ctx.store, o.membership, ctx.now);
    this.tls = new TlsManager(ctx, this.records, this.certs, { wake: () => this.wake(), challengeServed: () => this.metrics.recordChallenge() });
    // A node that creates or joins a cluster brings its certificates along (sealed again under the cluster key).
    o.membership.onMember(async () => {
      const carried = this.records.adoptIntoCluster();
      if (carried.length > 0) this.ctx.logger.info({ carried }, "ingress certificates carried into the cluster");
    });
  }

  start(): void {
    const cfg = this.ctx.config.ingress;
    if (!cfg.enabled) return;
    for (const bad of [...cfg.trusted_proxies, ...cfg.accept_proxy_from].filter((s) => !parseCidr(s))) {
      this.ctx.logger.warn({ cidr: bad }, `ingress: '${bad}' is not an address or CIDR range; ignored`);
    }
    this.server = new IngressServer({
      bind: cfg.bind,
      trustedProxies: cidrs(cfg.trusted_proxies),
      acceptProxyFrom: cidrs(cfg.accept_proxy_from),
      certs: this.certs,
      acmeChallenge: (t) => this.tls.challenge(t),
      metrics: this.metrics,
      waitForReadyMs: cfg.wait_for_ready,
      connectTimeoutMs: cfg.connect_timeout,
      now: () => performance.now(),
    });
    onHandlerError((e) => this.ctx.logger.error({ err: e }, "ingress connection handler failed; connection closed"));
    this.running = true;
    this.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.soon = undefined;
    await this.busy;
    this.server?.close();
    this.relay?.close();
    this.records.flush();
    this.server = undefined;
    this.relay = undefined;
  }

  onChange(c: Change): void {
    if (this.concerns(c)) this.wakeSoon();
  }

  /**
   * Whether a change can move the plan. Changes about the replicas of a
   * deployment without routes cannot (core/ingress/routed.ts), as long as no
   * pass is under way: one that is may have read the deployments before this
   * one gained a route, so it runs again for anything.
   */
  private concerns(c: Change): boolean {
    const routed = this.busy ? undefined : this.routed;
    const isRouted = (d: string | undefined) => routed === undefined || d === undefined || routed.has(d);
    switch (c.kind) {
      case "cluster-state":
        return routed === undefined ? touchesAny(c.scope, INGRESS_READS) : deltaConcernsIngress(c.scope, routed);
      case "reconciled":
        return isRouted(c.name);
      case "engine":
        return isRouted(c.project);
      case "deployment":
      case "deployment-removed":
      case "membership":
        return true;
    }
  }

  /**
   * A pass `ingress.wake_delay` after the first change of a burst: a deploy
   * brings dozens (each container's create, connect and start, every peer's
   * records), and each pass reads the engine's containers.
   */
  private wakeSoon(): void {
    if (!this.running || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.wake();
    }, this.ctx.config.ingress.wake_delay);
    this.soon.unref?.();
  }

  /** Runs a pass now (or right after the one running). */
  wake(): void {
    if (!this.running) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.busy = this.pass()
      .catch((e: unknown) => this.ctx.logger.error({ err: e }, "ingress pass failed"))
      .finally(() => {
        this.busy = undefined;
        if (!this.running) return;
        if (this.again) {
          this.again = false;
          this.wake();
          return;
        }
        this.timer = setTimeout(() => this.wake(), this.ctx.config.ingress.refresh);
        this.timer.unref?.();
      });
  }

  private async pass(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const cfg = this.ctx.config.ingress;
    const node = this.o.membership.current;
    const inputs = await readInputs({ store: this.ctx.store, engine: this.o.engine, node, self: this.ctx.node, relayPort: cfg.relay_port, draining: this.draining, now: Date.now(), markGraceMs: cfg.drain_timeout });
    if (node && inputs.staleMarks.length > 0) for (const k of inputs.staleMarks) node.mutate((s, ts) => deleteIngressRecord(s, ts, `drain/${k}`));
    this.clustered = inputs.clustered;
    this.members = inputs.members;
    this.routedBy = [this.ctx.node, ...inputs.relays.keys()].sort();
    const plan = ingressPlan({ self: this.ctx.node, deployments: inputs.deployments, replicas: inputs.replicas, clusterPorts: inputs.clustered, relays: inputs.relays });
    this.plan = plan;
    this.routed = routedDeployments(plan.table);
    const problems = await server.apply(plan);
    const now = new Set<string>();
    for (const p of problems) {
      const key = `listen ${p.kind} ${p.port}: ${p.error}`;
      now.add(key);
      if (!this.reported.has(key)) recordEvent(this.ctx, { type: "ingress.listen_failed", message: `ingress cannot listen on ${p.kind} port ${p.port}: ${p.error}`, data: { port: p.port, kind: p.kind } });
    }
    for (const c of plan.table.conflicts) {
      const key = `conflict ${c.what} ${c.refused.service.deployment} ${placeText(c.refused.place)}`;
      now.add(key);
      if (!this.reported.has(key)) {
        recordEvent(this.ctx, {
          type: "ingress.conflict",
          deployment: c.refused.service.deployment,
          service: c.refused.service.service,
          message: `${c.what} of ${placeText(c.refused.place)} (project ${c.refused.service.project}) is not served: ${placeText(c.kept.place)} of project ${c.kept.service.project} claimed it first`,
        });
      }
    }
    this.reported = now;
    this.tls.pass(plan.table, this.routedBy);
    if (inputs.clustered && !this.relay) await this.openRelay(node!.address);
    if (!inputs.clustered && this.relay) {
      this.relay.close();
      this.relay = undefined;
    }
  }

  private async openRelay(clusterAddress: string): Promise<void> {
    const cfg = this.ctx.config.ingress;
    const host = clusterAddress.slice(0, clusterAddress.lastIndexOf(":")).replace(/^\[|\]$/g, "");
    try {
      this.relay = await Relay.open({
        host,
        port: cfg.relay_port,
        allowed: (a) => this.members.has(a),
        resolve: (t) => this.localTarget(t),
        connectTimeoutMs: cfg.connect_timeout,
        refused: (peer, why) => this.ctx.logger.warn({ peer, why }, "ingress relay refused a connection"),
      });
      this.relayProblem = undefined;
    } catch (e) {
      const msg = `ingress relay cannot listen on ${host}:${cfg.relay_port}: ${(e as Error).message}; other nodes cannot reach this node's replicas`;
      if (this.relayProblem !== msg) recordEvent(this.ctx, { type: "ingress.listen_failed", message: msg });
      this.relayProblem = msg;
    }
  }

  /**
   * A relay target this node serves: one of its own ready replicas behind an
   * ingress route. A draining one takes no new relayed connections, so other
   * nodes (which learn of the drain only when the replica is gone) fail over
   * at once; their connections already open finish.
   */
  private localTarget(t: { deployment: string; service: string; index: number; port: number }): { host: string; port: number } | undefined {
    const plan = this.plan;
    if (!plan) return undefined;
    const specs = plan.backends.get(`${t.deployment}/${t.service}:${t.port}`);
    const me = specs?.find((s) => s.key === `${t.deployment}/${t.service}/${t.index}@${this.ctx.node}` && s.target.relay === undefined && s.state === "ready");
    return me ? { host: me.target.host, port: me.target.port } : undefined;
  }

  /**
   * Before the reconciler stops one of this node's containers: if it backs an
   * ingress route, take it out of rotation here and, in a cluster, mark it
   * draining in the replicated state so every node stops sending it new work
   * and closes its idle connections to it; then wait until its requests are
   * done: this node's own, and the connections other nodes hold through the
   * relay (at least drain_settle, for the mark to spread; at most
   * drain_timeout; core/ingress/drain.ts).
   */
  async beforeStop(project: Project, container: string): Promise<void> {
    const server = this.server;
    if (!server || !this.running) return;
    const replica = replicaOfName(project, container);
    if (!replica) return;
    const targets = this.plan?.backends;
    const key = `${project.name}/${replica.service}/${replica.index}@${this.ctx.node}`;
    if (!targets || ![...targets.values()].some((specs) => specs.some((s) => s.key === key))) return;
    const cfg = this.ctx.config.ingress;
    const mark = `${project.name}/${replica.service}/${replica.index}`;
    this.draining.add(mark);
    const node = this.o.membership.current;
    if (node) {
      const rec = listContainers(node.state, project.name, replica.service).find((c) => c.index === replica.index && c.nodeId === this.ctx.node);
      const id = rec?.containerId ?? (await this.o.engine.containers.find(container).catch(() => undefined))?.Id;
      if (id) node.mutate((s, ts) => putIngressRecord(s, ts, drainKey(project.name, replica.service, replica.index, this.ctx.node), { kind: "drain", container: id, since: Date.now() }));
    }
    const t0 = this.ctx.now();
    this.wake();
    const inFlight = () => server.inFlight(key) + (this.relay?.connectionsTo(mark) ?? 0);
    for (;;) {
      const s = drainState(t0, this.ctx.now(), inFlight(), { settleMs: cfg.drain_settle, timeoutMs: cfg.drain_timeout });
      if (s.kind === "done") {
        if (s.why === "timeout") this.ctx.logger.warn({ container, inFlight: server.inFlight(key), relayed: this.relay?.connectionsTo(mark) ?? 0 }, "drain timed out; stopping with requests or connections in flight");
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // The local mark stays until the replica is gone (a restarted replica with the same number is a new one);
    // the replicated one names the container, and the pass deletes it once that container is gone.
    setTimeout(() => this.draining.delete(mark), cfg.drain_timeout).unref?.();
  }

  /**
   * Before a deployment is accepted (fizz up on any node): its ingress claims
   * against every other deployment's, refused with both places named.
   */
  admit(name: string, project: Project): void {
    if (!this.ctx.config.ingress.enabled) return;
    const node = this.o.membership.current;
    const existing: DeploymentInput[] = node
      ? listDeployments(node.state).map(([id, rec]) => ({ id, created: rec.created, project: rec.spec as unknown as Project }))
      : this.ctx.store.listDeployments().map((d) => ({ id: d.name, created: String(d.createdAt).padStart(16, "0"), project: d.spec as Project }));
    const reports = deploymentConflicts(existing, name, project, node !== undefined);
    if (reports.length === 0) return;
    throw new FizzError({
      code: "ingress.conflict",
      status: 409,
      message: reports.map((r) => `${placeText(r.path)}: ${r.message}`).join("; "),
      hint: reports[0]!.hint,
    });
  }

  certificates(): unknown {
    return this.tls.certificates();
  }

  addCertificate(name: string, certPem: string, keyPem: string): unknown {
    const view = this.tls.addUserCert(name, certPem, keyPem);
    recordEvent(this.ctx, { type: "ingress.cert_added", message: `certificate ${name} added for ${view.names.join(", ")} (valid until ${view.not_after}); every node serves it`, data: { name, names: [...view.names] } });
    return view;
  }

  removeCertificate(name: string): boolean {
    const ok = this.tls.removeUserCert(name);
    if (ok) recordEvent(this.ctx, { type: "ingress.cert_removed", message: `certificate ${name} removed`, data: { name } });
    return ok;
  }

  /** GET /v1/ingress */
  ingressStatus(): unknown {
    const plan = this.plan;
    const live = this.server?.status();
    return {
      node: this.ctx.node,
      enabled: this.ctx.config.ingress.enabled,
      clustered: this.clustered,
      routed_by: this.routedBy.length ? this.routedBy : [this.ctx.node],
      relay: this.relay ? { port: this.relay.port, connections: this.relay.connections() } : null,
      listeners: live?.listeners ?? [],
      l4: (plan?.table.l4 ?? []).map((r) => ({ port: r.port, protocol: r.kind, project: r.service.project, service: r.service.service, target: r.target, proxy_protocol: r.proxyProtocol ?? null, from: placeText(r.place) })),
      http: (plan?.table.http ?? []).map((h) => ({
        port: h.port,
        tls: h.tls,
        routes: h.routes.map((r) => ({ hosts: r.hosts, path: r.path, project: r.service.project, service: r.service.service, target: r.target, from: placeText(r.place) })),
      })),
      targets: live?.targets ?? [],
      conflicts: (plan?.table.conflicts ?? []).map((c) => ({ what: c.what, kept: `${c.kept.service.project}: ${placeText(c.kept.place)}`, refused: `${c.refused.service.project}: ${placeText(c.refused.place)}` })),
      tls: this.tls.status(),
      certificates: this.tls.certificates(),
    };
  }
}
