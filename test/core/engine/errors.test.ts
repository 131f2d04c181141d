import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { allocatedPort, conflictingName, engineConnectError, engineHttpError, ENGINE_ERROR_CODES } from "../../../core/engine/errors.ts";
import { FizzError } from "../../../core/errors.ts";

// Messages as Docker 20.10 and Podman 4.3 send them (recorded from the real engines).
const DOCKER = {
  nameConflict:
    'Conflict. The container name "/web-1" is already in use by container "1572fa546db96dbebdd8e845af83cf02873539db1cc3c8541ff7177c5f485c5a". You have to remove (or rename) that container to be able to reuse that name.',
  port: "driver failed programming external connectivity on endpoint web-2 (e4cde231): Bind for 0.0.0.0:18931 failed: port is already allocated",
  noImage: "No such image: fizz-test/nope:1",
  pullDown: 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
};
const PODMAN = {
  nameConflict:
    'container create: creating container storage: the container name "web-1" is already in use by 49f590f58bd88bac64cd0405acc6a9490282be4fdbf692c34dcbcf20d6c7774c. You have to remove that container to be able to reuse that name: that name is already in use',
  port: "cannot listen on the TCP port: listen tcp4 :18931: bind: address already in use",
  noImage: "no such image: docker.io/fizz-test/nope:1: image not known",
};

const create = { method: "POST", path: "/v1.41/containers/create", action: "create container", image: "fizz-test/nope:1" } as const;
const start = { method: "POST", path: "/v1.41/containers/web-2/start", action: "start container", subject: { kind: "container", name: "web-2" } } as const;

describe("engine error mapping", () => {
  test("missing socket names the socket and says how to start an engine", () => {
    const e = engineConnectError("ENOENT", { address: "unix:///var/run/docker.sock", socketPath: "/var/run/docker.sock", engine: "docker" });
    expect(e.code).toBe("engine.unreachable");
    expect(e.message).toBe("no container engine at /var/run/docker.sock");
    expect(e.hint).toContain("dockerd");
    expect(e.hint).toContain("apt-get install docker.io");
  });

  test("permission denied hints at the docker group", () => {
    const e = engineConnectError("EACCES", { address: "unix:///var/run/docker.sock", socketPath: "/var/run/docker.sock", engine: "docker" });
    expect(e.code).toBe("engine.permission_denied");
    expect(e.hint).toContain("docker group");
  });

  test("connect timeout is a timeout, not 'unreachable'", () => {
    expect(engineConnectError("UND_ERR_CONNECT_TIMEOUT", { address: "tcp://10.0.0.1:2375" }).code).toBe("engine.timeout");
  });

  for (const [engine, msg, status] of [
    ["docker", DOCKER.nameConflict, 409],
    ["podman", PODMAN.nameConflict, 500],
  ] as const) {
    test(`${engine} name conflict says which container holds the name`, () => {
      const e = engineHttpError(status, msg, { method: "POST", path: "/containers/create", action: "create container" });
      expect(e.code).toBe("engine.name_conflict");
      expect(e.message).toMatch(/^container name 'web-1' is already in use by container [0-9a-f]{12}$/);
      expect(e.hint).toContain("docker rm -f web-1");
    });
  }

  for (const [engine, msg] of [
    ["docker", DOCKER.port],
    ["podman", PODMAN.port],
  ] as const) {
    test(`${engine} port conflict says which port`, () => {
      const e = engineHttpError(500, msg, start);
      expect(e.code).toBe("engine.port_allocated");
      expect(e.message).toContain("host port 18931 is already allocated");
      expect(e.hint).toContain("18931");
    });
  }

  for (const [engine, msg] of [
    ["docker", DOCKER.noImage],
    ["podman", PODMAN.noImage],
  ] as const) {
    test(`${engine} missing image → image_not_found with a pull/build hint`, () => {
      const e = engineHttpError(404, msg, create);
      expect(e.code).toBe("engine.image_not_found");
      expect(e.message).toContain("image 'fizz-test/nope:1' not found");
      expect(e.hint).toContain("docker pull fizz-test/nope:1");
      const never = engineHttpError(404, msg, { ...create, pull: "never" });
      expect(never.hint).toContain("--pull never");
    });
  }

  test("a 404 for a container is not mistaken for a missing image", () => {
    const e = engineHttpError(404, "No such container: web-9", { method: "GET", path: "/containers/web-9/json", subject: { kind: "container", name: "web-9" } });
    expect(e.code).toBe("engine.not_found");
    expect(e.message).toContain("container 'web-9' not found");
  });

  test("podman's 500 for a container removed while it is inspected is a not-found, like Docker's 404", () => {
    // Recorded from Podman 4.3: a recreate removed the old container between the list and this inspect.
    const id = "905c81cbe96a6635ba11e6aadc24c3f9583704f6a426312d740041d2193e3ce4";
    const e = engineHttpError(500, `container ${id} does not exist in database: no such container`, { method: "GET", path: `/containers/${id}/json`, action: "inspect container", subject: { kind: "container", name: id } });
    expect(e.code).toBe("engine.not_found");
    // Any other 500 stays an API error.
    expect(engineHttpError(500, "container state improper", { method: "GET", path: `/containers/${id}/json`, action: "inspect container" }).code).toBe("engine.api_error");
  });

  test("a pull that cannot reach the registry says so", () => {
    const e = engineHttpError(500, DOCKER.pullDown, { method: "POST", path: "/images/create", action: "pull image", subject: { kind: "image", name: "nginx:1" } });
    expect(e.code).toBe("engine.registry_unreachable");
    expect(e.message).toContain("nginx:1");
  });

  test("anything else keeps the engine's own message", () => {
    const e = engineHttpError(500, "something odd happened in the runtime", start);
    expect(e.code).toBe("engine.api_error");
    expect(e.message).toBe("the engine failed to start container web-2: something odd happened in the runtime");
  });

  test("parsers pull out ports and names", () => {
    expect(allocatedPort(DOCKER.port)).toEqual({ host: "0.0.0.0", port: 18931 });
    expect(allocatedPort("listen tcp4 127.0.0.1:8080: bind: address already in use")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(conflictingName(DOCKER.nameConflict)?.name).toBe("web-1");
    expect(allocatedPort("nothing here")).toBeUndefined();
  });

  test("property: any status and message map to a FizzError with a known code that keeps the message", () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), fc.string({ minLength: 1 }), (status, msg) => {
        const e = engineHttpError(status, msg, start);
        expect(e).toBeInstanceOf(FizzError);
        expect(ENGINE_ERROR_CODES).toContain(e.code as (typeof ENGINE_ERROR_CODES)[number]);
        if (e.code === "engine.api_error" || e.code === "engine.conflict" || e.code === "engine.bad_request" || e.code === "engine.not_found") {
          expect(e.message).toContain(msg.trim() || `HTTP ${status}`);
        }
      }),
    );
  });
});
