/**
 * Delivery on this node: before a container is created, its service's
 * secrets and configs are decrypted here (and only here) into the container's
 * directory on tmpfs and the mounts are handed to the executor; every
 * decryption for delivery is an event. Afterwards a pass rotates what
 * changed (new version of a stored secret, new ciphertext in the spec) and
 * removes the directories of containers that are gone.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { FizzError } from "../../core/errors.ts";
import type { Project } from "../../core/compose/model.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import { decryptAge } from "../../core/secrets/age.ts";
import type { Aead } from "../../core/secrets/age-stream.ts";
import { deliveryPlan, mayRead, rotateAction, secretsDirPath, sourceVersion, type DeliveryManifest, type FileDelivery } from "../../core/secrets/delivery.ts";
import { clusterIdentity } from "../../core/secrets/keys.ts";
import { decryptSops, formatKeyPath } from "../../core/secrets/sops.ts";
import { fromBase64 } from "../../core/state/index.ts";
import type { Engine } from "../../platform/engine/index.ts";
import { containerDir, listContainerDirs, prepareDirs, readManifest, removeDir, writeAtomic, writeManifest } from "../../platform/secrets/files.ts";
import type { Catalog } from "./catalog.ts";
import type { KeyHolder } from "./keyring.ts";

export interface DeliveryDeps {
  readonly node: string;
  /** The delivery directory; made memory-backed on first call. */
  readonly root: () => Promise<string>;
  /** The directory when it is ready already (rotation and cleanup never create it). */
  readonly rootIfReady: () => string | undefined;
  readonly catalog: Catalog;
  readonly keys: KeyHolder;
  readonly aead: Aead;
  readonly engine: Engine;
  /** Runs `fn` between the deployment's passes (a pass may be recreating the very container a rotation would restart). */
  readonly exclusive: <T>(deployment: string, fn: () => Promise<T>) => Promise<T>;
  readonly emit: (type: string, message: string, data?: Record<string, unknown>) => void;
  readonly log: { warn(o: object, m: string): void };
}

/** How long the pass applying a change waits for the stored values it was made with to arrive here (gossip). */
const VALUES_WAIT_MS = 30_000;

/** How long files written for a container that does not exist yet are kept (the create that follows takes well under this). */
const PREPARE_GRACE_MS = 60_000;

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

type Entry = DeliveryManifest["files"][number];

export class Deliveries {
  /** Containers whose files are being written, so the GC pass leaves them alone. */
  private readonly busy = new Set<string>();
  /** When each container's files were last written (before it exists, the GC waits PREPARE_GRACE_MS). */
  private readonly prepared = new Map<string, number>();

  constructor(private readonly d: DeliveryDeps) {}

  /** True while some container's files are being written (its directory may not be there yet). */
  writing(): boolean {
    return this.busy.size > 0;
  }

  /** The plaintext of one file and its version; throws a FizzError that says what is wrong. */
  async resolve(project: Project, service: string, f: FileDelivery): Promise<{ bytes: Uint8Array; version: string }> {
    const what = `${f.kind} ${f.name} of service ${service}`;
    const src = f.source;
    if (src.kind === "stored") {
      const meta = this.d.catalog.meta(src.path);
      if (!meta) throw new FizzError({ code: "secrets.not_found", message: `${what}: secret ${src.path} does not exist`, hint: `create it: fizz secret create ${src.path} FILE|-`, status: 404 });
      const ok = mayRead(src.path, meta, project.name, service);
      if (!ok.ok) throw new FizzError({ code: "secrets.forbidden", message: `${what}: ${ok.message}`, ...(ok.hint ? { hint: ok.hint } : {}), status: 403 });
      return { bytes: await this.d.catalog.value(src.path), version: sourceVersion(src, meta, digest)! };
    }
    const key = this.d.keys.need(`decrypt ${what}`);
    const identities = [clusterIdentity(key).identity, ...(await this.d.catalog.identities())];
    if (src.kind === "age") {
      const r = await decryptAge(fromBase64(src.data), identities, this.d.aead);
      if (!r.ok) throw new FizzError({ code: `secrets.age_${r.kind}`, message: `${what}: ${r.message}`, status: 400 });
      return { bytes: r.plaintext, version: sourceVersion(src, undefined, digest)! };
    }
    const r = await decryptSops(src.data, identities, this.d.aead, src.key);
    if (!r.ok) throw new FizzError({ code: `secrets.sops_${r.kind}`, message: `${what}: SOPS file${src.key.length ? ` value ${formatKeyPath(src.key)}` : ""}: ${r.message}`, status: 400 });
    return { bytes: r.value, version: sourceVersion(src, undefined, digest)! };
  }

  private fileFor(dir: string, f: FileDelivery, i: number): string {
    return f.inDirectory ? join(dir, "run-secrets", secretsDirPath(f.target)) : join(dir, "files", String(i));
  }

  /**
   * Writes a new container's files and returns the mounts to add to its
   * create body. Nothing is written for a service without secrets or configs.
   */
  async prepare(project: Project, serviceName: string, container: string): Promise<MountSpec[]> {
    const service = project.services[serviceName];
    if (!service) return [];
    const plan = deliveryPlan(project, service);
    if (!plan.ok) throw new FizzError({ code: "secrets.delivery", message: plan.message });
    if (plan.files.length === 0) return [];
    let root = await this.d.root();
    this.busy.add(container);
    // The empty tmpfs may have begun to go since root() answered (the agent unmounts it when nothing is delivered):
    // then it is mounted again first. Once busy, it stays.
    while (this.d.rootIfReady() !== root) {
      this.busy.delete(container);
      root = await this.d.root();
      this.busy.add(container);
    }
    try {
      const dir = containerDir(root, container);
      prepareDirs(dir);
      const files: Entry[] = [];
      for (const [i, f] of plan.files.entries()) {
        const { bytes, version } = await this.resolve(project, serviceName, f);
        const file = this.fileFor(dir, f, i);
        writeAtomic(file, bytes, f);
        bytes.fill(0);
        files.push({ ...f, version, file });
        this.audit(container, project.name, serviceName, f, version);
      }
      writeManifest(dir, { container, project: project.name, service: serviceName, rotate: plan.rotate ?? null, signal: plan.signal, files });
      const mounts: MountSpec[] = [];
      if (files.some((f) => f.inDirectory)) mounts.push({ Type: "bind", Source: join(dir, "run-secrets"), Target: "/run/secrets", ReadOnly: true });
      for (const f of files) if (!f.inDirectory) mounts.push({ Type: "bind", Source: f.file, Target: f.target, ReadOnly: true });
      return mounts;
    } finally {
      this.prepared.set(container, Date.now());
      this.busy.delete(container);
    }
  }

  /**
   * Before an existing container starts: when its files are gone (the tmpfs
   * did not survive a reboot, or was unmounted) they are written again at the
   * same paths, which its mounts name. Nothing to do when they are there.
   */
  async ensure(project: Project, serviceName: string, container: string): Promise<void> {
    const service = project.services[serviceName];
    if (!service) return;
    const plan = deliveryPlan(project, service);
    if (!plan.ok || plan.files.length === 0) return;
    const ready = this.d.rootIfReady();
    if (ready && readManifest(containerDir(ready, container))) return;
    await this.prepare(project, serviceName, container);
    this.d.emit("secret.redelivered", `the secrets and configs of container ${container} were gone (a reboot empties the tmpfs): written again before it starts`, { container, service: serviceName, deployment: project.name, node: this.d.node });
  }

  private audit(container: string, project: string, service: string, f: FileDelivery, version: string): void {
    const secret = f.source.kind === "stored" ? f.source.path : `${project}/${f.kind}s.${f.name} (${f.source.kind})`;
    this.d.emit("secret.delivered", `${f.kind} ${secret} ${version} decrypted for container ${container} (${f.target})`, { secret, version, container, service, deployment: project, target: f.target, node: this.d.node });
  }

  /**
   * Rotation and cleanup: for each container directory, removes it when the
   * container is gone, else brings changed files up to date as the service's
   * rotate policy says. `projects` gives the current spec of a deployment.
   */
  async pass(projects: (name: string) => Project | undefined): Promise<void> {
    const root = this.d.rootIfReady();
    if (!root) return;
    const names = new Set<string>();
    for (const c of await this.d.engine.containers.list({ all: true })) for (const n of c.Names) names.add(n.replace(/^\//, ""));
    for (const container of listContainerDirs(root)) {
      if (this.busy.has(container)) continue;
      const dir = join(root, container);
      if (!names.has(container)) {
        // Written for a container that is about to be created: leave it a minute to appear.
        if (!(this.prepared.get(container)! > Date.now() - PREPARE_GRACE_MS)) {
          removeDir(dir);
          this.prepared.delete(container);
        }
        continue;
      }
      this.prepared.delete(container); // it exists: from now on, its going removes the files
      const first = readManifest(dir);
      if (!first) continue;
      await this.d
        .exclusive(first.project, () => this.rotateIfThere(container, dir, projects))
        .catch((e: unknown) => this.d.log.warn({ err: e instanceof Error ? e.message : String(e), container }, "rotating delivered secrets failed"));
    }
  }

  /**
   * The files of one deployment's containers on this node brought up to the
   * versions the cluster holds now, as `pass` would, for a caller that holds
   * the deployment's lock already (the pass that applies a user's change, so
   * `fizz up` of a new config value returns once the restart it needs is done).
   */
  async current(project: Project, want: Readonly<Record<string, number>> = {}): Promise<void> {
    const root = this.d.rootIfReady();
    if (!root) return;
    const mine = listContainerDirs(root).filter((c) => !this.busy.has(c) && readManifest(join(root, c))?.project === project.name);
    // The values the change was made with travel apart from it: wait (bounded) for those this node's containers use.
    const used = new Set(mine.flatMap((c) => (readManifest(join(root, c))?.files ?? []).flatMap((f) => (f.source.kind === "stored" ? [f.source.path] : []))));
    const late = () => Object.entries(want).filter(([path, v]) => used.has(path) && (this.d.catalog.meta(path)?.current ?? 0) < v);
    const deadline = Date.now() + VALUES_WAIT_MS;
    while (late().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const missing = late();
    if (missing.length) {
      throw new FizzError({ code: "secrets.delivery", message: `${missing.map(([p, v]) => `version ${v} of ${p}`).join(", ")} did not reach this node within ${VALUES_WAIT_MS / 1000} s` });
    }
    for (const container of mine) await this.rotateIfThere(container, join(root, container), (name) => (name === project.name ? project : undefined));
  }

  /** Under the deployment's lock: read the manifest again (a pass may have recreated the container since: its new files are current). */
  private async rotateIfThere(container: string, dir: string, projects: (name: string) => Project | undefined): Promise<void> {
    const m = readManifest(dir);
    const project = m && projects(m.project);
    if (!m || !project) return;
    const state = (await this.d.engine.containers.find(container))?.State;
    if (state) await this.rotate(container, dir, m, project, state.Running);
  }

  private async rotate(container: string, dir: string, m: DeliveryManifest, project: Project, running: boolean): Promise<void> {
    const service = project.services[m.service];
    if (!service) return;
    const plan = deliveryPlan(project, service);
    if (!plan.ok) return;
    // Only files the container already has: a changed list of secrets changes the spec, so the container is recreated anyway.
    const changed: { f: Entry; bytes: Uint8Array; version: string }[] = [];
    for (const cur of m.files) {
      const f = plan.files.find((x) => x.target === cur.target && x.kind === cur.kind && x.name === cur.name);
      if (!f) continue;
      const want = f.source.kind === "stored" ? sourceVersion(f.source, this.d.catalog.meta(f.source.path), digest) : sourceVersion(f.source, undefined, digest);
      if (!want || want === cur.version) continue;
      if (!this.d.keys.key) return; // sealed: the files stay as they are
      const r = await this.resolve(project, m.service, f);
      changed.push({ f: { ...cur, source: f.source, version: r.version }, bytes: r.bytes, version: r.version });
    }
    if (changed.length === 0) return;
    const actions = changed.map((c) => rotateAction(c.f.inDirectory, m.rotate ?? undefined));
    for (const c of changed) {
      if (c.f.inDirectory) writeAtomic(c.f.file, c.bytes, c.f);
      else writeInPlace(c.f.file, c.bytes);
      c.bytes.fill(0);
      this.audit(container, m.project, m.service, c.f, c.version);
    }
    const files = m.files.map((f) => changed.find((c) => c.f.file === f.file)?.f ?? f);
    writeManifest(dir, { ...m, files });
    const what = changed.map((c) => `${c.f.kind} ${c.f.name} ${c.version}`).join(", ");
    const subject = { container, deployment: m.project, service: m.service };
    if (!running) {
      // A stopped container is not started for it (that would undo `fizz stop`): its next start reads the new files.
      this.d.emit("secret.rotated_in_place", `container ${container} is not running: it reads ${what} when it starts`, subject);
    } else if (actions.includes("restart")) {
      await this.d.engine.containers.restart(container);
      this.d.emit("secret.rotated_restart", `container ${container} restarted for ${what}`, subject);
    } else if (actions.includes("rewrite+signal")) {
      await this.d.engine.containers.kill(container, { signal: m.signal });
      this.d.emit("secret.rotated_signal", `container ${container} sent ${m.signal} for ${what}`, { ...subject, signal: m.signal });
    } else {
      this.d.emit("secret.rotated_in_place", `container ${container} sees ${what} in place (no restart)`, subject);
    }
  }
}

/** A file mounted alone keeps its inode: the new value goes into the same file. */
function writeInPlace(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, off);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}
