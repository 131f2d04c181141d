/**
 * The agent's registry against real clients: docker push/pull, podman
 * push/pull, skopeo copy and inspect both ways with Debian's docker-registry,
 * a multi-arch index, a chunked upload; kill -9 of the agent mid-push and
 * mid-pull-through (every stored blob still matches its digest and the
 * retrying client succeeds); GC of an unreferenced image. One agent (Docker
 * engine) and one docker-registry on loopback for the whole file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineSocket } from "../support/engine.ts";
import { dockerRegistryBinary, freePort, removeDockerRegistry, startDockerRegistry, type DockerRegistry } from "../support/docker-registry.ts";
import { corruptBlobs, generateImage, pushGenerated, pushIndex, writeOciLayout, type GeneratedImage } from "../support/oci-image.ts";
import { startAgent, type AgentProcess } from "../platform/api/agent-process.ts";
import { ApiClient } from "../../platform/api/client.ts";

const docker = await engineSocket("docker");
const podman = await engineSocket("podman");
const bin = dockerRegistryBinary();
const FIXTURE = "fizz-test/busybox:1";

function run(cmd: string, args: string[], timeout = 120_000): string {
  return execFileSync(cmd, args, { encoding: "utf8", timeout, stdio: ["ignore", "pipe", "pipe"] });
}

function skopeo(...args: string[]): string {
  return run("skopeo", args);
}

async function waitFor(what: string, f: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!docker || !bin)("registry: real clients against the agent's registry", () => {
  let up: DockerRegistry;
  let agent: AgentProcess;
  let port: number;
  let reg: string;
  let dataDir: string;
  let sock: string;
  const work = mkdtempSync(join(tmpdir(), "fizz-reg-e2e-"));
  const images: string[] = [];

  const start = async () => {
    agent = await startAgent({
      dataDir,
      args: ["--api", `unix:${sock}`, "--engine", "docker", "--registry", `127.0.0.1:${port}`],
      env: { FIZZ_REGISTRY_INSECURE: up.address, FIZZ_CLUSTER_BIND: `127.0.0.1:${await freePort()}` },
    });
    await waitFor("the registry", async () => (await fetch(`http://${reg}/v2/`).catch(() => undefined))?.status === 200);
  };

  beforeAll(async () => {
    up = await startDockerRegistry({ bin: bin! });
    port = await freePort();
    reg = `127.0.0.1:${port}`;
    dataDir = mkdtempSync(join(tmpdir(), "fizz-reg-agent-"));
    sock = join(dataDir, "fizz.sock");
    await start();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    agent?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    await up?.stop();
    if (up) removeDockerRegistry(up);
    for (const i of images) {
      try {
        run("docker", ["rmi", "-f", i]);
      } catch {
        // already gone
      }
    }
    for (const i of images.filter((x) => x.includes("/pod/"))) {
      try {
        run("podman", ["rmi", "-f", i]);
      } catch {
        // already gone
      }
    }
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  test("docker push and docker pull", () => {
    const ref = `${reg}/e2e/busybox:1`;
    images.push(ref);
    run("docker", ["tag", FIXTURE, ref]);
    const pushed = run("docker", ["push", ref]);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)?.[1];
    expect(digest).toBeDefined();
    run("docker", ["rmi", ref]);
    const pulled = run("docker", ["pull", ref]);
    expect(pulled).toContain(digest!);
    expect(run("docker", ["run", "--rm", ref, "cat", "/etc/fizz-fixture"])).toContain("fixture version 1");
  });

  test.skipIf(!podman)("podman push and podman pull", () => {
    const ref = `${reg}/e2e/pod/busybox:2`;
    images.push(ref);
    run("podman", ["push", "--tls-verify=false", "fizz-test/busybox:2", ref]);
    try {
      run("podman", ["rmi", ref]);
    } catch {
      // podman push does not tag locally
    }
    run("podman", ["pull", "--tls-verify=false", ref]);
    expect(run("podman", ["run", "--rm", ref, "cat", "/etc/fizz-fixture"])).toContain("fixture version 2");
  });

  test("skopeo copy and inspect both ways with docker-registry", () => {
    // docker-registry → Fizz (push into a pushed repository)
    skopeo("copy", "--dest-tls-verify=false", `docker-daemon:${FIXTURE}`, `docker://${up.address}/src/busybox:1`);
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${up.address}/src/busybox:1`, `docker://${reg}/copied/busybox:1`);
    const a = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${reg}/copied/busybox:1`)) as { Digest: string; Layers: string[] };
    const b = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${up.address}/src/busybox:1`)) as { Digest: string; Layers: string[] };
    expect(a.Digest).toBe(b.Digest);
    expect(a.Layers).toEqual(b.Layers);
    // Fizz → docker-registry
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${reg}/copied/busybox:1`, `docker://${up.address}/back/busybox:1`);
    expect((JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${up.address}/back/busybox:1`)) as { Digest: string }).Digest).toBe(a.Digest);
    // and through the mirror namespace (pull-through): the upstream's bytes, byte for byte
    const ns = up.address.replace(":", "_");
    const raw = skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg}/${ns}/src/busybox:1`);
    expect(`sha256:${createHash("sha256").update(raw).digest("hex")}`).toBe(b.Digest);
  });

  test("a multi-arch index: pushed with skopeo --all, pulled through the mirror, served as an index", async () => {
    const amd = await generateImage({ layerSizes: [20_000], seed: "multi-amd64", random: false });
    const arm = await generateImage({ layerSizes: [20_000], seed: "multi-arm64", architecture: "arm64", random: false });
    await pushGenerated(up.url, "multi/app", "amd64", amd);
    await pushGenerated(up.url, "multi/app", "arm64", arm);
    const idx = await pushIndex(up.url, "multi/app", "1", [
      { img: amd, architecture: "amd64" },
      { img: arm, architecture: "arm64" },
    ]);
    skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${up.address}/multi/app:1`, `docker://${reg}/multi/app:1`);
    const raw = JSON.parse(skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg}/multi/app:1`)) as { mediaType: string; manifests: unknown[] };
    expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(raw.manifests).toHaveLength(2);
    const ns = up.address.replace(":", "_");
    const arm64 = JSON.parse(skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64", `docker://${reg}/${ns}/multi/app:1`)) as { Architecture: string; Digest: string };
    expect(arm64.Architecture).toBe("arm64");
    expect(arm64.Digest).toBe(idx);
  });

  test("a chunked upload (POST, PATCH with Content-Range, PUT), then read back by skopeo", async () => {
    const img = await generateImage({ layerSizes: [3_000_000], seed: "chunked" });
    const layer = img.layers[0]!;
    const call = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
        const r = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        });
        r.on("error", reject);
        r.end(body);
      });
    for (const blob of [img.config, layer]) {
      const s = await call("POST", "/v2/chunked/app/blobs/uploads/", { "content-length": "0" });
      expect(s.status).toBe(202);
      let loc = String(s.headers.location);
      const chunk = 1_000_000;
      for (let off = 0; off < blob.size; off += chunk) {
        const part = blob.bytes.subarray(off, Math.min(off + chunk, blob.size));
        const p = await call("PATCH", loc, { "content-type": "application/octet-stream", "content-range": `${off}-${off + part.byteLength - 1}`, "content-length": String(part.byteLength) }, part);
        expect(p.status).toBe(202);
        expect(p.headers.range).toBe(`0-${off + part.byteLength - 1}`);
        loc = String(p.headers.location);
      }
      const done = await call("PUT", `${loc}?digest=${blob.digest}`, { "content-length": "0" });
      expect(done.status).toBe(201);
    }
    const m = await call("PUT", "/v2/chunked/app/manifests/1", { "content-type": img.manifest.mediaType }, img.manifest.bytes);
    expect(m.status).toBe(201);
    const out = join(work, "chunked-out");
    skopeo("copy", "--src-tls-verify=false", `docker://${reg}/chunked/app:1`, `dir:${out}`);
    expect(createHash("sha256").update(readFileSync(join(out, layer.digest.slice(7)))).digest("hex")).toBe(layer.digest.slice(7));
  });

  test("kill -9 mid-push: after restart every blob matches its digest, and the retried push succeeds", async () => {
    const img = await generateImage({ layerSizes: [120_000_000], seed: "kill-push" });
    const layout = join(work, "layout-push");
    writeOciLayout(layout, [{ img, tag: "1" }]);
    const uploads = join(dataDir, "registry", "uploads");
    const child = spawn("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:1`, `docker://${reg}/killed/push:1`], { stdio: "ignore" });
    const childDone = new Promise((r) => child.once("exit", r));
    await waitFor("an upload in progress", () => existsSync(uploads) && readdirSync(uploads).some((f) => statSync(join(uploads, f)).size > 1_000_000), 60_000);
    expect(await agent.stop("SIGKILL")).toBe("SIGKILL");
    await childDone;
    const after = corruptBlobs(join(dataDir, "registry"));
    expect(after.bad).toEqual([]);
    expect(existsSync(join(dataDir, "registry", "blobs", "sha256", img.layers[0]!.digest.slice(7, 9), img.layers[0]!.digest.slice(7)))).toBe(false);
    await start();
    skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:1`, `docker://${reg}/killed/push:1`);
    const back = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${reg}/killed/push:1`)) as { Digest: string };
    expect(back.Digest).toBe(img.manifest.digest);
    expect(corruptBlobs(join(dataDir, "registry")).bad).toEqual([]);
  }, 180_000);

  test("kill -9 mid-pull-through: after restart every blob matches its digest, and the retried pull succeeds", async () => {
    const img = await generateImage({ layerSizes: [120_000_000], seed: "kill-pull" });
    await pushGenerated(up.url, "killed/pull", "1", img);
    const ns = up.address.replace(":", "_");
    const tmp = join(dataDir, "registry", "tmp");
    const out = join(work, "pull-out");
    const child = spawn("skopeo", ["copy", "--src-tls-verify=false", `docker://${reg}/${ns}/killed/pull:1`, `dir:${out}`], { stdio: "ignore" });
    const childDone = new Promise((r) => child.once("exit", r));
    await waitFor("a fetch in progress", () => existsSync(tmp) && readdirSync(tmp).some((f) => statSync(join(tmp, f)).size > 1_000_000), 60_000);
    expect(await agent.stop("SIGKILL")).toBe("SIGKILL");
    await childDone;
    expect(corruptBlobs(join(dataDir, "registry")).bad).toEqual([]);
    await start();
    rmSync(out, { recursive: true, force: true });
    skopeo("copy", "--src-tls-verify=false", `docker://${reg}/${ns}/killed/pull:1`, `dir:${out}`);
    const layer = img.layers[0]!;
    expect(statSync(join(out, layer.digest.slice(7))).size).toBe(layer.size);
    const store = corruptBlobs(join(dataDir, "registry"));
    expect(store.bad).toEqual([]);
    expect(store.checked).toBeGreaterThan(3);
  }, 180_000);

  test.skipIf(!podman)("an agent on Podman pulls a deployment's image through its registry (libpod, tlsVerify=false) and tags it with the compose name", async () => {
    const ref = `${up.address}/pod/app:2`;
    skopeo("copy", "--dest-tls-verify=false", "docker-daemon:fizz-test/busybox:2", `docker://${ref}`);
    const podDir = mkdtempSync(join(tmpdir(), "fizz-reg-podman-"));
    const podSock = join(podDir, "fizz.sock");
    const podPort = await freePort();
    const pa = await startAgent({
      dataDir: podDir,
      args: ["--api", `unix:${podSock}`, "--engine", "podman", "--registry", `127.0.0.1:${podPort}`],
      env: { FIZZ_REGISTRY_INSECURE: up.address, FIZZ_CLUSTER_BIND: `127.0.0.1:${await freePort()}` },
    });
    const dir = join(work, "podapp");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "compose.yaml"), `services:\n  web:\n    image: ${ref}\n    command: ["sleep", "3600"]\n`);
    const fizzP = (...args: string[]) => run(process.execPath, [join(import.meta.dir, "../../cmd/fizz.ts"), "-H", `unix:${podSock}`, ...args], 120_000);
    try {
      await waitFor("the podman agent's registry", async () => (await fetch(`http://127.0.0.1:${podPort}/v2/`).catch(() => undefined))?.status === 200);
      try {
        run("podman", ["rmi", "-f", ref]);
      } catch {
        // not there
      }
      fizzP("--project-directory", dir, "-f", join(dir, "compose.yaml"), "up", "-d", "--wait");
      const ps = run("podman", ["ps", "--filter", "label=com.docker.compose.project=podapp", "--filter", "status=running", "--format", "{{.Image}}"]);
      expect(ps.trim()).toBe(ref);
      // It came through the registry: the mirror repository holds the image now.
      const ls = JSON.parse(fizzP("registry", "ls", "--format", "json")) as { repositories: { name: string }[] };
      expect(ls.repositories.map((r) => r.name)).toContain(`${up.address.replace(":", "_")}/pod/app`);
    } finally {
      try {
        fizzP("down", "-p", "podapp");
      } catch {
        // already down
      }
      await pa.stop();
      pa.cleanup();
      rmSync(podDir, { recursive: true, force: true });
      try {
        run("podman", ["rmi", "-f", ref]);
      } catch {
        // removed
      }
    }
  }, 120_000);

  test("GC removes an unreferenced image's blobs and keeps a deployed image's", async () => {
    const client = new ApiClient({ address: { kind: "unix", path: sock } });
    const unused = await generateImage({ layerSizes: [50_000], seed: "gc-unused" });
    await pushGenerated(up.url, "gc/unused", "1", unused);
    const ns = up.address.replace(":", "_");
    skopeo("copy", "--src-tls-verify=false", `docker://${reg}/${ns}/gc/unused:1`, `dir:${join(work, "gc-unused")}`);
    // A deployment whose image comes through the mirror: its blobs must survive.
    skopeo("copy", "--dest-tls-verify=false", "docker-daemon:fizz-test/busybox:2", `docker://${up.address}/gc/used:2`);
    const project = {
      name: "regc",
      services: { web: { image: `${up.address}/gc/used:2`, command: ["sleep", "3600"] } },
    };
    const dir = join(work, "regc");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "compose.yaml"), `services:\n  web:\n    image: ${project.services.web.image}\n    command: ["sleep", "3600"]\n`);
    images.push(project.services.web.image);
    const fizz = (...args: string[]) => run(process.execPath, [join(import.meta.dir, "../../cmd/fizz.ts"), "-H", `unix:${sock}`, ...args], 120_000);
    try {
      run(process.execPath, [join(import.meta.dir, "../../cmd/fizz.ts"), "-H", `unix:${sock}`, "--project-directory", dir, "-f", join(dir, "compose.yaml"), "up", "-d", "--wait"], 120_000);
      // --dry-run reports and removes nothing
      const dry = fizz("registry", "gc", "--dry-run", "--grace", "0");
      expect(dry).toContain(`would remove blob ${unused.layers[0]!.digest}`);
      expect((JSON.parse(fizz("registry", "ls", "--format", "json")) as { repositories: { name: string }[] }).repositories.map((r) => r.name)).toContain(`${ns}/gc/unused`);
      const report = await client.json<{ items: { kind: string; what: string }[]; removed: { blobs: number } }>("POST", "/v1/registry/gc", { graceMs: 0 });
      const removed = new Set(report.items.filter((i) => i.kind === "blob").map((i) => i.what));
      for (const b of [unused.config, ...unused.layers]) expect(removed.has(b.digest)).toBe(true);
      expect(removed.has(unused.manifest.digest)).toBe(true);
      const used = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${up.address}/gc/used:2`)) as { Digest: string; Layers: string[] };
      for (const l of used.Layers) expect(removed.has(l)).toBe(false);
      expect(removed.has(used.Digest)).toBe(false);
      // On disk, not only in the report: the unused blobs are gone, every blob of the deployed image is there.
      const onDisk = (d: string) => existsSync(join(dataDir, "registry", "blobs", "sha256", d.slice(7, 9), d.slice(7)));
      for (const b of [unused.config, ...unused.layers]) expect(`${b.digest} ${onDisk(b.digest)}`).toBe(`${b.digest} false`);
      for (const l of used.Layers) expect(`${l} ${onDisk(l)}`).toBe(`${l} true`);
      const ls = JSON.parse(fizz("registry", "ls", "--format", "json")) as { repositories: { name: string }[] };
      expect(ls.repositories.map((r) => r.name)).toContain(`${ns}/gc/used`);
      expect(ls.repositories.map((r) => r.name)).not.toContain(`${ns}/gc/unused`);
    } finally {
      run(process.execPath, [join(import.meta.dir, "../../cmd/fizz.ts"), "-H", `unix:${sock}`, "down", "-p", "regc"], 60_000);
    }
  }, 180_000);
});
