/**
 * A deployment's images through the node's registry.
 *
 * `pin` runs once per deploy, on the node that receives it: every service's
 * image is resolved to a manifest digest and recorded in the service as
 * `x-fizz-image: {ref, repo, digest}`, so every node runs the same bytes and
 * a moved tag upstream changes nothing until the next deploy. Images the
 * engine has only locally (built by a `build:` service, imported, loaded)
 * are pushed into this node's registry first when the node is in a cluster,
 * so the other nodes can pull them from it. Nothing is asked of an upstream
 * for an image the engine already has, unless pull_policy says always.
 *
 * `ensure` runs before each plan on every node: for the services with
 * replicas here, the engine's image under the compose name must be the
 * pinned one; if not, the engine pulls it through the loopback registry
 * (which gets it from peers or the upstream) and tags it with the compose
 * name. The planner then sees the image present; when a tag now names
 * other bytes, it recreates the containers as for any changed image.
 */
import type { Project, Service } from "../../core/compose/model.ts";
import { serviceImage } from "../../core/deploy/desired.ts";
import {
  BUILD_NAMESPACE,
  isRepoName,
  manifestKind,
  mirrorRepo,
  parseImageRef,
  parseManifest,
  type Digest,
  type ImageRef,
  type RepoName,
} from "../../core/registry/index.ts";
import type { EngineImages } from "../../platform/registry/engine-images.ts";
import type { Registry } from "../../platform/registry/registry.ts";

export const PIN_KEY = "x-fizz-image";

export interface ImagePin {
  /** The image as the compose file names it (what the engine tags). */
  readonly ref: string;
  /** Repository in Fizz's registry. */
  readonly repo: string;
  readonly digest: string;
}

export function pinOf(s: Service): ImagePin | undefined {
  const p = s.extensions?.[PIN_KEY] as Partial<ImagePin> | undefined;
  return p && typeof p.ref === "string" && typeof p.repo === "string" && typeof p.digest === "string" && isRepoName(p.repo) ? (p as ImagePin) : undefined;
}

export interface ImagesDeps {
  readonly registry: Registry;
  readonly engine: EngineImages;
  /** `127.0.0.1:<port>`: where this node's engine reaches the registry. */
  readonly address: () => string;
  /** Addresses users may write for this registry in image names (listen address, 127.0.0.1:port, localhost:port). */
  readonly ownHosts: () => readonly string[];
  readonly clustered: () => boolean;
  /** Builds a `build:` service's image with the engine (tagged `image`). */
  readonly build: (project: Project, service: string, image: string) => Promise<void>;
  /** Publishes this node's holder rows now (before the deployment that names them spreads). */
  readonly announce: () => void;
  readonly log: (level: "info" | "warn", msg: string, data?: Record<string, unknown>) => void;
}

/** Where an image lives in Fizz's registry: its repository and tag or digest. */
export function registryLocation(ref: ImageRef, ownHosts: readonly string[]): { repo: RepoName; reference: string } | undefined {
  const reference = ref.digest ?? ref.tag ?? "latest";
  if (ownHosts.includes(ref.host)) return isRepoName(ref.path) ? { repo: ref.path as RepoName, reference } : undefined;
  const repo = mirrorRepo(ref);
  return repo ? { repo, reference } : undefined;
}

/** A repository for an image that exists only in an engine: `fizz/image/<path>` (a cache repository). */
function localImageRepo(ref: ImageRef): RepoName | undefined {
  const path = ref.host === "docker.io" && ref.path.startsWith("library/") ? ref.path.slice("library/".length) : `${ref.host.replace(/:(\d+)$/, "_$1").toLowerCase()}/${ref.path}`;
  const repo = `${BUILD_NAMESPACE}/image/${path}`;
  return isRepoName(repo) ? repo : undefined;
}

export class DeploymentImages {
  private readonly ensuring = new Map<string, Promise<boolean>>();
  /** A pin's config digest, once read: content-addressed, so it never changes (bounded). */
  private readonly configs = new Map<string, string>();

  constructor(private readonly d: ImagesDeps) {}

  // ---- pin ----

  async pin(project: Project, o: { pull?: string; build?: boolean } = {}): Promise<Project> {
    const services: Record<string, Service> = {};
    for (const [name, s] of Object.entries(project.services)) {
      let pin: ImagePin | undefined;
      try {
        pin = await this.pinService(project, s, o);
      } catch (e) {
        this.d.log("warn", `image of service ${name} not pinned: ${(e as Error).message}`, { service: name });
      }
      const { [PIN_KEY]: _old, ...ext } = s.extensions ?? {};
      services[name] = { ...s, extensions: pin ? { ...ext, [PIN_KEY]: pin } : ext };
    }
    return { ...project, services };
  }

  private async pinService(project: Project, s: Service, o: { pull?: string; build?: boolean }): Promise<ImagePin | undefined> {
    const image = serviceImage(project, s);
    const policy = o.pull ?? s.pull_policy ?? "missing";
    if (policy === "never") return undefined;
    const ref = parseImageRef(image);
    if (!ref) return undefined;
    if (s.build) {
      // One node builds; the others pull what it built. A single node just builds as before.
      if (!this.d.clustered()) return undefined;
      if (o.build || policy === "build" || policy === "always" || !(await this.d.engine.id(image))) await this.d.build(project, s.name, image);
      return this.pushLocal(image, `${BUILD_NAMESPACE}/${project.name}/${s.name}`.toLowerCase());
    }
    const localId = await this.d.engine.id(image);
    if (localId && policy !== "always") {
      const known = this.manifestWithConfig(localId);
      if (known) return { ref: image, ...known };
      if (!this.d.clustered()) return undefined;
      const repo = localImageRepo(ref);
      return repo ? this.pushLocal(image, repo) : undefined;
    }
    const loc = registryLocation(ref, this.d.ownHosts());
    if (!loc) return undefined;
    const digest = ref.digest ?? (await this.d.registry.resolve(loc.repo, { kind: "tag", tag: loc.reference as never }));
    return { ref: image, repo: loc.repo, digest };
  }

  /** A manifest in the registry whose config is this engine image id (the image was pushed or pulled before). */
  private manifestWithConfig(configDigest: string): { repo: string; digest: string } | undefined {
    const m = this.d.registry.meta.manifestsReferencing(configDigest as Digest).find((r) => manifestKind(r.mediaType) === "image");
    return m ? { repo: m.repo, digest: m.digest } : undefined;
  }

  /** Pushes an engine image into this node's registry as `<repo>:<id>`; its manifest digest is the pin. */
  private async pushLocal(image: string, repo: string): Promise<ImagePin | undefined> {
    if (!isRepoName(repo)) return undefined;
    const id = await this.d.engine.id(image);
    if (!id) return undefined;
    const known = this.manifestWithConfig(id);
    if (known && known.repo === repo) return { ref: image, ...known };
    const tag = `id-${id.slice("sha256:".length, "sha256:".length + 16)}`;
    const target = `${this.d.address()}/${repo}:${tag}`;
    await this.d.engine.tag(id, target);
    try {
      await this.d.engine.push(target);
    } finally {
      // The push name was only a vehicle; the image keeps the compose name.
      await this.d.engine.untag(target);
    }
    const t = this.d.registry.meta.tag(repo, tag);
    if (!t) throw new Error(`the engine pushed ${target} but the registry has no such tag`);
    this.d.announce();
    this.d.log("info", `pushed ${image} into the cluster registry as ${repo}@${t.digest}`, { image, repo, digest: t.digest });
    return { ref: image, repo, digest: t.digest };
  }

  // ---- ensure ----

  /** Makes the engine's images match the pins of these services (those with replicas on this node); true when it pulled one. */
  async ensure(project: Project, services: readonly string[]): Promise<boolean> {
    const errors: string[] = [];
    let pulled = false;
    for (const name of services) {
      const s = project.services[name];
      const pin = s && pinOf(s);
      if (!pin) continue;
      const key = `${pin.ref}@${pin.digest}`;
      let run = this.ensuring.get(key);
      if (!run) {
        run = this.ensureOne(pin).finally(() => this.ensuring.delete(key));
        this.ensuring.set(key, run);
      }
      try {
        if (await run) pulled = true;
      } catch (e) {
        errors.push(`${name}: ${(e as Error).message}`);
      }
    }
    if (errors.length) throw new Error(`images not ready: ${errors.join("; ")}`);
    return pulled;
  }

  /** True when it pulled (the engine's images changed); false when the engine had the pinned image. */
  private async ensureOne(pin: ImagePin): Promise<boolean> {
    const want = await this.configDigest(pin);
    const have = await this.d.engine.id(pin.ref);
    if (want && have === want) return false;
    const src = `${this.d.address()}/${pin.repo}@${pin.digest}`;
    await this.d.engine.pull(src);
    const id = await this.d.engine.id(src);
    if (!id) throw new Error(`the engine pulled ${src} but does not list it`);
    await this.d.engine.tag(id, pin.ref);
    // The registry name was the way in; the engine keeps the image under the compose name.
    await this.d.engine.untag(src);
    this.d.log("info", `pulled ${pin.ref} (${pin.digest.slice(0, 19)}) through the registry`, { image: pin.ref, digest: pin.digest });
    return true;
  }

  /** The config digest (= the engine's image id) the pin runs on this engine's platform. */
  private async configDigest(pin: ImagePin): Promise<string | undefined> {
    // Every pass of every deployment asks; the manifest a digest names is always the same.
    const key = `${pin.repo}@${pin.digest}`;
    const known = this.configs.get(key);
    if (known) return known;
    const found = await this.readConfigDigest(pin);
    if (found) {
      if (this.configs.size >= 256) this.configs.clear();
      this.configs.set(key, found);
    }
    return found;
  }

  private async readConfigDigest(pin: ImagePin): Promise<string | undefined> {
    try {
      const repo = pin.repo as RepoName;
      let m = await this.d.registry.getManifest(repo, { kind: "digest", digest: pin.digest as Digest });
      let parsed = parseManifest(m.bytes, m.mediaType);
      if (parsed.kind === "index") {
        const arch = await this.d.engine.architecture();
        const child = parsed.manifests.find((c) => c.platform?.os === "linux" && c.platform.architecture === arch) ?? parsed.manifests[0];
        if (!child) return undefined;
        m = await this.d.registry.getManifest(repo, { kind: "digest", digest: child.digest });
        parsed = parseManifest(m.bytes, m.mediaType);
      }
      return parsed.config?.digest;
    } catch {
      return undefined;
    }
  }
}
