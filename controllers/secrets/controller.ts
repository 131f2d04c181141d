/**
 * The secrets controller: the master key's seal state on this node
 * (keyring.ts), stored secrets (catalog.ts), delivery of a container's
 * secrets and configs on tmpfs and their rotation (delivery.ts), the
 * `fizz secret` API (platform/api/routes-secrets.ts). Its loop runs on every
 * cluster-state, membership and engine change and every `secrets.interval`.
 * The deployments controller calls `prepareContainer` before it creates a
 * container that uses secrets or configs.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { FizzError } from "../../core/errors.ts";
import type { Project, SealedSource } from "../../core/compose/model.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import { MAX_SECRET_BYTES } from "../../core/limits.ts";
import { decryptAge } from "../../core/secrets/age.ts";
import type { Aead } from "../../core/secrets/age-stream.ts";
import { jsAead } from "../../core/secrets/aead-js.ts";
import { clusterIdentity, identityFromScalar, recipientOfIdentity, type AgeKeyPair } from "../../core/secrets/keys.ts";
import { decryptSops } from "../../core/secrets/sops.ts";
import { identityNeededBy } from "../../core/secrets/identity-use.ts";
import { storedPaths } from "../../core/secrets/delivery.ts";
import { KEYRING_KEY, fromBase64, listNodes, touchesAny, type Collection, type SealRecord } from "../../core/state/index.ts";
import type { RouteModule } from "../../platform/api/router.ts";
import { secretsRoutes, type SecretsApi } from "../../platform/api/routes-secrets.ts";
import type { Engine } from "../../platform/engine/index.ts";
import { loadNativeAead } from "../../platform/secrets/aead.ts";
import { checkRecipients, encryptAge } from "../../platform/secrets/age-encrypt.ts";
import { ensureMemoryBacked, filesystemOf, listContainerDirs, MEMORY_FS, unmountIfMounted } from "../../platform/secrets/files.ts";
import { existsSync } from "node:fs";
import type { Change } from "../changes.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import { Catalog, checkPath } from "./catalog.ts";
import { Deliveries } from "./delivery.ts";
import { KeyHolder } from "./keyring.ts";
import { SecretsState } from "./state.ts";

/** What a pass reads of the cluster state: the keyring and secrets, the nodes, the deployments' specs. A peer's container records, claims or acks (most of a deploy's gossip) do not wake it. */
const SECRETS_READS: ReadonlySet<Collection> = new Set<Collection>(["secrets", "nodes", "deployments"]);

/** This node's age identity (its share is encrypted to it): a key file, 0600, not a database row. */
const IDENTITY_FILE = "secrets-node-identity";

export interface SecretsControllerDeps {
  readonly membership: ClusterAgent;
  readonly engine: Engine;
  /** Runs work on a deployment's containers between its passes (the deployments controller's lock). */
  readonly exclusive?: <T>(deployment: string, fn: () => Promise<T>) => Promise<T>;
}

export class SecretsController implements Controller, SecretsApi {
  readonly name = "secrets";
  readonly routes: readonly RouteModule[];
  readonly state: SecretsState;
  readonly keys: KeyHolder;
  readonly catalog: Catalog;
  readonly deliveries: Deliveries;
  private aead: Aead = jsAead;
  private rootDir: string | undefined;
  private rootReady: Promise<string> | undefined;
  /** The empty tmpfs being unmounted (releaseRoot). */
  private unmounting: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly ctx: AgentContext,
    private readonly d: SecretsControllerDeps,
  ) {
    const identity = this.nodeIdentity();
    // The subject of an event (deployment, service, container) is also where `fizz events --filter` looks for it.
    const emit = (type: string, message: string, data?: Record<string, unknown>) => recordEvent(ctx, { type, message, ...subjectOf(data), ...(data ? { data } : {}) });
    this.state = new SecretsState(ctx.node, ctx.store, d.membership, ctx.now);
    const aead = { get: () => this.aead };
    this.keys = new KeyHolder({
      node: ctx.node,
      state: this.state,
      identity,
      get aead() {
        return aead.get();
      },
      now: ctx.now,
      alive: () => this.alive(),
      left: () => this.left(),
      mayCreate: () => this.mayCreate(),
      emit,
    });
    this.catalog = new Catalog({
      node: ctx.node,
      state: this.state,
      keys: this.keys,
      get aead() {
        return aead.get();
      },
      now: ctx.now,
      maxBytes: MAX_SECRET_BYTES,
      usedBy: (p) => this.usedBy(p),
      emit,
    });
    this.deliveries = new Deliveries({
      node: ctx.node,
      root: () => this.root(),
      rootIfReady: () => this.rootDir,
      catalog: this.catalog,
      keys: this.keys,
      get aead() {
        return aead.get();
      },
      engine: d.engine,
      exclusive: d.exclusive ?? ((_name, fn) => fn()),
      emit,
      log: ctx.logger,
    });
    this.routes = [secretsRoutes(this)];
    d.membership.onMember(async () => {
      const dropped = this.state.adoptIntoCluster();
      if (dropped.length) emit("secrets.dropped", `this node joined a cluster with its own master key; its local secrets ${dropped.join(", ")} were not carried over (re-create them)`, { dropped });
      await this.pass();
    });
  }

  /** This node's age identity: made once, kept in the store (the share minted for it opens with it). */
  private nodeIdentity(): AgeKeyPair {
    const saved = this.ctx.store.keys.read(IDENTITY_FILE)?.trim();
    if (saved && recipientOfIdentity(saved)) return { identity: saved, recipient: recipientOfIdentity(saved)! };
    const kp = identityFromScalar(Uint8Array.from(randomBytes(32)));
    this.ctx.store.keys.write(IDENTITY_FILE, `${kp.identity}\n`);
    return kp;
  }

  private alive(): ReadonlySet<string> {
    const n = this.d.membership.current;
    if (!n) return new Set([this.ctx.node]);
    return new Set(n.members().filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.id));
  }

  /** Members that left the cluster: SWIM says so, or their row in the cluster state does (it outlives SWIM's memory of them). */
  private left(): ReadonlySet<string> {
    const n = this.d.membership.current;
    if (!n) return new Set();
    const out = new Set(n.members().filter((m) => m.state === "left").map((m) => m.id));
    for (const [id, info] of listNodes(n.state)) if (info.state === "left") out.add(id);
    return out;
  }

  /** A single node makes its key on first start; a cluster without one gets it from its lowest live member. */
  private mayCreate(): boolean {
    if (!this.state.clustered) return true;
    const n = this.d.membership.settledNode;
    if (!n) return false;
    const alive = [...this.alive()].sort();
    return alive[0] === this.ctx.node;
  }

  /** The delivery directory, made memory-backed on first need (an agent that never delivers mounts nothing). */
  private async root(): Promise<string> {
    // A tmpfs being taken away is gone first: then mounted again (never written to while it goes).
    while (this.unmounting) await this.unmounting;
    if (this.rootDir) {
      // Checked before every write: a directory that stopped being memory-backed (unmounted behind our back) must never get a value.
      const fs = filesystemOf(this.rootDir);
      if (existsSync(this.rootDir) && fs && MEMORY_FS.has(fs)) return this.rootDir;
      this.rootDir = undefined;
      this.rootReady = undefined;
    }
    this.rootReady ??= (async () => {
      const dir = this.rootPath();
      try {
        const r = await ensureMemoryBacked(dir, this.ctx.config.secrets.tmpfs_size);
        this.rootDir = dir;
        this.ctx.logger.info({ dir, fs: r.fs, mounted: r.mounted }, "secrets are delivered on memory-backed storage");
        return dir;
      } catch (e) {
        this.rootReady = undefined;
        const err = e instanceof FizzError ? e : new FizzError({ code: "secrets.not_memory_backed", message: String(e) });
        recordEvent(this.ctx, { type: "secrets.delivery_unavailable", message: `secrets cannot be delivered on this node: ${err.message}` });
        throw err;
      }
    })();
    return this.rootReady;
  }

  private rootPath(): string {
    const c = this.ctx.config.secrets;
    return c.dir || join(process.getuid?.() === 0 ? "/run/fizz/secrets" : `${process.env.XDG_RUNTIME_DIR || "/tmp"}/fizz-secrets`, this.ctx.node);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.aead = await loadNativeAead();
    // Files delivered by an earlier run (containers still running) are rotated and collected as before.
    const dir = this.rootPath();
    const fs = filesystemOf(dir);
    if (existsSync(dir) && fs && MEMORY_FS.has(fs)) this.rootDir = dir;
    this.wake(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
    this.state.flush();
    await this.releaseRoot();
  }

  /**
   * Nothing delivered is left on this node (no container's files, none being
   * written): the tmpfs the agent mounted goes, as after the last container
   * of the last deployment using secrets went (`fizz down`); the next
   * delivery mounts it again. A directory that was memory-backed already
   * (not Fizz's mount) stays.
   */
  private async releaseRoot(): Promise<void> {
    const dir = this.rootDir;
    if (!dir || this.deliveries.writing() || listContainerDirs(dir).length > 0) return;
    // From here a delivery waits in root() for the unmount, then mounts again.
    this.rootDir = undefined;
    this.rootReady = undefined;
    this.unmounting = unmountIfMounted(dir)
      .catch((e: unknown) => this.ctx.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "removing the empty secrets tmpfs failed"))
      .finally(() => (this.unmounting = undefined));
    await this.unmounting;
  }

  onChange(c: Change): void {
    if ((c.kind === "cluster-state" && touchesAny(c.scope, SECRETS_READS)) || c.kind === "membership" || c.kind === "deployment" || (c.kind === "engine" && (c.action === "destroy" || c.action === "start"))) this.wake(50);
  }

  private wake(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pass();
    }, ms);
    this.timer.unref?.();
  }

  /** One pass: seal protocol, then rotation and cleanup. Overlapping wakes fold into one more pass. */
  async pass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        await this.keys.pass();
        this.catalog.settle();
        if (this.rootDir) await this.deliveries.pass((name) => this.project(name));
        await this.releaseRoot();
      } catch (e) {
        this.ctx.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "secrets pass failed");
      }
    })().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake(50);
      } else this.wake(this.ctx.config.secrets.interval);
    });
    return this.running;
  }

  private projects(): Project[] {
    return this.ctx.store.listDeployments().map((d) => d.spec as Project).filter((p) => p && typeof p === "object" && typeof p.name === "string");
  }

  private project(name: string): Project | undefined {
    return this.projects().find((p) => p.name === name);
  }

  /** deployment/service pairs that use a stored secret. */
  usedBy(path: string): string[] {
    const out: string[] = [];
    for (const p of this.projects()) {
      for (const s of Object.values(p.services ?? {})) {
        const uses = (refs: { source: string }[], defs: Record<string, { sealed?: SealedSource }>) => refs.some((r) => defs[r.source]?.sealed?.kind === "stored" && (defs[r.source]!.sealed as { path: string }).path === path);
        if (uses(s.secrets ?? [], p.secrets ?? {}) || uses(s.configs ?? [], p.configs ?? {})) out.push(`${p.name}/${s.name}`);
      }
    }
    return out.sort();
  }

  /** Called by the deployments controller before it creates a container: files written, mounts returned. */
  prepareContainer(project: Project, service: string, container: string): Promise<MountSpec[]> {
    return this.deliveries.prepare(project, service, container);
  }

  /** Called by the deployments controller before it starts a container: files that went (a reboot) are written again. */
  prepareStart(project: Project, service: string, container: string): Promise<void> {
    return this.deliveries.ensure(project, service, container);
  }

  /**
   * Called by the deployments controller in the pass that applies a user's
   * change (under the deployment's lock): the delivered files of its
   * containers here brought up to date now, restarts included, rather than
   * at this controller's next pass.
   */
  filesCurrent(project: Project, versions?: Readonly<Record<string, number>>): Promise<void> {
    return this.deliveries.current(project, versions);
  }

  /** The current version of each stored secret and config the project uses, as this node holds them (for a change's intent). */
  versions(project: Project): Record<string, number> {
    const out: Record<string, number> = {};
    for (const path of storedPaths(project)) {
      const v = this.catalog.meta(path)?.current;
      if (v !== undefined) out[path] = v;
    }
    return out;
  }

  // ---- SecretsApi -------------------------------------------------------------

  list() {
    return this.catalog.list();
  }
  inspect(path: string) {
    return this.catalog.inspect(path);
  }
  create(path: string, value: Uint8Array, o: Parameters<Catalog["create"]>[2]) {
    return this.catalog.create(path, value, o);
  }
  async rotate(path: string, value: Uint8Array) {
    const r = await this.catalog.rotate(path, value);
    this.wake(0);
    return r;
  }
  async rollback(path: string, version: number) {
    const r = await this.catalog.rollback(path, version);
    this.wake(0);
    return r;
  }
  remove(path: string) {
    this.catalog.remove(path);
  }
  grant(path: string, target: string, revoke: boolean) {
    return this.catalog.grant(path, target, revoke);
  }
  async export(path: string, recipients: string[], armor: boolean): Promise<Uint8Array> {
    checkRecipients(recipients);
    const value = await this.catalog.value(checkPath(path));
    try {
      const out = await encryptAge(value, recipients, { armor, aead: this.aead });
      recordEvent(this.ctx, { type: "secret.exported", message: `secret ${path} exported, encrypted to ${recipients.join(", ")}`, data: { secret: path, recipients } });
      return out;
    } catch (e) {
      if (e instanceof FizzError) throw e; // a recipient that is not one (checkRecipients), named
      throw new FizzError({ code: "secrets.bad_recipient", message: `cannot encrypt to ${recipients.join(", ")}: ${e instanceof Error ? e.message : String(e)}`, status: 400 });
    } finally {
      value.fill(0);
    }
  }
  seal() {
    const up = this.alive();
    type Row = { node: string; state: SealRecord["state"] | "unknown"; reason: string; since: number };
    const nodes = this.state.list("seal/").flatMap(([k, r]): Row[] => {
      if (r.type !== "seal") return [];
      const node = k.slice("seal/".length);
      // A node that is down holds no key now, whatever it said last: unknown, with its last word.
      if (!up.has(node)) return [{ node, state: "unknown", reason: `node is down; last reported ${r.state}: ${r.reason}`, since: r.since }];
      return [{ node, state: r.state, reason: r.reason, since: r.since }];
    });
    return { self: this.keys.status(), nodes };
  }
  async unseal(share: string) {
    const r = await this.keys.submitRecovery(share);
    this.wake(0);
    return r;
  }
  recovery(threshold: number, shares: number) {
    return this.keys.makeRecovery(threshold, shares);
  }
  recipient(): string {
    const kr = this.state.get(KEYRING_KEY);
    if (kr?.type !== "keyring") throw new FizzError({ code: "secrets.no_keyring", message: "this cluster has no master key yet", status: 503 });
    return kr.recipient;
  }
  identities() {
    return this.catalog.identitiesList();
  }
  importIdentity(name: string, identity: string) {
    return this.catalog.importIdentity(name, identity);
  }
  /**
   * Removes an imported identity, unless a deployment's age or SOPS value
   * opens with it and not without it (then nothing could deliver that value):
   * refused naming each deployment and file, as `fizz secret rm` refuses a
   * secret in use.
   */
  async removeIdentity(name: string) {
    if (!this.catalog.identitiesList().some((i) => i.name === name)) return this.catalog.removeIdentity(name); // its own not-found error
    const key = this.keys.need(`check which deployments need identity ${name}`);
    const named = await this.catalog.namedIdentities();
    const it = named.find((i) => i.name === name);
    const others = [clusterIdentity(key).identity, ...named.filter((i) => i.name !== name).map((i) => i.identity)];
    const needs = it ? await identityNeededBy(this.projects(), it.identity, others, this.aead) : [];
    if (needs.length) {
      const what = needs.map((n) => `deployment ${n.deployment} (${n.uses.map((u) => (u.file ? `${u.id} from ${u.file}` : u.id)).join(", ")})`).join("; ");
      throw new FizzError({
        code: "secrets.identity_in_use",
        message: `identity ${name} is the only key that opens the encrypted files of ${what}`,
        hint: `encrypt those files again to the cluster's recipient too (fizz secret encrypt) and fizz up, or fizz down the deployment${needs.length > 1 ? "s" : ""}; then remove ${name}`,
        status: 409,
      });
    }
    this.catalog.removeIdentity(name);
  }

  /** Can the cluster open these GitOps values? Decrypts in memory to check (MAC, tags), keeps nothing. */
  async verify(items: { id: string; source: Extract<SealedSource, { kind: "age" | "sops" }> }[], project: string) {
    const key = this.keys.need(`check the encrypted values of project ${project}`);
    const identities = [clusterIdentity(key).identity, ...(await this.catalog.identities())];
    const out: { id: string; ok: boolean; code?: string; message?: string }[] = [];
    for (const { id, source } of items) {
      if (source.kind === "age") {
        const r = await decryptAge(fromBase64(source.data), identities, this.aead);
        if (r.ok) {
          const tooBig = r.plaintext.length > MAX_SECRET_BYTES;
          r.plaintext.fill(0);
          out.push(tooBig ? { id, ok: false, code: "secrets.too_large", message: `the decrypted value is ${r.plaintext.length} bytes, over the secret size limit (1 MiB)` } : { id, ok: true });
        } else out.push({ id, ok: false, code: `secrets.age_${r.kind}`, message: r.message });
      } else {
        const r = await decryptSops(source.data, identities, this.aead, source.key);
        if (r.ok) {
          const tooBig = r.value.length > MAX_SECRET_BYTES;
          r.value.fill(0);
          out.push(tooBig ? { id, ok: false, code: "secrets.too_large", message: "the selected value is over the secret size limit (1 MiB)" } : { id, ok: true });
        } else out.push({ id, ok: false, code: `secrets.sops_${r.kind}`, message: r.message + (r.line ? ` (line ${r.line} of the SOPS file)` : "") });
      }
    }
    return out;
  }

  async upload(project: string, items: { path: string; kind: "secret" | "config"; value: Uint8Array }[]) {
    const out: { path: string; changed: boolean; version: number }[] = [];
    for (const it of items) out.push({ path: it.path, ...(await this.catalog.upsert(it.path, it.kind, project, it.value)) });
    if (out.some((o) => o.changed)) this.wake(0);
    return out;
  }
}

/** An event's deployment, service and container, lifted from its data. */
function subjectOf(data: Record<string, unknown> | undefined): { deployment?: string; service?: string; container?: string } {
  const out: { deployment?: string; service?: string; container?: string } = {};
  for (const k of ["deployment", "service", "container"] as const) if (typeof data?.[k] === "string") out[k] = data[k];
  return out;
}
