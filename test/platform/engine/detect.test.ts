import { describe, expect, test } from "bun:test";
import { candidateEndpoints, detectEndpoint, parseEngineAddress } from "../../../platform/engine/detect.ts";
import { encodeFilters } from "../../../platform/engine/filters.ts";
import { splitRef } from "../../../platform/engine/images.ts";
import { encodeQuery } from "../../../platform/engine/transport.ts";

const none = () => false;

describe("engine detection", () => {
  test("--engine docker and podman pick their sockets", () => {
    expect(candidateEndpoints({ engine: "docker", env: {} })[0]).toMatchObject({ transport: "unix", socketPath: "/var/run/docker.sock", expected: "docker", source: "flag" });
    const p = candidateEndpoints({ engine: "podman", env: { XDG_RUNTIME_DIR: "/run/user/1000" }, uid: 1000 });
    expect(p.map((e) => (e.transport === "unix" ? e.socketPath : e.address))).toEqual(["/run/user/1000/podman/podman.sock", "/run/podman/podman.sock"]);
    const root = candidateEndpoints({ engine: "podman", env: { XDG_RUNTIME_DIR: "/run/user/0" }, uid: 0 });
    expect(root[0]).toMatchObject({ socketPath: "/run/podman/podman.sock" });
  });

  test("--engine beats DOCKER_HOST; DOCKER_HOST beats auto-detection", () => {
    expect(candidateEndpoints({ engine: "docker", env: { DOCKER_HOST: "tcp://1.2.3.4:2375" } })[0]).toMatchObject({ source: "flag" });
    expect(detectEndpoint({ env: { DOCKER_HOST: "unix:///tmp/x.sock" }, exists: none })).toMatchObject({ socketPath: "/tmp/x.sock", source: "DOCKER_HOST" });
  });

  test("FIZZ_ENGINE sits between --engine and DOCKER_HOST", () => {
    const env = { FIZZ_ENGINE: "podman", DOCKER_HOST: "tcp://1.2.3.4:2375" };
    expect(candidateEndpoints({ env, uid: 0 })[0]).toMatchObject({ socketPath: "/run/podman/podman.sock", source: "FIZZ_ENGINE" });
    expect(candidateEndpoints({ engine: "docker", env })[0]).toMatchObject({ socketPath: "/var/run/docker.sock", source: "flag" });
    expect(() => candidateEndpoints({ env: { FIZZ_ENGINE: "nope" } })).toThrow(/FIZZ_ENGINE/);
  });

  test("tcp addresses default to port 2375", () => {
    expect(parseEngineAddress("tcp://10.1.2.3", "DOCKER_HOST")).toMatchObject({ transport: "tcp", origin: "http://10.1.2.3:2375" });
    expect(parseEngineAddress("tcp://[::1]:2376", "DOCKER_HOST")).toMatchObject({ origin: "http://[::1]:2376" });
  });

  test("auto-detection takes the first socket that exists, else names docker's", () => {
    const only = (p: string) => (x: string) => x === p;
    expect(detectEndpoint({ env: {}, uid: 0, exists: only("/run/podman/podman.sock") })).toMatchObject({ socketPath: "/run/podman/podman.sock", expected: "podman" });
    expect(detectEndpoint({ env: {}, uid: 0, exists: none })).toMatchObject({ socketPath: "/var/run/docker.sock" });
  });

  test("bad addresses and engine names are usage errors with a hint", () => {
    expect(() => candidateEndpoints({ engine: "dokcer", env: {} })).toThrow(/unknown engine 'dokcer'/);
    expect(() => parseEngineAddress("ssh://host", "DOCKER_HOST")).toThrow(/only unix:\/\/ and tcp:\/\//);
    expect(() => parseEngineAddress("unix://relative.sock", "flag")).toThrow(/absolute/);
  });
});

describe("request encoding", () => {
  test("label filters", () => {
    expect(encodeFilters({ labels: { "com.docker.compose.project": "demo", "io.fizz.managed": "" } })).toBe(
      JSON.stringify({ label: ["com.docker.compose.project=demo", "io.fizz.managed"] }),
    );
    expect(encodeFilters({})).toBeUndefined();
    expect(encodeFilters({ filters: { status: ["running"] }, labels: ["a=b"] })).toBe(JSON.stringify({ status: ["running"], label: ["a=b"] }));
  });
  test("query strings drop undefined and encode booleans as 1/0", () => {
    expect(encodeQuery({ all: true, force: false, name: "a b", t: undefined })).toBe("?all=1&force=0&name=a%20b");
  });
  test("image references split for pulls", () => {
    expect(splitRef("busybox")).toEqual({ repo: "busybox", tag: "latest" });
    expect(splitRef("localhost:5000/app:2")).toEqual({ repo: "localhost:5000/app", tag: "2" });
    expect(splitRef("localhost:5000/app")).toEqual({ repo: "localhost:5000/app", tag: "latest" });
    expect(splitRef("app@sha256:abc")).toEqual({ repo: "app", tag: "sha256:abc" });
  });
});
