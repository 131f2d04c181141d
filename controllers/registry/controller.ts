/**
 * The registry controller: the node's OCI registry (platform/registry) on
 * `registry.listen` (loopback by default; other addresses require the
 * cluster's registry credentials), a pull-through cache for any upstream,
 * and, in a cluster, a peer listener (mutual TLS, credentials from the
 * cluster key) from which other nodes fetch what this node holds. It keeps
 * this node's rows of the replicated `registry` collection true (peer
 * address, holders, tags pushed here), applies tags pushed elsewhere, runs
 * GC on a timer, and gives the deployments controller `pin` and `ensure`
 * (images.ts) so a deployment's images come through the registry.
 */
import { join } from "node:path";
import { formatHostPort, parseHostPort, type HostPort } from "../../core/address.ts";
import type { Project } from "../../core/compose/model.ts";
import { deleteRegistryTag, putRegistryTag, registryTags, touchesAny, type Collection } from "../../core/state/index.ts";
import { namespaceOf, registryMetaFields, type Digest, type RepoName } from "../../core/registry/index.ts";
import type { RouteModule } from "../../platform/api/router.ts";
import { registryRoutes, type RegistryApi } from "../../platform/api/routes-registry.ts";
import type { Engine } from "../../platform/engine/index.ts";
import type { RegistryListener } from "../../platform/registry/server.ts";
import type { Registry } from "../../platform/registry/registry.ts";
import type { ManifestRow, TagRow } from "../../platform/registry/meta.ts";
import type { UpstreamClient } from "../../platform/registry/upstream.ts";
import type { RegistryMetrics } from "../../platform/registry/metrics.ts";
import type { Change } from "../changes.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import { pinnedDigests, runGc, type GcReport } from "./gc.ts";
import { DeploymentImages, pinOf } from "./images.ts";
import { ClusterPeers } from "./peers.ts";
import { isLoopback, REGISTRY_USER, RegistryAuth } from "./auth.ts";

/** The collections a registry sync reads. */
const REGISTRY_READS: ReadonlySet<Collection> = new Set<Collection>(["registry", "nodes"]);

/** What the deployments controller asks of the registry (absent when it is disabled). */
export interface DeploymentImageHooks {
  pin(project: Project, o: { pull?: string; build?: boolean }): Promise<Project>;
  /** Makes the engine's images match the pins; true when it pulled or retagged something (the engine's images changed). */
  ensure(project: Project, services: readonly string[]): Promise<boolean>;
  /** Services whose image the registry delivers (pinned): a node pulls those, it does not build them. */
  pinned(project: Project): string[];
}

export interface RegistryControllerDeps {
  readonly engine: Engine;
  readonly membership: ClusterAgent;
  /** Every deployment this node knows (its store and the cluster's), for GC's in-use set. */
  readonly deployments: () => Iterable<Project>;
}


function splitHostPort(addr: string): HostPort {
  const r = parseHostPort(addr, { allowZero: true });
  if (!r.ok) throw new Error(`'${addr}' is not <host>:<port>: ${r.why}`);
  return r.value;
}

const hostPort = formatHostPort;

export class RegistryController implements Controller, DeploymentImageHooks, RegistryApi {
  readonly name = "registry";
  readonly routes: readonly RouteModule[];
  private registry: Registry | undefined;
  private upstream: UpstreamClient | undefined;
  private peers: ClusterPeers | undefined;
  private images: DeploymentImages | undefined;
  private metrics: RegistryMetrics | undefined;
  private listener: RegistryListener | undefined;
  private peerListener: RegistryListener | undefined;
  private peerTlsKey = "";
  private timers: ReturnType<typeof setInterval>[] = [];
  private dirty = false;
  /** The cluster keyring the last sync saw (a rotation changes the peer listener's TLS). */
  private syncedKeyring: unknown;
  private syncing: Promise<void> | undefined;
  private address = "";
  private auth: RegistryAuth | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly d: RegistryControllerDeps,
  ) {
    this.routes = [registryRoutes(this)];
  }

  private get log() {
    return this.ctx.logger;
  }

  async start(): Promise<void> {
    const cfg = this.ctx.config.registry;
    if (!cfg.enabled) return;
    const [{ Registry }, { UpstreamClient }, { RemoteSources }, { registryHandler }, { listenRegistry }, { dockerConfigPath, dockerCredentials }, { EngineImages }, { registryMetrics }] = await Promise.all([
      import("../../platform/registry/registry.ts"),
      import("../../platform/registry/upstream.ts"),
      import("../../platform/registry/remote.ts"),
      import("../../platform/registry/http.ts"),
      import("../../platform/registry/server.ts"),
      import("../../platform/registry/credentials.ts"),
      import("../../platform/registry/engine-images.ts"),
      import("../../platform/registry/metrics.ts"),
    ]);
    const metrics = (this.metrics = registryMetrics(this.ctx.metrics.registry));
    const peers = (this.peers = new ClusterPeers(this.d.membership, this.log));
    const registry = (this.registry = new Registry({
      root: join(this.ctx.config.data_dir, "registry"),
      now: this.ctx.now,
      prefetch: cfg.prefetch,
      hooks: {
        stored: (d, size) => peers.note(d, size),
        deleted: (d) => peers.note(d, null),
        tagged: (repo, tag, d) => this.publishTag(repo, tag, d),
        untagged: (repo, tag) => this.publishTag(repo, tag, undefined),
        served: (kind, hit) => (hit ? metrics.hit(kind) : undefined),
        prefetched: (d, e) => {
          metrics.prefetched(e === undefined);
          if (e !== undefined) this.log.debug({ digest: d, err: e instanceof Error ? e.message : String(e) }, "fetching a blob ahead of the client failed (its client's request fetches it)");
        },
      },
    }));
    const configPath = dockerConfigPath(cfg.docker_config);
    this.upstream = new UpstreamClient({ insecure: cfg.insecure, credentials: (host) => dockerCredentials(configPath, host), userAgent: `fizz/${this.ctx.fizzVersion}` });
    registry.remote = new RemoteSources(registry, this.upstream, peers, {
      bytes: (from, n) => metrics.fetched(from, n),
      miss: (kind, from) => metrics.miss(kind, from),
      staleTag: (repo, tag, e) => this.log.warn({ repo, tag, err: e.message }, "upstream unreachable: serving the cached tag"),
      error: (what, e) => this.log.info({ err: e instanceof Error ? e.message : String(e) }, `fetching ${what} failed; trying the next source`),
    });
    const auth = (this.auth = new RegistryAuth(this.ctx.config.data_dir, () => this.d.membership.currentKeyring));
    const handler = registryHandler(registry, {
      authorize: (req) => auth.authorize(req),
      onServed: (n) => metrics.served(n),
      onError: (e, req) => this.log.debug({ err: e instanceof Error ? e.message : String(e), method: req.method, url: req.url?.slice(0, 200) }, "registry request failed"),
    });
    const want = splitHostPort(cfg.listen);
    try {
      this.listener = await listenRegistry(handler, want);
    } catch (e) {
      // The default port may be taken (another agent on this machine, a user's registry): any free one will do.
      if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE" || cfg.listen !== "127.0.0.1:5050") throw e;
      this.listener = await listenRegistry(handler, { host: want.host, port: 0 });
      this.log.warn({ wanted: cfg.listen, port: this.listener.port }, `registry port ${want.port} is taken; listening on ${this.listener.port} (set registry.listen to choose)`);
    }
    const host = this.listener.host === "0.0.0.0" || this.listener.host === "::" ? "127.0.0.1" : this.listener.host;
    this.address = hostPort(isLoopback(host) ? host : "127.0.0.1", this.listener.port);
    this.log.info({ address: hostPort(this.listener.host, this.listener.port), engine: this.address }, `registry listening on ${hostPort(this.listener.host, this.listener.port)}`);
    const { prepareProject } = await import("../../platform/deploy/project.ts");
    const { EngineExecutor } = await import("../../platform/deploy/engine-adapter.ts");
    const engineImages = new EngineImages(this.d.engine);
    this.images = new DeploymentImages({
      registry,
      engine: engineImages,
      address: () => this.address,
      ownHosts: () => this.ownHosts(),
      clustered: () => this.d.membership.current !== undefined,
      build: async (project, service, image) => {
        const prepared = prepareProject(project, { hostEnv: {} });
        await new EngineExecutor(this.d.engine, prepared.builds).buildImage(undefined, service, image, () => {});
      },
      announce: () => peers.flush(),
      log: (level, msg, data) => this.log[level](data ?? {}, msg),
    });
    this.sampleStore();
    this.timers.push(setInterval(() => registry.meta.flushAccess(), 30_000));
    this.timers.push(setInterval(() => this.markDirty(), 60_000));
    if (cfg.gc_interval > 0) this.timers.push(setInterval(() => void this.gc({ dryRun: false }).catch((e: unknown) => this.log.error({ err: e }, "registry GC failed")), cfg.gc_interval));
    for (const t of this.timers) t.unref?.();
    this.markDirty();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.syncing?.catch(() => {});
    await this.listener?.close();
    await this.peerListener?.close();
    await this.peers?.close();
    await this.upstream?.close();
    this.registry?.close();
    this.registry = undefined;
  }

  onChange(c: Change): void {
    // The sync reads the registry's rows (holders, peers, tags), the nodes and the keyring (peer TLS): not deployments or container records.
    if (c.kind === "membership" || (c.kind === "cluster-state" && (touchesAny(c.scope, REGISTRY_READS) || this.d.membership.currentKeyring !== this.syncedKeyring))) this.markDirty();
  }

  // ---- cluster sync (level-triggered) ----

  private markDirty(): void {
    this.dirty = true;
    this.syncing ??= (async () => {
      while (this.dirty && this.registry) {
        this.dirty = false;
        try {
          await this.sync();
        } catch (e) {
          this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "registry cluster sync failed");
        }
      }
    })().finally(() => (this.syncing = undefined));
  }

  private async sync(): Promise<void> {
    const registry = this.registry!;
    const peers = this.peers!;
    peers.invalidate();
    this.syncedKeyring = this.d.membership.currentKeyring;
    const node = this.d.membership.current;
    if (!node) {
      await this.peerListener?.close();
      this.peerListener = undefined;
      return;
    }
    await this.ensurePeerListener();
    const stored = new Map(registry.store.list().map((b) => [b.digest as string, b.size]));
    peers.reconcile(stored, this.peerAdvertise());
    // Tags pushed on any node name the same image on every node.
    const state = node.state;
    for (const t of registryTags(state)) {
      if (namespaceOf(t.repo).kind !== "local") continue;
      if (registry.meta.tag(t.repo, t.tag)?.digest !== t.digest) registry.meta.setTag(t.repo, t.tag, t.digest as Digest, this.ctx.now());
    }
    for (const [k, e] of Object.entries(state.registry)) {
      if (!e.deleted || !k.startsWith("t/")) continue;
      const i = k.lastIndexOf(":");
      const repo = k.slice(2, i);
      const tag = k.slice(i + 1);
      if (namespaceOf(repo).kind === "local" && registry.meta.tag(repo, tag)) registry.meta.deleteTag(repo, tag);
    }
  }

  private publishTag(repo: RepoName, tag: string, digest: Digest | undefined): void {
    const node = this.d.membership.current;
    if (!node || namespaceOf(repo).kind !== "local") return;
    try {
      node.mutate((s, ts) => (digest ? putRegistryTag(s, ts, repo, tag, digest) : deleteRegistryTag(s, ts, repo, tag)));
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e), repo, tag }, "publishing a pushed tag to the cluster failed");
    }
  }

  /**
   * Gossiped metadata: the peer listener's port, so every peer can reach
   * this node's registry from the moment it sees it alive (core/registry/
   * peer-address.ts). Read when the cluster node starts, before the listener
   * runs: the configured port, not the bound one. Nothing when the registry
   * is off, when `registry.peer_advertise` names the address (its record
   * is then the only source) or when the port is left to the system.
   */
  meta(): { labels: Record<string, string>; ports: Record<string, number> } | undefined {
    const cfg = this.ctx.config.registry;
    if (!cfg.enabled || cfg.peer_advertise) return undefined;
    const { port } = this.peerListenAddress();
    return port > 0 ? registryMetaFields(port) : undefined;
  }

  private peerListenAddress(): { host: string; port: number } {
    const cfg = this.ctx.config;
    if (cfg.registry.peer_listen) return splitHostPort(cfg.registry.peer_listen);
    const bind = splitHostPort(cfg.cluster.bind.includes(":") ? cfg.cluster.bind : `${cfg.cluster.bind}:7946`);
    return { host: bind.host, port: bind.port + 1 };
  }

  private peerAdvertise(): string | undefined {
    if (!this.peerListener) return undefined;
    if (this.ctx.config.registry.peer_advertise) return this.ctx.config.registry.peer_advertise;
    const node = this.d.membership.current;
    if (!node) return undefined;
    const { host } = splitHostPort(node.address);
    return hostPort(host, this.peerListener.port);
  }

  private async ensurePeerListener(): Promise<void> {
    const tls = this.peers!.serverTls();
    if (!tls) return;
    const key = tls.cert + tls.ca.join("");
    if (this.peerListener && key === this.peerTlsKey) return;
    const { registryHandler } = await import("../../platform/registry/http.ts");
    const { listenRegistry } = await import("../../platform/registry/server.ts");
    const old = this.peerListener;
    const want = this.peerListenAddress();
    await old?.close();
    this.peerListener = await listenRegistry(registryHandler(this.registry!, { peer: true, onServed: (n) => this.metrics?.served(n) }), {
      host: want.host,
      port: old?.port ?? want.port,
      tls: { cert: tls.cert, key: tls.key, ca: tls.ca.join("\n"), requestCert: true },
    });
    this.peerTlsKey = key;
    this.log.info({ address: hostPort(want.host, this.peerListener.port) }, "registry peer listener (mutual TLS) started");
  }

  credentials(): { username: string; password: string; address: string } | undefined {
    if (!this.listener || !this.auth) return undefined;
    return { username: REGISTRY_USER, password: this.auth.password(), address: hostPort(this.listener.host, this.listener.port) };
  }

  private ownHosts(): string[] {
    if (!this.listener) return [];
    const p = this.listener.port;
    return [...new Set([hostPort(this.listener.host, p), `127.0.0.1:${p}`, `localhost:${p}`, this.address])];
  }

  // ---- deployments ----

  async pin(project: Project, o: { pull?: string; build?: boolean }): Promise<Project> {
    return this.images ? this.images.pin(project, o) : project;
  }

  pinned(project: Project): string[] {
    return Object.values(project.services)
      .filter((s) => pinOf(s) !== undefined)
      .map((s) => s.name);
  }

  async ensure(project: Project, services: readonly string[]): Promise<boolean> {
    if (!this.images) return false;
    try {
      return await this.images.ensure(project, services);
    } catch (e) {
      recordEvent(this.ctx, { type: "registry.pull_failed", deployment: project.name, message: (e as Error).message });
      throw e;
    }
  }

  // ---- API ----

  async status(): Promise<unknown> {
    const registry = this.registry;
    if (!registry) return { enabled: false };
    const blobs = registry.store.list();
    const blobSize = new Map(blobs.map((b) => [b.digest as string, b.size]));
    const bytes = blobs.reduce((a, b) => a + b.size, 0);
    const byRepo = new Map<string, { manifests: Map<string, ManifestRow>; tags: TagRow[] }>();
    const group = (r: string) => byRepo.get(r) ?? byRepo.set(r, { manifests: new Map(), tags: [] }).get(r)!;
    for (const m of registry.meta.allManifests()) group(m.repo).manifests.set(m.digest, m);
    for (const t of registry.meta.allTags()) group(t.repo).tags.push(t);
    // A tag's size: its manifest and the blobs it references (an index counts its child manifests, not their layers).
    const sizeOf = (ms: Map<string, ManifestRow>, d: string) => {
      const m = ms.get(d);
      return m ? m.size + m.refs.reduce((a, ref) => a + (blobSize.get(ref) ?? 0), 0) : 0;
    };
    return {
      enabled: true,
      address: this.listener ? hostPort(this.listener.host, this.listener.port) : undefined,
      engineAddress: this.address,
      peerAddress: this.peerAdvertise(),
      blobs: blobs.length,
      bytes,
      repositories: registry.meta
        .repos()
        .sort()
        .map((r) => {
          const g = group(r);
          return {
            name: r,
            kind: namespaceOf(r).kind,
            manifests: g.manifests.size,
            tags: g.tags.map((t) => ({ tag: t.tag, digest: t.digest, size: sizeOf(g.manifests, t.digest) })),
          };
        }),
    };
  }

  async gc(o: { dryRun: boolean; graceMs?: number }): Promise<GcReport> {
    const registry = this.registry;
    if (!registry) throw Object.assign(new Error("the registry is not running on this node"), { status: 503 });
    registry.meta.flushAccess();
    const containers = await this.d.engine.containers.list({ all: true }).catch(() => []);
    const report = runGc(registry, {
      now: this.ctx.now(),
      graceMs: o.graceMs ?? this.ctx.config.registry.gc_grace,
      dryRun: o.dryRun,
      inUse: pinnedDigests(this.d.deployments()),
      engineImageIds: containers.map((c) => c.ImageID).filter((x): x is string => typeof x === "string"),
      onRemoved: (d) => this.peers?.note(d, null),
    });
    this.metrics?.gc(o.dryRun ? 0 : report.freedBytes, o.dryRun ? 0 : report.removed.blobs);
    this.sampleStore();
    if (!o.dryRun && report.removed.blobs > 0) {
      recordEvent(this.ctx, { type: "registry.gc", message: `registry GC removed ${report.removed.blobs} blobs (${report.freedBytes} bytes)`, data: { removed: report.removed, freedBytes: report.freedBytes } });
    }
    return report;
  }

  private sampleStore(): void {
    const list = this.registry?.store.list() ?? [];
    this.metrics?.stored(list.length, list.reduce((a, b) => a + b.size, 0));
  }

  /** For tests and the composition root: the registry's loopback address for this node's engine. */
  get engineAddress(): string {
    return this.address;
  }

  /** The running registry (tests). */
  get store(): Registry | undefined {
    return this.registry;
  }
}
