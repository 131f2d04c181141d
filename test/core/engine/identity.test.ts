import { describe, expect, test } from "bun:test";
import { engineInstanceId, parseEngineIdentity } from "../../../core/engine/identity.ts";

describe("engine identity", () => {
  test("Docker is its persistent engine ID, whatever the host name", () => {
    const a = engineInstanceId("docker", { ID: "RHTF:QXZU", Name: "vm", DockerRootDir: "/var/lib/docker" });
    expect(a).toBe(engineInstanceId("docker", { ID: "RHTF:QXZU", Name: "renamed", DockerRootDir: "/var/lib/docker" }));
    expect(a).not.toBe(engineInstanceId("docker", { ID: "OTHER", Name: "vm", DockerRootDir: "/var/lib/docker" }));
    // Daemons on one machine share the ID (from /etc/docker/key.json); their data roots tell them apart.
    expect(a).not.toBe(engineInstanceId("docker", { ID: "RHTF:QXZU", Name: "vm", DockerRootDir: "/tmp/h1/docker" }));
  });

  test("Podman ignores its per-call random ID and uses host and storage root", () => {
    const a = engineInstanceId("podman", { ID: "14824ea9-ceee", Name: "vm", DockerRootDir: "/var/lib/containers/storage" });
    expect(a).toBe(engineInstanceId("podman", { ID: "c828987f-5562", Name: "vm", DockerRootDir: "/var/lib/containers/storage" }));
    // Rootless Podman on the same host is another engine.
    expect(a).not.toBe(engineInstanceId("podman", { Name: "vm", DockerRootDir: "/home/u/.local/share/containers/storage" }));
  });

  test("Docker and Podman never compare equal", () => {
    expect(engineInstanceId("docker", { Name: "vm", DockerRootDir: "/x" })).not.toBe(engineInstanceId("podman", { Name: "vm", DockerRootDir: "/x" }));
  });

  test("parses what an agent reports, rejects anything else", () => {
    const ok = { name: "podman", id: "podman:vm:/s", address: "unix:///run/podman/podman.sock" } as const;
    expect(parseEngineIdentity(ok)).toEqual(ok);
    for (const bad of [undefined, null, "docker", { ...ok, name: "containerd" }, { ...ok, id: "" }, { ...ok, address: 1 }]) expect(parseEngineIdentity(bad)).toBeUndefined();
  });
});
