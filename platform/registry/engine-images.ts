/**
 * The engine side of the registry: pulls through the node's own registry
 * and tags the result with the name the compose file uses, and pushes
 * images the engine built into it. Docker trusts 127.0.0.0/8 registries over
 * plain HTTP by default; Podman does not, so its pulls and pushes go
 * through libpod's endpoints with tlsVerify=false, scoped to the loopback
 * registry (no registries.conf edit).
 */
import { jsonValues } from "../engine/streams.ts";
import type { Engine, ProgressEvent } from "../engine/index.ts";
import { FizzError } from "../../core/errors.ts";

export interface Progress {
  (line: string): void;
}

function line(ev: ProgressEvent): string {
  const e = ev as ProgressEvent & { stream?: string; status?: string; id?: string; progress?: string };
  return (e.stream ?? [e.id, e.status, e.progress].filter(Boolean).join(" ")).trim();
}

function repoTag(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf("@");
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const colon = base.lastIndexOf(":");
  return colon > base.lastIndexOf("/") ? { repo: base.slice(0, colon), tag: base.slice(colon + 1) } : { repo: base, tag: "latest" };
}

/** libpod streams `{"stream": …}` / `{"error": …}` lines; an error inside a 200 is a failure. */
async function drainLibpod(body: AsyncIterable<Uint8Array>, what: string, progress?: Progress): Promise<{ id?: string }> {
  let id: string | undefined;
  for await (const ev of jsonValues<{ stream?: string; error?: string; id?: string; images?: string[] }>(body as never)) {
    if (ev.error) throw new FizzError({ code: "registry.engine_pull", message: `${what}: ${ev.error.trim()}`, status: 502 });
    if (ev.stream) progress?.(ev.stream.trim());
    if (ev.id) id = ev.id;
  }
  return id ? { id } : {};
}

export class EngineImages {
  constructor(private readonly engine: Engine) {}

  get kind(): "docker" | "podman" {
    return this.engine.name;
  }

  /** Pulls `ref` (an image in this node's loopback registry). */
  async pull(ref: string, progress?: Progress): Promise<void> {
    if (this.engine.name === "podman") {
      const r = await this.engine.transport.stream({
        method: "POST",
        path: "/v4.0.0/libpod/images/pull",
        unversioned: true,
        query: { reference: ref, tlsVerify: false, quiet: false },
        headersTimeoutMs: 0,
        bodyTimeoutMs: 0,
        ctx: { action: "pull image", subject: { kind: "image", name: ref } },
      });
      await drainLibpod(r.body as AsyncIterable<Uint8Array>, `pulling ${ref}`, progress);
      return;
    }
    for await (const ev of this.engine.images.pull(ref)) progress?.(line(ev));
  }

  /** Tags `src` as `target` (`name:tag`). */
  async tag(src: string, target: string): Promise<void> {
    const { repo, tag } = repoTag(target);
    await this.engine.images.tag(src, repo, tag);
  }

  /** Removes one name of an image (the image stays while it has others). */
  async untag(ref: string): Promise<void> {
    await this.engine.images.remove(ref, { noPrune: true }).catch(() => {});
  }

  /** The engine's image id for a reference, undefined when absent. */
  async id(ref: string): Promise<string | undefined> {
    try {
      const i = await this.engine.images.inspect(ref);
      return i.Id.startsWith("sha256:") ? i.Id : `sha256:${i.Id}`;
    } catch {
      return undefined;
    }
  }

  /** The engine's CPU architecture as OCI names it (amd64, arm64…). */
  async architecture(): Promise<string> {
    const info = (await this.engine.info()) as { Architecture?: string; host?: { arch?: string } };
    const a = info.Architecture ?? info.host?.arch ?? "amd64";
    return ({ x86_64: "amd64", aarch64: "arm64", armv7l: "arm", i386: "386", i686: "386" } as Record<string, string>)[a] ?? a;
  }

  /** Pushes `ref` (already tagged for this node's loopback registry). */
  async push(ref: string, progress?: Progress): Promise<void> {
    if (this.engine.name === "podman") {
      const r = await this.engine.transport.stream({
        method: "POST",
        path: `/v4.0.0/libpod/images/${ref.split("/").map(encodeURIComponent).join("/")}/push`,
        unversioned: true,
        query: { destination: ref, tlsVerify: false, quiet: false },
        headersTimeoutMs: 0,
        bodyTimeoutMs: 0,
        ctx: { action: "push image", subject: { kind: "image", name: ref } },
      });
      await drainLibpod(r.body as AsyncIterable<Uint8Array>, `pushing ${ref}`, progress);
      return;
    }
    const { repo, tag } = repoTag(ref);
    const r = await this.engine.transport.stream({
      method: "POST",
      path: `/images/${repo.split("/").map(encodeURIComponent).join("/")}/push`,
      query: { tag },
      // The loopback registry needs no credentials, but the engine requires the header.
      headers: { "X-Registry-Auth": Buffer.from("{}").toString("base64") },
      headersTimeoutMs: 0,
      bodyTimeoutMs: 0,
      ctx: { action: "push image", subject: { kind: "image", name: ref } },
    });
    for await (const ev of jsonValues<ProgressEvent>(r.body)) {
      const e = ev as ProgressEvent & { error?: string; errorDetail?: { message?: string } };
      if (e.error || e.errorDetail) throw new FizzError({ code: "registry.engine_push", message: `pushing ${ref}: ${e.errorDetail?.message ?? e.error}`, status: 502 });
      progress?.(line(ev));
    }
  }
}
